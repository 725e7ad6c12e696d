import Foundation
import Logging

/// What every service executable does before it starts: refuse `KEEL_*` values that do not parse
/// (never a silent default) and send its logs, one line per event, to standard error.
public enum ServiceEnvironment {
    /// The first numeric or enumerated `KEEL_*` variable whose value does not parse, as a message.
    public static func invalidVariable(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let checks: [(String, (String) -> Bool)] = [
            ("KEEL_PORT", { Int($0) != nil }), ("KEEL_METRICS_PORT", { Int($0) != nil }),
            ("KEEL_MAX_FRAME_BYTES", { UInt32($0) != nil }), ("KEEL_LOG_LEVEL", { Logger.Level(rawValue: $0) != nil }),
        ]
        for (name, valid) in checks {
            if let text = environment[name], !valid(text) { return "\(name)=\(text) is not valid" }
        }
        return nil
    }

    public static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

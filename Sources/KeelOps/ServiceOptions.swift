import ArgumentParser
import Foundation
import Logging

/// The options every Keel service takes (docs/operations.md#service-flags), each falling back to
/// its `KEEL_*` environment variable: the executables share them with `@OptionGroup` and add their own.
public struct ServiceOptions: ParsableArguments {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    @Option(help: "Listen address (env KEEL_HOST).")
    public var host: String = Self.environment["KEEL_HOST"] ?? "127.0.0.1"

    @Option(name: .customLong("data-dir"), help: "Directory of the service's SQLite store (env KEEL_DATA_DIR).")
    public var dataDirectory: String = Self.environment["KEEL_DATA_DIR"] ?? "./data"

    @Option(help: "Bearer token every call but Health must carry; none = no auth (env KEEL_TOKEN).")
    var token: String?

    @Option(name: .customLong("metrics-port"), help: "HTTP port of GET /metrics (Prometheus) and GET /healthz; 0 = a free port; unset = off (env KEEL_METRICS_PORT).")
    var metricsPort: Int?

    @Option(name: .customLong("max-frame-bytes"), help: "Largest KWP/1 frame accepted (env KEEL_MAX_FRAME_BYTES).")
    public var maxFrameBytes: UInt32 = UInt32(Self.environment["KEEL_MAX_FRAME_BYTES"] ?? "") ?? 64 * 1024 * 1024

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env KEEL_LOG_LEVEL).")
    var logLevel: String = Self.environment["KEEL_LOG_LEVEL"] ?? "info"

    public init() {}

    /// Flags win over the environment.
    public var effectiveToken: String? { token ?? Self.environment["KEEL_TOKEN"] }
    public var effectiveMetricsPort: Int? { metricsPort ?? Self.environment["KEEL_METRICS_PORT"].flatMap { Int($0) } }

    public func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
        if let token = effectiveToken, token.isEmpty { throw ValidationError("--token must not be empty (omit it for no auth)") }
        if let port = effectiveMetricsPort, !(0...65535).contains(port) { throw ValidationError("--metrics-port must be 0–65535, got \(port)") }
        // An environment value that does not parse is an error, never a silent default.
        if let problem = ServiceEnvironment.invalidVariable() { throw ValidationError(problem) }
    }

    /// Logs to standard error at the chosen level, one line per event.
    public func bootstrapLogging() {
        ServiceEnvironment.bootstrapLogging(level: Logger.Level(rawValue: logLevel) ?? .info)
    }

    /// The executable's `--config` file (else the environment variable `variable`) parsed by `parse`;
    /// nil when neither names one. A file that cannot be read or parsed stops the start, naming it.
    public static func config<Config>(_ path: String?, orEnvironment variable: String, parse: (Data) throws -> Config) throws -> Config? {
        guard let path = path ?? environment[variable] else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("--config \(path): cannot read the file") }
        do {
            return try parse(data)
        } catch {
            throw ValidationError("--config \(path): \(error)")
        }
    }

    /// `--port` (each service has its own default), checked.
    public static func checkPort(_ port: Int) throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535, got \(port)") }
    }
}

/// Where keel-planner is and the token presented to it: the options of a service that calls it.
public struct PlannerPeerOptions: ParsableArguments {
    @Option(help: "keel-planner address, host:port (env KEEL_PLANNER_ADDR).")
    public var planner: String = ServiceOptions.environment["KEEL_PLANNER_ADDR"] ?? "127.0.0.1:7401"

    @Option(name: .customLong("planner-token"), help: "Token presented to keel-planner; defaults to --token (env KEEL_PLANNER_TOKEN).")
    var plannerToken: String?

    public init() {}

    /// nil: the service presents its own token.
    public var effectivePlannerToken: String? { plannerToken ?? ServiceOptions.environment["KEEL_PLANNER_TOKEN"] }
}

/// Where keel-gateway is and the token presented to it: the options of a service that calls it.
public struct GatewayPeerOptions: ParsableArguments {
    @Option(help: "keel-gateway address, host:port (env KEEL_GATEWAY_ADDR).")
    public var gateway: String = ServiceOptions.environment["KEEL_GATEWAY_ADDR"] ?? "127.0.0.1:7402"

    @Option(name: .customLong("gateway-token"), help: "Token presented to keel-gateway; defaults to --token (env KEEL_GATEWAY_TOKEN).")
    var gatewayToken: String?

    public init() {}

    /// nil: the service presents its own token.
    public var effectiveGatewayToken: String? { gatewayToken ?? ServiceOptions.environment["KEEL_GATEWAY_TOKEN"] }
}

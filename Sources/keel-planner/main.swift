import ArgumentParser
import Foundation
import KeelWire
import Logging
import KeelOps
import PlannerService

@main
struct KeelPlanner: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel-planner",
        abstract: "Keel's planner: rebalancing plans over KWP/1 (Plan, GetPlan, Watch).",
        discussion: "Every option falls back to its KEEL_* environment variable, then to the default shown.")

    @Option(help: "Listen address (env KEEL_HOST).")
    var host: String = ProcessInfo.processInfo.environment["KEEL_HOST"] ?? "127.0.0.1"

    @Option(help: "Listen port; 0 picks a free port and logs it (env KEEL_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["KEEL_PORT"] ?? "") ?? 7401

    @Option(name: .customLong("data-dir"), help: "Directory of the planner's SQLite store (env KEEL_DATA_DIR).")
    var dataDirectory: String = ProcessInfo.processInfo.environment["KEEL_DATA_DIR"] ?? "./data"

    @Option(help: "Bearer token every call but Health must carry; none = no auth (env KEEL_TOKEN).")
    var token: String?

    @Option(name: .customLong("metrics-port"), help: "HTTP port of GET /metrics (Prometheus) and GET /healthz; 0 = a free port; unset = off (env KEEL_METRICS_PORT).")
    var metricsPort: Int?

    @Option(name: .customLong("max-frame-bytes"), help: "Largest KWP/1 frame accepted (env KEEL_MAX_FRAME_BYTES).")
    var maxFrameBytes: UInt32 = UInt32(ProcessInfo.processInfo.environment["KEEL_MAX_FRAME_BYTES"] ?? "") ?? 64 * 1024 * 1024

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env KEEL_LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["KEEL_LOG_LEVEL"] ?? "info"

    /// Flags win over the environment.
    var effectiveToken: String? { token ?? ProcessInfo.processInfo.environment["KEEL_TOKEN"] }
    var effectiveMetricsPort: Int? { metricsPort ?? ProcessInfo.processInfo.environment["KEEL_METRICS_PORT"].flatMap { Int($0) } }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535, got \(port)") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
        if let token = effectiveToken, token.isEmpty { throw ValidationError("--token must not be empty (omit it for no auth)") }
        if let port = effectiveMetricsPort, !(0...65535).contains(port) { throw ValidationError("--metrics-port must be 0–65535, got \(port)") }
        // An environment value that does not parse is an error, never a silent default.
        if let problem = ServiceEnvironment.invalidVariable() { throw ValidationError(problem) }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel)!
        ServiceEnvironment.bootstrapLogging(level: level)
        let server = try await PlannerServer.start(.init(
            host: host, port: port, dataDirectory: dataDirectory, token: effectiveToken, maxFrameBytes: maxFrameBytes, metricsPort: effectiveMetricsPort))
        try await server.runUntilTerminated()
    }
}

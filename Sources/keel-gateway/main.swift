import ArgumentParser
import Execution
import Foundation
import GatewayService
import KeelOps
import Logging

@main
struct KeelGateway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel-gateway",
        abstract: "Keel's execution gateway over KWP/1: Plan (proxied), Execute (preview or submit), positions, balance, orders, logs, Watch.",
        discussion: """
            Every option falls back to its KEEL_* environment variable, then to the default shown. \
            Orders go to the embedded paper broker (configured under paper_broker in --config). \
            Not in this build yet: paced schedules (PreviewSchedule, StartSchedule, …). \
            An example config is config/gateway.example.json.
            """)

    @Option(help: "Listen address (env KEEL_HOST).")
    var host: String = ProcessInfo.processInfo.environment["KEEL_HOST"] ?? "127.0.0.1"

    @Option(help: "Listen port; 0 picks a free port and logs it (env KEEL_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["KEEL_PORT"] ?? "") ?? 7402

    @Option(name: .customLong("data-dir"), help: "Directory of the gateway's SQLite store (env KEEL_DATA_DIR).")
    var dataDirectory: String = ProcessInfo.processInfo.environment["KEEL_DATA_DIR"] ?? "./data"

    @Option(help: "Bearer token every call but Health must carry; none = no auth (env KEEL_TOKEN).")
    var token: String?

    @Option(help: "keel-planner address, host:port (env KEEL_PLANNER_ADDR).")
    var planner: String = ProcessInfo.processInfo.environment["KEEL_PLANNER_ADDR"] ?? "127.0.0.1:7401"

    @Option(name: .customLong("planner-token"), help: "Token presented to keel-planner; defaults to --token (env KEEL_PLANNER_TOKEN).")
    var plannerToken: String?

    @Option(help: "Gateway config JSON: venue policies, shared-account policy, live guard, worlds, paper broker (env KEEL_GATEWAY_CONFIG).")
    var config: String?

    @Option(name: .customLong("metrics-port"), help: "HTTP port of GET /metrics and GET /healthz; 0 = a free port; unset = off (env KEEL_METRICS_PORT).")
    var metricsPort: Int?

    @Option(name: .customLong("max-frame-bytes"), help: "Largest KWP/1 frame accepted (env KEEL_MAX_FRAME_BYTES).")
    var maxFrameBytes: UInt32 = UInt32(ProcessInfo.processInfo.environment["KEEL_MAX_FRAME_BYTES"] ?? "") ?? 64 * 1024 * 1024

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env KEEL_LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["KEEL_LOG_LEVEL"] ?? "info"

    var environment: [String: String] { ProcessInfo.processInfo.environment }
    var effectiveToken: String? { token ?? environment["KEEL_TOKEN"] }
    var effectivePlannerToken: String? { plannerToken ?? environment["KEEL_PLANNER_TOKEN"] }
    var effectiveConfig: String? { config ?? environment["KEEL_GATEWAY_CONFIG"] }
    var effectiveMetricsPort: Int? { metricsPort ?? environment["KEEL_METRICS_PORT"].flatMap { Int($0) } }

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
        var gatewayConfig = GatewayConfig()
        if let path = effectiveConfig {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("--config \(path): cannot read the file")
            }
            do {
                gatewayConfig = try GatewayConfig.parse(json: data)
            } catch {
                throw ValidationError("--config \(path): \(error)")
            }
        }
        let server = try await GatewayServer.start(.init(
            host: host, port: port, dataDirectory: dataDirectory, token: effectiveToken, planner: planner,
            plannerToken: effectivePlannerToken, config: gatewayConfig, maxFrameBytes: maxFrameBytes, metricsPort: effectiveMetricsPort))
        try await server.runUntilTerminated()
    }
}

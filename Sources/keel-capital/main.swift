import ArgumentParser
import CapitalAllocation
import CapitalService
import Foundation
import KeelOps
import Logging

@main
struct KeelCapital: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel-capital",
        abstract: "Keel's capital service over KWP/1: accounts, strategy capital by weight, order sizing, PnL compounding, scheduled reallocation.",
        discussion: """
            Every option falls back to its KEEL_* environment variable, then to the default shown. \
            The live balance and the open positions come from keel-gateway (--gateway); converge plans \
            with keel-planner (--planner). The capital settings and the schedule (default: 01:17, 04:52, \
            08:37, 12:22, 16:07, 19:52, 23:37 Asia/Seoul) are in --config; an example is \
            config/capital.example.json.
            """)

    @Option(help: "Listen address (env KEEL_HOST).")
    var host: String = ProcessInfo.processInfo.environment["KEEL_HOST"] ?? "127.0.0.1"

    @Option(help: "Listen port; 0 picks a free port and logs it (env KEEL_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["KEEL_PORT"] ?? "") ?? 7403

    @Option(name: .customLong("data-dir"), help: "Directory of the capital service's SQLite store (env KEEL_DATA_DIR).")
    var dataDirectory: String = ProcessInfo.processInfo.environment["KEEL_DATA_DIR"] ?? "./data"

    @Option(help: "Bearer token every call but Health must carry; none = no auth (env KEEL_TOKEN).")
    var token: String?

    @Option(help: "keel-gateway address, host:port (env KEEL_GATEWAY_ADDR).")
    var gateway: String = ProcessInfo.processInfo.environment["KEEL_GATEWAY_ADDR"] ?? "127.0.0.1:7402"

    @Option(name: .customLong("gateway-token"), help: "Token presented to keel-gateway; defaults to --token (env KEEL_GATEWAY_TOKEN).")
    var gatewayToken: String?

    @Option(help: "keel-planner address, host:port (env KEEL_PLANNER_ADDR).")
    var planner: String = ProcessInfo.processInfo.environment["KEEL_PLANNER_ADDR"] ?? "127.0.0.1:7401"

    @Option(name: .customLong("planner-token"), help: "Token presented to keel-planner; defaults to --token (env KEEL_PLANNER_TOKEN).")
    var plannerToken: String?

    @Option(help: "Capital settings JSON: sizing, rebalance policy, converge, schedule (env KEEL_CAPITAL_CONFIG).")
    var config: String?

    @Option(name: .customLong("metrics-port"), help: "HTTP port of GET /metrics and GET /healthz; 0 = a free port; unset = off (env KEEL_METRICS_PORT).")
    var metricsPort: Int?

    @Option(name: .customLong("max-frame-bytes"), help: "Largest KWP/1 frame accepted (env KEEL_MAX_FRAME_BYTES).")
    var maxFrameBytes: UInt32 = UInt32(ProcessInfo.processInfo.environment["KEEL_MAX_FRAME_BYTES"] ?? "") ?? 64 * 1024 * 1024

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env KEEL_LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["KEEL_LOG_LEVEL"] ?? "info"

    var environment: [String: String] { ProcessInfo.processInfo.environment }
    var effectiveToken: String? { token ?? environment["KEEL_TOKEN"] }
    var effectiveGatewayToken: String? { gatewayToken ?? environment["KEEL_GATEWAY_TOKEN"] }
    var effectivePlannerToken: String? { plannerToken ?? environment["KEEL_PLANNER_TOKEN"] }
    var effectiveConfig: String? { config ?? environment["KEEL_CAPITAL_CONFIG"] }
    var effectiveMetricsPort: Int? { metricsPort ?? environment["KEEL_METRICS_PORT"].flatMap { Int($0) } }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535, got \(port)") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
        if let token = effectiveToken, token.isEmpty { throw ValidationError("--token must not be empty (omit it for no auth)") }
        if let port = effectiveMetricsPort, !(0...65535).contains(port) { throw ValidationError("--metrics-port must be 0–65535, got \(port)") }
        if let problem = ServiceEnvironment.invalidVariable() { throw ValidationError(problem) }
    }

    func run() async throws {
        ServiceEnvironment.bootstrapLogging(level: Logger.Level(rawValue: logLevel)!)
        var settings = CapitalSettings()
        if let path = effectiveConfig {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("--config \(path): cannot read the file") }
            do {
                settings = try CapitalSettings.parse(json: data)
            } catch {
                throw ValidationError("--config \(path): \(error)")
            }
        }
        let server = try await CapitalServer.start(.init(
            host: host, port: port, dataDirectory: dataDirectory, token: effectiveToken, gateway: gateway, planner: planner,
            gatewayToken: effectiveGatewayToken, plannerToken: effectivePlannerToken, settings: settings, maxFrameBytes: maxFrameBytes,
            metricsPort: effectiveMetricsPort))
        try await server.runUntilTerminated()
    }
}

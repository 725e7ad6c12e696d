import ArgumentParser
import Execution
import Foundation
import GatewayService
import KeelHost
import KeelOps

@main
struct KeelGateway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel-gateway",
        abstract: "Keel's execution gateway over KWP/1: Plan (proxied), Execute (preview or submit), positions, balance, orders, logs, Watch.",
        discussion: """
            RPCs served: Gateway/Plan (proxied to keel-planner), Gateway/Execute, Gateway/GetPositions, \
            Gateway/GetBalance, Gateway/ListOrders, Gateway/ReadCommitLog, Gateway/ListAuditEvents, Gateway/Watch, \
            the paced schedules Gateway/PreviewSchedule, Gateway/StartSchedule, Gateway/GetSchedule, \
            Gateway/ListSchedules, Gateway/CancelSchedule, the exit policy's Gateway/ListExitSignals and \
            Gateway/DecideExitSignal, and Health/Check (without a token). \
            Every option falls back to its KEEL_* environment variable, then to the default shown. \
            Orders go to the embedded paper broker (configured under paper_broker in --config). \
            An example config is config/gateway.example.json.
            """)

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    @Option(help: "Listen port; 0 picks a free port and logs it (env KEEL_PORT).")
    var port: Int = Int(Self.environment["KEEL_PORT"] ?? "") ?? 7402

    @OptionGroup var service: ServiceOptions

    @Option(help: "keel-planner address, host:port (env KEEL_PLANNER_ADDR).")
    var planner: String = Self.environment["KEEL_PLANNER_ADDR"] ?? "127.0.0.1:7401"

    @Option(name: .customLong("planner-token"), help: "Token presented to keel-planner; defaults to --token (env KEEL_PLANNER_TOKEN).")
    var plannerToken: String?

    @Option(help: "Gateway config JSON: venue policies, shared-account policy, live guard, worlds, paper broker (env KEEL_GATEWAY_CONFIG).")
    var config: String?

    func validate() throws { try ServiceOptions.checkPort(port) }

    func run() async throws {
        service.bootstrapLogging()
        var gatewayConfig = GatewayConfig()
        if let path = config ?? Self.environment["KEEL_GATEWAY_CONFIG"] {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("--config \(path): cannot read the file") }
            do {
                gatewayConfig = try GatewayConfig.parse(json: data)
            } catch {
                throw ValidationError("--config \(path): \(error)")
            }
        }
        var configuration = GatewayServer.Configuration(
            host: service.host, port: port, dataDirectory: service.dataDirectory, token: service.effectiveToken, planner: planner,
            plannerToken: plannerToken ?? Self.environment["KEEL_PLANNER_TOKEN"], config: gatewayConfig,
            maxFrameBytes: service.maxFrameBytes, metricsPort: service.effectiveMetricsPort)
        configuration.endpoint.handlesSignals = true
        let server = try await GatewayServer.start(configuration)
        try await server.runUntilTerminated()
    }
}

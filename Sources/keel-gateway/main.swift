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

    @OptionGroup var planner: PlannerPeerOptions

    @Option(help: "Gateway config JSON: venue policies, shared-account policy, live guard, worlds, paper broker (env KEEL_GATEWAY_CONFIG).")
    var config: String?

    func validate() throws { try ServiceOptions.checkPort(port) }

    func run() async throws {
        service.bootstrapLogging()
        let gatewayConfig = try ServiceOptions.config(config, orEnvironment: "KEEL_GATEWAY_CONFIG", parse: GatewayConfig.parse(json:)) ?? GatewayConfig()
        let configuration = GatewayServer.Configuration(
            endpoint: service.endpoint(port: port), dataDirectory: service.dataDirectory, planner: planner.planner,
            plannerToken: planner.effectivePlannerToken, config: gatewayConfig)
        let server = try await GatewayServer.start(configuration)
        try await server.runUntilTerminated()
    }
}

import ArgumentParser
import CapitalAllocation
import CapitalService
import Foundation
import KeelHost
import KeelOps

@main
struct KeelCapital: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel-capital",
        abstract: "Keel's capital service over KWP/1: accounts, strategy capital by weight, order sizing, PnL compounding, scheduled reallocation.",
        discussion: """
            RPCs served: Capital/UpsertAccount, Capital/UpsertStrategyAccount, Capital/RecordDailyBalance, \
            Capital/RecordTrade, Capital/GetAccount, Capital/CalculateOrderQuantity, Capital/ApplyRealizedPnl, \
            Capital/Reallocate, Capital/ReallocateAll, Capital/AutoRebalanceAll, Capital/RebalanceStatus, \
            Capital/Converge, Capital/ListRebalanceRuns, Capital/GetRebalanceSchedule, and Health/Check \
            (without a token). \
            Every option falls back to its KEEL_* environment variable, then to the default shown. \
            The live balance and the open positions come from keel-gateway (--gateway); converge plans \
            with keel-planner (--planner). The capital settings and the schedule (default: 01:17, 04:52, \
            08:37, 12:22, 16:07, 19:52, 23:37 Asia/Seoul) are in --config; an example is \
            config/capital.example.json.
            """)

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    @Option(help: "Listen port; 0 picks a free port and logs it (env KEEL_PORT).")
    var port: Int = Int(Self.environment["KEEL_PORT"] ?? "") ?? 7403

    @OptionGroup var service: ServiceOptions

    @OptionGroup var gateway: GatewayPeerOptions

    @OptionGroup var planner: PlannerPeerOptions

    @Option(help: "Capital settings JSON: sizing, rebalance policy, converge, schedule (env KEEL_CAPITAL_CONFIG).")
    var config: String?

    func validate() throws { try ServiceOptions.checkPort(port) }

    func run() async throws {
        service.bootstrapLogging()
        let settings = try ServiceOptions.config(config, orEnvironment: "KEEL_CAPITAL_CONFIG", parse: CapitalSettings.parse(json:)) ?? CapitalSettings()
        let configuration = CapitalServer.Configuration(
            endpoint: service.endpoint(port: port), dataDirectory: service.dataDirectory, gateway: gateway.gateway, planner: planner.planner,
            gatewayToken: gateway.effectiveGatewayToken, plannerToken: planner.effectivePlannerToken, settings: settings)
        let server = try await CapitalServer.start(configuration)
        try await server.runUntilTerminated()
    }
}

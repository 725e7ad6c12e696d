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

    @Option(help: "keel-gateway address, host:port (env KEEL_GATEWAY_ADDR).")
    var gateway: String = Self.environment["KEEL_GATEWAY_ADDR"] ?? "127.0.0.1:7402"

    @Option(name: .customLong("gateway-token"), help: "Token presented to keel-gateway; defaults to --token (env KEEL_GATEWAY_TOKEN).")
    var gatewayToken: String?

    @Option(help: "keel-planner address, host:port (env KEEL_PLANNER_ADDR).")
    var planner: String = Self.environment["KEEL_PLANNER_ADDR"] ?? "127.0.0.1:7401"

    @Option(name: .customLong("planner-token"), help: "Token presented to keel-planner; defaults to --token (env KEEL_PLANNER_TOKEN).")
    var plannerToken: String?

    @Option(help: "Capital settings JSON: sizing, rebalance policy, converge, schedule (env KEEL_CAPITAL_CONFIG).")
    var config: String?

    func validate() throws { try ServiceOptions.checkPort(port) }

    func run() async throws {
        service.bootstrapLogging()
        var settings = CapitalSettings()
        if let path = config ?? Self.environment["KEEL_CAPITAL_CONFIG"] {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("--config \(path): cannot read the file") }
            do {
                settings = try CapitalSettings.parse(json: data)
            } catch {
                throw ValidationError("--config \(path): \(error)")
            }
        }
        var configuration = CapitalServer.Configuration(
            host: service.host, port: port, dataDirectory: service.dataDirectory, token: service.effectiveToken, gateway: gateway, planner: planner,
            gatewayToken: gatewayToken ?? Self.environment["KEEL_GATEWAY_TOKEN"], plannerToken: plannerToken ?? Self.environment["KEEL_PLANNER_TOKEN"],
            settings: settings, maxFrameBytes: service.maxFrameBytes, metricsPort: service.effectiveMetricsPort)
        configuration.endpoint.handlesSignals = true
        let server = try await CapitalServer.start(configuration)
        try await server.runUntilTerminated()
    }
}

import ArgumentParser
import Foundation
import KeelHost
import KeelOps
import PlannerService

@main
struct KeelPlanner: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel-planner",
        abstract: "Keel's planner over KWP/1: rebalancing plans (Plan, GetPlan, Watch) and the exit engine (EvaluateRisk).",
        discussion: """
            RPCs served: Planner/Plan, Planner/GetPlan, Planner/Watch, Planner/EvaluateRisk, and Health/Check \
            (without a token). Every option falls back to its KEEL_* environment variable, then to the default shown.
            """)

    @Option(help: "Listen port; 0 picks a free port and logs it (env KEEL_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["KEEL_PORT"] ?? "") ?? 7401

    @OptionGroup var service: ServiceOptions

    func validate() throws { try ServiceOptions.checkPort(port) }

    func run() async throws {
        service.bootstrapLogging()
        let server = try await PlannerServer.start(.init(endpoint: service.endpoint(port: port), dataDirectory: service.dataDirectory))
        try await server.runUntilTerminated()
    }
}

import Contracts
import Foundation
import KeelTestSupport
import KeelWire
import NIOCore
import NIOPosix
import Testing

/// The real keel-planner executable: flags, ports picked at start, metrics, SIGTERM, restart.
@Suite struct PlannerProcessTests {
    /// `--help` lists exactly the methods the router answers.
    @Test func helpListsWhatTheRouterServes() async throws {
        try await withPlanner { planner in
            let listed = try await HelpText.listedMethods("keel-planner")
            #expect(!listed.isEmpty && listed == HelpText.shortNames(planner.server.server.methods))
        }
    }

    @Test func plannerProcessServesPlansMetricsAndStopsOnSigterm() async throws {
        let directory = NSTemporaryDirectory() + "keel-planner-process-\(UUID().uuidString)"
        func launch() -> ServiceProcess {
            ServiceProcess(
                executable: "keel-planner", arguments: ["--port", "0", "--metrics-port", "0", "--data-dir", directory],
                environment: ["KEEL_TOKEN": "process-token"], readyMarker: "keel-planner ready")
        }
        let first = launch()
        var planID = ""
        do {
            try await first.start()
            let port = try #require(first.loggedNumber("port"))
            let metricsPort = try #require(first.loggedNumber("metrics_port"))
            let client = KWPClient(host: "127.0.0.1", port: port, configuration: .init(token: "process-token"))
            let health = try await client.unary(KeelRPC.healthCheck, Keel_Health_V1_HealthCheckRequest(), as: Keel_Health_V1_HealthCheckResponse.self)
            #expect(health.status == .serving)
            let response = try await client.unary(KeelRPC.plannerPlan, PlannerServiceTests.sampleRequest(), as: Keel_Planner_V1_PlanResponse.self)
            planID = response.plan.planID
            #expect(planID.hasPrefix("pln_"))
            await client.close()

            let healthz = try await HTTPScrape.fetch(port: metricsPort, path: "/healthz")
            #expect(healthz.status == 200)
            let metrics = try await HTTPScrape.fetch(port: metricsPort, path: "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.body.contains(#"keel_planner_plans_total{outcome="stored",reason=""} 1"#), "\(metrics.body)")
            #expect(await first.stop(signal: SIGTERM) == 0)
            #expect(first.log.contains("draining"))
            #expect(!first.log.contains("process-token"), "the token must never be logged")
        } catch {
            await first.stop(signal: SIGKILL)
            throw error
        }

        // The plan survives the restart.
        let second = launch()
        do {
            try await second.start()
            let client = KWPClient(host: "127.0.0.1", port: try #require(second.loggedNumber("port")), configuration: .init(token: "process-token"))
            let got = try await client.unary(KeelRPC.plannerGetPlan, Keel_Planner_V1_GetPlanRequest.with { $0.planID = planID }, as: Keel_Planner_V1_GetPlanResponse.self)
            #expect(got.plan.planID == planID)
            await client.close()
            #expect(await second.stop() == 0)
        } catch {
            await second.stop(signal: SIGKILL)
            throw error
        }
    }

    @Test func badFlagsAreRefusedWithTheFlagNamed() async throws {
        let process = ServiceProcess(executable: "keel-planner", arguments: ["--port", "70000"], readyMarker: "never")
        await #expect(throws: ProcessError.self) { try await process.start(timeout: .seconds(20)) }
        #expect(await process.stop() != 0)
        #expect(process.log.contains("--port"))
        let badEnvironment = ServiceProcess(executable: "keel-planner", arguments: [], environment: ["KEEL_PORT": "seventy"], readyMarker: "never")
        await #expect(throws: ProcessError.self) { try await badEnvironment.start(timeout: .seconds(20)) }
        #expect(await badEnvironment.stop() != 0)
        #expect(badEnvironment.log.contains("KEEL_PORT=seventy"))
    }
}

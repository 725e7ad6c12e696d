import Contracts
import Foundation
import KeelTestSupport
import Testing

/// The `keel` CLI against a real keel-planner process.
@Suite struct CLITests {
    @Test func callPrintsJSONAndFailsWithTheStatusNamed() async throws {
        let directory = NSTemporaryDirectory() + "keel-cli-\(UUID().uuidString)"
        let planner = ServiceProcess(executable: "keel-planner", arguments: ["--port", "0", "--data-dir", directory, "--token", "cli-token"], readyMarker: "keel-planner ready")
        do {
            try await planner.start()
            let target = "127.0.0.1:\(try #require(planner.loggedNumber("port")))"
            let body = #"{"total_equity":"1000","world_alloc_before":{"w":"1"},"world_alloc_after":{"w":"0.5"},"positions":[{"world_id":"w","strategy_id":"s","symbol":"BTC","qty":"2","mark":"100","venue":"x"}]}"#
            let ok = try await runCommand("keel", ["call", target, "Planner/Plan", "--json", "-", "--token", "cli-token"], stdin: body)
            #expect(ok.status == 0, "\(ok.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any]
            let plan = json?["plan"] as? [String: Any]
            #expect((plan?["global_deltas"] as? [[String: Any]])?.first?["delta_qty"] as? String == "-1")

            let bad = try await runCommand("keel", ["call", target, "/keel.planner.v1.Planner/Plan", "--json", "-", "--token", "cli-token"], stdin: #"{"total_equity":"1e3"}"#)
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("INVALID_ARGUMENT") && bad.stderr.contains("E_INVALID_DECIMAL") && bad.stderr.contains("total_equity"))

            let unauthenticated = try await runCommand("keel", ["call", target, "Planner/GetPlan", "--json", "-"], stdin: #"{"plan_id":"x"}"#)
            #expect(unauthenticated.status != 0 && unauthenticated.stderr.contains("UNAUTHENTICATED"))

            let health = try await runCommand("keel", ["health", target])
            #expect(health.status == 0 && health.stdout.contains("serving"))
            let unknown = try await runCommand("keel", ["call", target, "Planner/Nope"])
            #expect(unknown.status != 0 && unknown.stderr.contains("keel methods"))
            #expect(await planner.stop() == 0)
        } catch {
            await planner.stop(signal: SIGKILL)
            throw error
        }
    }
}

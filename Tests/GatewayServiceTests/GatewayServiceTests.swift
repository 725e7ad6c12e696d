import Contracts
import Execution
import Foundation
import GatewayService
import KeelTestSupport
import KeelWire
import PlannerService
import Planning
import Testing

/// A planner and a gateway in process, on ephemeral loopback ports, and a client of the gateway.
struct GatewayHarness {
    let planner: PlannerServer
    let gateway: GatewayServer
    let client: KWPClient

    static func start(config: GatewayConfig = GatewayConfig()) async throws -> GatewayHarness {
        let planner = try await PlannerServer.start(.init(port: 0, dataDirectory: NSTemporaryDirectory() + "keel-gw-planner-\(UUID().uuidString)", drainTimeout: .seconds(2)))
        let gateway = try await GatewayServer.start(.init(port: 0, planner: "127.0.0.1:\(planner.address.port!)", config: config, drainTimeout: .seconds(2)))
        let client = KWPClient(host: "127.0.0.1", port: gateway.address.port!, configuration: .init(maxFrameBytes: 64 * 1024 * 1024))
        return GatewayHarness(planner: planner, gateway: gateway, client: client)
    }

    func stop() async {
        await client.close()
        await gateway.stop()
        await planner.stop()
    }
}

func withGateway<T>(config: GatewayConfig = GatewayConfig(), _ body: (GatewayHarness) async throws -> T) async throws -> T {
    try await withStarted({ try await GatewayHarness.start(config: config) }, stop: { await $0.stop() }, body)
}

@Suite struct GatewayServiceTests {
    static let file = "planner-gateway"

    /// The preview cases (no submit) of shared/cases through a real gateway and planner over KWP/1.
    @Test func executePreviewCasesOverKWP() async throws {
        var checked = 0
        for name in Cases.named(Self.file, kind: "execute") {
            let testCase = try Cases.case(Self.file, name)
            let input = testCase["input"] as! [String: Any]
            let request = try Cases.message(ExecuteRequest.self, from: input["request"]!)
            guard !request.submit else { continue }
            let config = try GatewayConfig.parse(object: input["gateway_config"] ?? [String: Any]())
            let expected = testCase["expected"] as! [String: Any]
            try await withGateway(config: config) { harness in
                do {
                    let response = try await harness.client.unary(KeelRPC.gatewayExecute, request, as: ExecuteResponse.self, metadata: input["metadata"] as? [String: String] ?? [:])
                    let differences = Cases.differences(expected: expected["response"] ?? "an error", actual: try Cases.json(response))
                    #expect(differences.isEmpty, "\(name):\n\(differences.joined(separator: "\n"))")
                } catch let error as RPCError {
                    let want = expected["error"] as? [String: Any]
                    #expect(error.code.name == want?["code"] as? String, "\(name): \(error)")
                    #expect(error.reason == want?["reason"] as? String, "\(name): \(error)")
                    #expect(error.field == want?["field"] as? String, "\(name): \(error)")
                    if let metadata = want?["metadata"] as? [String: String] {
                        let differences = Cases.differences(expected: metadata, actual: error.metadata, field: "metadata")
                        #expect(differences.isEmpty, "\(name):\n\(differences.joined(separator: "\n"))")
                    }
                }
            }
            checked += 1
        }
        #expect(checked >= 8)
    }

    @Test func planIsProxiedAndPlannerErrorsPassThroughWithUpstream() async throws {
        try await withGateway { harness in
            let request = Keel_Planner_V1_PlanRequest.with {
                $0.totalEquity = "1000"
                $0.worldAllocBefore = ["w": "1"]
                $0.worldAllocAfter = ["w": "0.5"]
                $0.positions = [.with { $0.worldID = "w"; $0.strategyID = "s"; $0.symbol = "BTC"; $0.qty = "2"; $0.mark = "100"; $0.venue = "x" }]
            }
            let response = try await harness.client.unary(KeelRPC.gatewayPlan, request, as: Keel_Planner_V1_PlanResponse.self, metadata: ["idempotency-key": "gw-1"])
            #expect(response.plan.planID.hasPrefix("pln_"))
            #expect(response.plan.globalDeltas.map(\.deltaQty) == ["-1"])
            // The key travelled with the request: the same call replays.
            let replay = try await harness.client.unary(KeelRPC.gatewayPlan, request, as: Keel_Planner_V1_PlanResponse.self, metadata: ["idempotency-key": "gw-1"])
            #expect(replay.replayed && replay.plan.planID == response.plan.planID)

            var bad = request
            bad.positions[0].mark = "1e3"
            do {
                _ = try await harness.client.unary(KeelRPC.gatewayPlan, bad, as: Keel_Planner_V1_PlanResponse.self)
                Issue.record("expected E_INVALID_DECIMAL")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument && error.reason == "E_INVALID_DECIMAL")
                #expect(error.metadata == ["field": "positions[0].mark", "upstream": "keel-planner"])
            }
        }
    }

    @Test func aPlannerThatCannotBeReachedIsUnavailable() async throws {
        try await withGateway { harness in
            await harness.planner.stop()
            var request = ExecuteRequest()
            request.planRequest = .with {
                $0.totalEquity = "1000"
                $0.worldAllocBefore = ["w": "1"]
                $0.worldAllocAfter = ["w": "0.5"]
            }
            for call in 0..<2 {
                do {
                    _ = try await harness.client.unary(KeelRPC.gatewayExecute, request, as: ExecuteResponse.self)
                    Issue.record("expected UNAVAILABLE")
                } catch let error as RPCError {
                    #expect(error.code == .unavailable, "call \(call): \(error)")
                    #expect(error.reason == "E_PLANNER_UNAVAILABLE", "call \(call): \(error)")
                    #expect(error.metadata["upstream"] == "keel-planner")
                }
            }
        }
    }
}

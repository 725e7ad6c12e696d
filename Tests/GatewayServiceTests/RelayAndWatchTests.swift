import Contracts
import Execution
import Foundation
import GRDB
import KeelTestSupport
import KeelWire
import Logging
import Testing
@testable import GatewayService

@Suite struct RelayAndWatchTests {
    static let file = "planner-gateway"

    /// The relay cases: duplicates dropped, the cursor kept, gateway seqs assigned.
    @Test(arguments: try Cases.named(file, kind: "relay"))
    func relayCase(name: String) async throws {
        let testCase = try Cases.case(Self.file, name)
        let input = testCase["input"] as! [String: Any]
        let store = try GatewayStore(path: NSTemporaryDirectory() + "keel-relay-\(UUID().uuidString)/gateway.sqlite")
        try await store.setRelayCursor(UInt64(input["cursor"] as? Int ?? 0))
        if let gatewaySeq = input["gateway_seq"] as? Int, gatewaySeq > 0 {
            // Earlier gateway events (their content does not matter here).
            try await store.pool.write { db in
                for _ in 0..<gatewaySeq {
                    _ = try GatewayStore.appendEvent(.with { $0.topic = "orders"; $0.order = .init() }, db: db)
                }
            }
        }
        let relay = PlannerRelay(store: store, planner: KWPClient(host: "127.0.0.1", port: 1), logger: Logger(label: "test"))
        for event in input["events"] as! [[String: Any]] {
            try await relay.handle(try Cases.message(Keel_Planner_V1_PlannerEvent.self, from: event))
        }
        let forwarded = try await store.events(after: UInt64(input["gateway_seq"] as? Int ?? 0), topics: ["rebalancing.planned"], limit: 100).events
        let expected = testCase["expected"] as! [String: Any]
        let differences = Cases.differences(expected: expected["forwarded"]!, actual: try forwarded.map { try Cases.json($0) })
        #expect(differences.isEmpty, "\(name):\n\(differences.joined(separator: "\n"))")
        #expect(try await store.relayCursor() == UInt64(expected["cursor"] as! Int))
    }

    @Test func watchRelaysPlannerEventsAndReportsOrderUpdates() async throws {
        let config = try GatewayConfig.parse(object: ["live_guard": ["enforce": false], "paper_broker": ["accounts": ["default": ["currency": "USDT", "cash": "100000"]]]])
        try await withGateway(config: config) { harness in
            let watch = harness.client.serverStream(KeelRPC.gatewayWatch, Keel_Gateway_V1_WatchRequest(), as: GatewayEvent.self, timeout: .seconds(20))
            var iterator = watch.makeAsyncIterator()
            let request = Samples.halveSubmit()
            let response = try await harness.client.unary(KeelRPC.gatewayExecute, request, as: ExecuteResponse.self)
            // Expected: the plan's event relayed from the planner, and SENT then FILLED for the order.
            var planned: [String] = []
            var statuses: [OrderStatus] = []
            while planned.isEmpty || statuses.count < 2 {
                guard let event = try await iterator.next() else { break }
                switch event.event {
                case .planned(let p): planned.append(p.planID)
                case .order(let o): statuses.append(o.status)
                default: break
                }
            }
            watch.cancel()
            #expect(planned == [response.planID])
            #expect(statuses == [.sent, .filled])
            do {
                for try await _ in harness.client.serverStream(KeelRPC.gatewayWatch, Keel_Gateway_V1_WatchRequest.with { $0.topics = ["orders", "fills"] }, as: GatewayEvent.self) {}
                Issue.record("expected E_UNKNOWN_TOPIC")
            } catch let error as RPCError {
                #expect(error.reason == "E_UNKNOWN_TOPIC" && error.field == "topics[1]")
            }
        }
    }
}

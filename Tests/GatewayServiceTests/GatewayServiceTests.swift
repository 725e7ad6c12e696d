import Contracts
import Execution
import Foundation
import GRDB
@testable import GatewayService
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
        let planner = try await PlannerServer.start(.init(endpoint: .init(port: 0, drainTimeout: .seconds(2)), dataDirectory: NSTemporaryDirectory() + "keel-gw-planner-\(UUID().uuidString)"))
        let gateway = try await GatewayServer.start(.init(
            endpoint: .init(port: 0, drainTimeout: .seconds(2)), dataDirectory: NSTemporaryDirectory() + "keel-gw-\(UUID().uuidString)", planner: "127.0.0.1:\(planner.address.port!)",
            config: config))
        let client = KWPClient(host: "127.0.0.1", port: gateway.address.port!, configuration: .init(maxFrameBytes: 64 * 1024 * 1024))
        return GatewayHarness(planner: planner, gateway: gateway, client: client)
    }

    func stop() async {
        await client.close()
        await gateway.stop()
        await planner.stop()
    }

    /// The whole commit log, from offset 1, without following.
    func commitLog() async throws -> [CommitLogRecord] {
        var records: [CommitLogRecord] = []
        for try await record in client.serverStream(KeelRPC.gatewayReadCommitLog, Keel_Gateway_V1_ReadCommitLogRequest.with { $0.fromOffset = 1 }, as: CommitLogRecord.self) {
            records.append(record)
        }
        return records
    }
}

func withGateway<T>(config: GatewayConfig = GatewayConfig(), _ body: (GatewayHarness) async throws -> T) async throws -> T {
    try await withStarted({ try await GatewayHarness.start(config: config) }, stop: { await $0.stop() }, body)
}

@Suite struct GatewayServiceTests {
    static let file = "planner-gateway"

    /// Every execute case of the fixture through a real gateway and planner over KWP/1: the
    /// response or the error, then the commit log and the audit log the call left behind.
    @Test func executeCasesOverKWP() async throws {
        let names = try Cases.named(Self.file, kind: "execute")
        var ran = 0
        for name in names {
            ran += 1
            let testCase = try Cases.case(Self.file, name)
            let input = testCase["input"] as! [String: Any]
            let request = try Cases.message(ExecuteRequest.self, from: input["request"]!)
            var object = input["gateway_config"] as? [String: Any] ?? [:]
            // The paper broker needs cash to fill against: give the default account some.
            if object["paper_broker"] == nil { object["paper_broker"] = ["accounts": ["default": ["currency": "USDT", "cash": "1000000"]]] }
            let config = try GatewayConfig.parse(object: object)
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
                let log = try await harness.commitLog()
                let logDifferences = Cases.differences(expected: expected["commit_log"] ?? [Any](), actual: try log.map { try Cases.json($0) })
                #expect(logDifferences.isEmpty, "\(name) commit log:\n\(logDifferences.joined(separator: "\n"))")
                let audit = try await harness.client.unary(KeelRPC.gatewayListAuditEvents, Keel_Gateway_V1_ListAuditEventsRequest(), as: Keel_Gateway_V1_ListAuditEventsResponse.self)
                let auditJSON: [[String: Any]] = audit.events.map { event in
                    ["key": event.key, "type": event.type, "body": (try? JSONSerialization.jsonObject(with: Data(event.bodyJson.utf8))) ?? [:]]
                }
                let auditDifferences = Cases.differences(expected: expected["audit"] ?? [Any](), actual: auditJSON)
                #expect(auditDifferences.isEmpty, "\(name) audit:\n\(auditDifferences.joined(separator: "\n"))")
            }
        }
        #expect(ran == names.count, "ran \(ran) of the fixture's \(names.count) execute cases")
    }

    @Test func submittedOrdersReachThePaperBrokerOnceAndMoveItsPositions() async throws {
        let config = try GatewayConfig.parse(object: ["live_guard": ["enforce": false], "paper_broker": ["accounts": ["default": ["currency": "USDT", "cash": "100000"]]]])
        try await withGateway(config: config) { harness in
            let request = Samples.perStrategy(submit: true)
            let response = try await harness.client.unary(KeelRPC.gatewayExecute, request, as: ExecuteResponse.self, metadata: ["idempotency-key": "submit-1"])
            #expect(response.submitted && response.executionID.hasPrefix("exe_") && response.planID.hasPrefix("pln_"))
            await harness.gateway.dispatcher.idle()
            let orders = try await harness.client.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest(), as: Keel_Gateway_V1_ListOrdersResponse.self)
            let dispatched = orders.orders.filter { $0.status != .recorded }
            #expect(dispatched.map(\.status) == [.filled, .filled])
            #expect(orders.orders.filter { $0.status == .recorded }.count == 1)
            let positions = try await harness.client.unary(
                KeelRPC.gatewayGetPositions, Keel_Gateway_V1_GetPositionsRequest.with { $0.includeAttributed = true }, as: Keel_Gateway_V1_GetPositionsResponse.self)
            #expect(positions.positions.map(\.qty) == ["-0.5"])
            #expect(Set(positions.attributed.map { "\($0.strategyID)=\($0.qty)" }) == ["strat-1=-0.2", "strat-2=-0.3"])
            let balance = try await harness.client.unary(KeelRPC.gatewayGetBalance, Keel_Gateway_V1_GetBalanceRequest(), as: Keel_Gateway_V1_GetBalanceResponse.self)
            #expect(balance.cash == "130000" && balance.currency == "USDT")

            // The same key and request: the stored response, nothing placed again.
            let replay = try await harness.client.unary(KeelRPC.gatewayExecute, request, as: ExecuteResponse.self, metadata: ["idempotency-key": "submit-1"])
            #expect(replay.replayed && replay.executionID == response.executionID)
            await harness.gateway.dispatcher.idle()
            let after = try await harness.client.unary(KeelRPC.gatewayGetPositions, Keel_Gateway_V1_GetPositionsRequest(), as: Keel_Gateway_V1_GetPositionsResponse.self)
            #expect(after.positions.map(\.qty) == ["-0.5"])
            var other = request
            other.disableReduceOnly = true
            do {
                _ = try await harness.client.unary(KeelRPC.gatewayExecute, other, as: ExecuteResponse.self, metadata: ["idempotency-key": "submit-1"])
                Issue.record("expected ALREADY_EXISTS")
            } catch let error as RPCError {
                #expect(error.code == .alreadyExists && error.metadata["execution_id"] == response.executionID)
            }
            // An unknown broker account writes nothing.
            var unknown = request
            unknown.accountID = "nope"
            do {
                _ = try await harness.client.unary(KeelRPC.gatewayExecute, unknown, as: ExecuteResponse.self)
                Issue.record("expected NOT_FOUND")
            } catch let error as RPCError {
                #expect(error.reason == "E_ACCOUNT_NOT_FOUND" && error.field == "account_id")
            }
            #expect(try await harness.commitLog().count == 2)
        }
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

    @Test func badExecuteRequestsNameTheirField() async throws {
        try await withGateway { harness in
            func expectField(_ request: ExecuteRequest, _ reason: String, _ field: String, sourceLocation: SourceLocation = #_sourceLocation) async {
                do {
                    _ = try await harness.client.unary(KeelRPC.gatewayExecute, request, as: ExecuteResponse.self)
                    Issue.record("expected \(reason)", sourceLocation: sourceLocation)
                } catch {
                    #expect(error.code == .invalidArgument && error.reason == reason && error.field == field, "\(error)", sourceLocation: sourceLocation)
                }
            }
            var request = ExecuteRequest()
            await expectField(request, "E_MISSING_FIELD", "plan_request")
            request.planRequest = .with { $0.totalEquity = "1000"; $0.worldAllocAfter = ["w": "1"] }
            request.flipPolicy = .UNRECOGNIZED(7)
            await expectField(request, "E_UNKNOWN_ENUM", "flip_policy")
            request.flipPolicy = .directFlip
            request.timeInForce = .UNRECOGNIZED(9)
            await expectField(request, "E_UNKNOWN_ENUM", "time_in_force")
            request.timeInForce = .ioc
            request.planRequest.totalEquity = "NaN"
            await expectField(request, "E_INVALID_DECIMAL", "total_equity")
        }
    }

    @Test func aFollowingCommitLogReaderReceivesNewRecords() async throws {
        let config = try GatewayConfig.parse(object: ["live_guard": ["enforce": false], "paper_broker": ["accounts": ["default": ["currency": "USDT", "cash": "1000"]]]])
        try await withGateway(config: config) { harness in
            let follow = harness.client.serverStream(
                KeelRPC.gatewayReadCommitLog, Keel_Gateway_V1_ReadCommitLogRequest.with { $0.fromOffset = 1; $0.follow = true }, as: CommitLogRecord.self, timeout: .seconds(20))
            let first = Task {
                var iterator = follow.makeAsyncIterator()
                return try await iterator.next()
            }
            let request = Samples.halveSubmit()
            let response = try await harness.client.unary(KeelRPC.gatewayExecute, request, as: ExecuteResponse.self)
            let record = try await first.value
            #expect(record?.offset == 1)
            #expect(record?.batchID == response.batches.first?.batchID)
            #expect(record?.payload.orders.map(\.quantity) == ["1"])
            follow.cancel()
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

/// Rows the gateway cannot read back answer INTERNAL naming the row, never an empty order or batch.
@Suite struct UnreadableStoredRowTests {
    @Test func anUndecodableOrderOrCommitLogRowIsInternalNamingTheRow() async throws {
        let config = try GatewayConfig.parse(object: ["live_guard": ["enforce": false], "paper_broker": ["accounts": ["default": ["currency": "USDT", "cash": "100000"]]]])
        try await withGateway(config: config) { harness in
            _ = try await harness.client.unary(KeelRPC.gatewayExecute, Samples.perStrategy(submit: true), as: ExecuteResponse.self)
            await harness.gateway.dispatcher.idle()
            let orders = try await harness.client.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest(), as: Keel_Gateway_V1_ListOrdersResponse.self).orders
            let victim = try #require(orders.first).order.clientOrderID
            try await harness.gateway.store.pool.write { db in
                try db.execute(sql: "UPDATE orders SET body = ? WHERE client_order_id = ?", arguments: [Data([0xFF, 0xFF, 0xFF]), victim])
                try db.execute(sql: #"UPDATE commit_log SET payload = ? WHERE "offset" = 1"#, arguments: [Data([0x0A, 0x10])])
            }
            let listed = await expectStatus(.internal, reason: "E_STORED_VALUE_UNREADABLE") {
                _ = try await harness.client.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest(), as: Keel_Gateway_V1_ListOrdersResponse.self)
            }
            #expect(listed?.metadata["table"] == "orders" && listed?.metadata["row"] == victim && listed?.metadata["column"] == "body", "\(String(describing: listed))")
            let read = await expectStatus(.internal, reason: "E_STORED_VALUE_UNREADABLE") { _ = try await harness.commitLog() }
            #expect(read?.metadata["table"] == "commit_log" && read?.metadata["row"] == "1", "\(String(describing: read))")
        }
    }

    /// A stored answer that no longer decodes is not replayed as something else.
    @Test func anUndecodableStoredAnswerIsInternalNamingTheRow() async throws {
        let config = try GatewayConfig.parse(object: ["live_guard": ["enforce": false], "paper_broker": ["accounts": ["default": ["currency": "USDT", "cash": "100000"]]]])
        try await withGateway(config: config) { harness in
            let key = ["idempotency-key": "answer-1"]
            _ = try await harness.client.unary(KeelRPC.gatewayExecute, Samples.perStrategy(submit: true), as: ExecuteResponse.self, metadata: key)
            try await harness.gateway.store.pool.write { db in
                try db.execute(sql: "UPDATE executions SET response = ? WHERE idempotency_key = ?", arguments: [Data([0xFF, 0xFF, 0xFF]), "answer-1"])
            }
            let replay = await expectStatus(.internal, reason: "E_STORED_VALUE_UNREADABLE") {
                _ = try await harness.client.unary(KeelRPC.gatewayExecute, Samples.perStrategy(submit: true), as: ExecuteResponse.self, metadata: key)
            }
            #expect(replay?.metadata["table"] == "executions" && replay?.metadata["row"] == "answer-1" && replay?.metadata["column"] == "response", "\(String(describing: replay))")
        }
    }

    /// A protobuf enum reads any number (an unknown one as UNRECOGNIZED): a stored status number no
    /// version wrote is still an unreadable value, never an order in an unknown state.
    @Test func anOrderStatusNoVersionWroteIsInternalNamingTheColumn() async throws {
        let config = try GatewayConfig.parse(object: ["live_guard": ["enforce": false], "paper_broker": ["accounts": ["default": ["currency": "USDT", "cash": "100000"]]]])
        try await withGateway(config: config) { harness in
            _ = try await harness.client.unary(KeelRPC.gatewayExecute, Samples.perStrategy(submit: true), as: ExecuteResponse.self)
            await harness.gateway.dispatcher.idle()
            let orders = try await harness.client.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest(), as: Keel_Gateway_V1_ListOrdersResponse.self).orders
            let victim = try #require(orders.first).order.clientOrderID
            try await harness.gateway.store.pool.write { db in
                try db.execute(sql: "UPDATE orders SET status = 99 WHERE client_order_id = ?", arguments: [victim])
            }
            let listed = await expectStatus(.internal, reason: "E_STORED_VALUE_UNREADABLE") {
                _ = try await harness.client.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest(), as: Keel_Gateway_V1_ListOrdersResponse.self)
            }
            #expect(listed?.metadata["table"] == "orders" && listed?.metadata["row"] == victim && listed?.metadata["column"] == "status", "\(String(describing: listed))")
        }
    }
}

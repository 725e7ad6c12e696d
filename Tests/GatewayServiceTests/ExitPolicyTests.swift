import Contracts
import ExactNumbers
import Execution
import Foundation
@testable import GatewayService
import KeelTestSupport
import KeelWire
import Planning
import Testing

/// The exit engine end to end: a breached limit at keel-planner's EvaluateRisk → the signal
/// relayed to the gateway → its exit policy (auto, approval, off) → reduce-only orders at the
/// paper broker, every signal and decision in the audit log.
@Suite struct ExitPolicyTests {
    static func config(_ policy: ExitPolicy) -> GatewayConfig {
        var config = GatewayConfig()
        var x = VenuePolicy(name: "x")
        x.supportsReduceOnly = true
        x.lotSize = DecimalGrammar.parse("0.001")
        config.venues["x"] = x
        config.exitPolicy = policy
        config.paperBroker.accounts = [
            "default": PaperAccount(currency: "USDT", cash: ExactDecimal(100_000), positions: [
                PaperPosition(venue: "x", symbol: "BTC", qty: ExactDecimal(2), avgPrice: ExactDecimal(90), mark: ExactDecimal(100)),
                PaperPosition(venue: "x", symbol: "ETH", qty: ExactDecimal(-10), avgPrice: ExactDecimal(55), mark: ExactDecimal(50)),
            ]),
        ]
        return config
    }

    /// World `w` holds 60 % in BTC; a concentration limit of 40 % halves it (REDUCE 0.5).
    static func concentration(strategy: String = "", action: Keel_Planner_V1_ExitAction = .reduce, fraction: String = "0.5") -> EvaluateRiskRequest {
        .with {
            $0.snapshots = [.with {
                $0.worldID = "w"
                $0.strategyID = strategy
                $0.symbols = ["BTC", "ETH"]
                $0.weights = ["0.6", "-0.15"]
                $0.rules = [.with {
                    $0.ruleID = "max-weight"
                    $0.measure = .concentration
                    $0.limit = "0.4"
                    $0.action = action
                    if action == .reduce { $0.reduceFraction = fraction }
                }]
            }]
            $0.intent = ["source": "test"]
        }
    }

    static func planner(_ harness: GatewayHarness) -> KWPClient {
        KWPClient(host: "127.0.0.1", port: harness.planner.address.port!)
    }

    /// Follows `exit.signals` from the start until a record in `state` (of `signalID`, when given) arrives.
    static func awaitSignal(_ harness: GatewayHarness, _ state: ExitSignalState, signalID: String? = nil) async throws -> ExitSignalRecord {
        let stream = harness.client.serverStream(KeelRPC.gatewayWatch, Keel_Gateway_V1_WatchRequest.with { $0.topics = ["exit.signals"] },
                                                 as: GatewayEvent.self, timeout: .seconds(20))
        for try await event in stream where event.exitSignal.state == state && (signalID.map { $0 == event.exitSignal.signal.signalID } ?? true) {
            stream.cancel()
            return event.exitSignal
        }
        throw RPCError(.deadlineExceeded, "no exit signal reached \(state)")
    }

    static func audit(_ harness: GatewayHarness) async throws -> [AuditEvent] {
        try await harness.client.unary(KeelRPC.gatewayListAuditEvents, Keel_Gateway_V1_ListAuditEventsRequest.with { $0.key = "exit:w" },
                                       as: Keel_Gateway_V1_ListAuditEventsResponse.self).events
    }

    /// The orders that went to the broker (not the recorded world batch of a per-strategy Execute).
    static func sentOrders(_ harness: GatewayHarness) async throws -> [Keel_Gateway_V1_OrderRecord] {
        try await harness.client.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest(), as: Keel_Gateway_V1_ListOrdersResponse.self)
            .orders.filter { $0.status != .recorded }
    }

    static func positions(_ harness: GatewayHarness) async throws -> [String] {
        try await harness.client.unary(KeelRPC.gatewayGetPositions, Keel_Gateway_V1_GetPositionsRequest(), as: Keel_Gateway_V1_GetPositionsResponse.self)
            .positions.map { "\($0.symbol) \($0.qty)" }
    }

    /// Auto mode over the account's book: the long and the short are both halved by reduce-only orders.
    @Test func aBreachedLimitBecomesReduceOnlyOrdersAtThePaperBroker() async throws {
        try await withGateway(config: Self.config(ExitPolicy(mode: .auto, positions: .account))) { harness in
            let planner = Self.planner(harness)
            defer { Task { await planner.close() } }
            let evaluation = try await planner.unary(KeelRPC.plannerEvaluateRisk, Self.concentration(), as: Keel_Planner_V1_EvaluateRiskResponse.self)
            #expect(evaluation.results.map(\.value) == ["0.6"])
            let signal = try #require(evaluation.signals.first)
            #expect(signal.signalID == "\(evaluation.evaluationID):0:max-weight")

            let applied = try await Self.awaitSignal(harness, .applied)
            #expect(applied.signal.signalID == signal.signalID)
            #expect(applied.decidedBy == "policy:auto")
            #expect(applied.reason == "2 reduce orders submitted")
            await harness.gateway.dispatcher.idle()
            // Per strategy (the world's batch is recorded, not sent), so fills go back to the strategies.
            let orders = try await Self.sentOrders(harness)
            #expect(orders.map { "\($0.order.side) \($0.order.symbol) \($0.order.quantity) \($0.order.reduceOnly) \($0.status)" }.sorted()
                    == ["buy ETH 5 true filled", "sell BTC 1 true filled"])
            #expect(try await Self.positions(harness) == ["BTC 1", "ETH -5"])
            #expect(try await Self.audit(harness).map(\.type) == ["EXIT_SIGNAL", "EXIT_APPLIED"])
            let body = try #require(try await Self.audit(harness).last?.bodyJson)
            #expect(body.contains("\"execution_id\":\"\(applied.executionID)\""))
            #expect(body.contains("\"reduce_fraction\":\"0.5\""))
        }
    }

    /// Approval mode over attributed fills, a strategy's signal: held until an operator approves
    /// with x-allow-live; a rejected one trades nothing.
    @Test func approvalHoldsSignalsUntilAnOperatorDecides() async throws {
        try await withGateway(config: Self.config(ExitPolicy(mode: .approval))) { harness in
            // The gateway bought these 2 BTC for (w, s) earlier: its attribution ledger holds them.
            let bought = VenueOrder.with { $0.clientOrderID = "past"; $0.worldID = "w"; $0.strategyID = "s"; $0.venue = "x"; $0.symbol = "BTC"; $0.side = .buy; $0.quantity = "2" }
            try await harness.gateway.store.record(BrokerOrder(venueOrderID: "P1", status: .filled, quantity: ExactDecimal(2), filledQuantity: ExactDecimal(2), filledNotional: ExactDecimal(200), limit: nil, reason: ""), for: bought, nowMs: 1)
            let planner = Self.planner(harness)
            defer { Task { await planner.close() } }
            let first = try await planner.unary(KeelRPC.plannerEvaluateRisk, Self.concentration(strategy: "s"), as: Keel_Planner_V1_EvaluateRiskResponse.self)
            let held = try await Self.awaitSignal(harness, .awaitingApproval)
            #expect(held.signal.signalID == first.signals.first?.signalID)
            #expect(held.signal.strategyID == "s")
            let listed = try await harness.client.unary(KeelRPC.gatewayListExitSignals, Keel_Gateway_V1_ListExitSignalsRequest.with { $0.state = .awaitingApproval },
                                                        as: Keel_Gateway_V1_ListExitSignalsResponse.self)
            #expect(listed.signals.map(\.signal.signalID) == [held.signal.signalID])

            let decide = Keel_Gateway_V1_DecideExitSignalRequest.with { $0.signalID = held.signal.signalID; $0.approve = true; $0.operator = "ops-anna"; $0.reason = "agreed" }
            await expectStatus(.permissionDenied, reason: "E_LIVE_GUARD", field: "x-allow-live") {
                _ = try await harness.client.unary(KeelRPC.gatewayDecideExitSignal, decide, as: ExitSignalRecord.self)
            }
            var anonymous = decide
            anonymous.operator = ""
            await expectStatus(.invalidArgument, reason: "E_MISSING_FIELD", field: "operator") {
                _ = try await harness.client.unary(KeelRPC.gatewayDecideExitSignal, anonymous, as: ExitSignalRecord.self)
            }
            let live = [MetadataKey.allowLive: "true"]
            let applied = try await harness.client.unary(KeelRPC.gatewayDecideExitSignal, decide, as: ExitSignalRecord.self, metadata: live)
            #expect(applied.state == .applied, "\(applied.reason)")
            #expect(applied.decidedBy == "ops-anna")
            await harness.gateway.dispatcher.idle()
            let orders = try await Self.sentOrders(harness)
            #expect(orders.map { "\($0.order.side) \($0.order.symbol) \($0.order.quantity) \($0.order.reduceOnly) \($0.order.strategyID)" } == ["sell BTC 1 true s"])
            await expectStatus(.failedPrecondition, reason: "E_EXIT_SIGNAL_DECIDED", field: "signal_id") {
                _ = try await harness.client.unary(KeelRPC.gatewayDecideExitSignal, decide, as: ExitSignalRecord.self, metadata: live)
            }

            let exit = try await planner.unary(KeelRPC.plannerEvaluateRisk, Self.concentration(strategy: "s", action: .exit), as: Keel_Planner_V1_EvaluateRiskResponse.self)
            let pending = try await Self.awaitSignal(harness, .awaitingApproval, signalID: exit.signals.first?.signalID)
            #expect(pending.signal.action == .exit)
            var reject = decide
            reject.signalID = pending.signal.signalID
            reject.approve = false
            reject.reason = "the strategy's own stop handles it"
            let rejected = try await harness.client.unary(KeelRPC.gatewayDecideExitSignal, reject, as: ExitSignalRecord.self)
            #expect(rejected.state == .rejected)
            #expect(try await Self.sentOrders(harness).count == 1)
            #expect(try await Self.audit(harness).map(\.type) == ["EXIT_SIGNAL", "EXIT_APPROVED", "EXIT_APPLIED", "EXIT_SIGNAL", "EXIT_REJECTED"])
            await expectStatus(.notFound, reason: "E_EXIT_SIGNAL_NOT_FOUND", field: "signal_id") {
                var unknown = decide
                unknown.signalID = "rsk_nope:0:x"
                _ = try await harness.client.unary(KeelRPC.gatewayDecideExitSignal, unknown, as: ExitSignalRecord.self, metadata: live)
            }
        }
    }

    /// Off (the default): the signal is recorded and audited, nothing is traded. The planner's
    /// EvaluateRisk: idempotent, stored, bad input named, events on its Watch.
    @Test func offRecordsAndAuditsOnlyAndThePlannerSideHolds() async throws {
        try await withGateway(config: Self.config(ExitPolicy())) { harness in
            let planner = Self.planner(harness)
            defer { Task { await planner.close() } }
            let key = [MetadataKey.idempotencyKey: "risk-1"]
            let first = try await planner.unary(KeelRPC.plannerEvaluateRisk, Self.concentration(), as: Keel_Planner_V1_EvaluateRiskResponse.self, metadata: key)
            let replay = try await planner.unary(KeelRPC.plannerEvaluateRisk, Self.concentration(), as: Keel_Planner_V1_EvaluateRiskResponse.self, metadata: key)
            #expect(replay.replayed)
            #expect(replay.evaluationID == first.evaluationID)
            #expect(replay.signals == first.signals)
            await expectStatus(.alreadyExists, reason: "E_IDEMPOTENCY_KEY_REUSED", field: "idempotency-key") {
                _ = try await planner.unary(KeelRPC.plannerEvaluateRisk, Self.concentration(fraction: "0.25"), as: Keel_Planner_V1_EvaluateRiskResponse.self, metadata: key)
            }
            var bad = Self.concentration()
            bad.snapshots[0].weights = ["0.6"]
            await expectStatus(.invalidArgument, reason: "E_SHAPE_MISMATCH", field: "snapshots[0].weights") {
                _ = try await planner.unary(KeelRPC.plannerEvaluateRisk, bad, as: Keel_Planner_V1_EvaluateRiskResponse.self)
            }
            let ignored = try await Self.awaitSignal(harness, .ignored)
            #expect(ignored.signal.signalID == first.signals.first?.signalID)
            #expect(ignored.signal.metrics["symbol"] == "BTC")
            let orders = try await harness.client.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest(), as: Keel_Gateway_V1_ListOrdersResponse.self).orders
            #expect(orders.isEmpty)
            #expect(try await Self.audit(harness).map(\.type) == ["EXIT_SIGNAL"])
            #expect(try await Self.positions(harness) == ["BTC 2", "ETH -10"])

            var events: [Keel_Planner_V1_PlannerEvent] = []
            let stream = planner.serverStream(KeelRPC.plannerWatch, Keel_Planner_V1_WatchRequest.with { $0.topics = ["exit_signal_emitted"] },
                                              as: Keel_Planner_V1_PlannerEvent.self, timeout: .seconds(20))
            for try await event in stream {
                events.append(event)
                break
            }
            stream.cancel()
            #expect(events.map(\.eventID) == [first.signals[0].signalID])
            #expect(events.first?.exitSignal == first.signals[0])
            #expect(events.first?.intent == ["source": "test"])
        }
    }
}

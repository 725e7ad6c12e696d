import Contracts
import Execution
import Foundation
@testable import GatewayService
import KeelTestSupport
import KeelWire
import Testing

/// The gateway's pre-trade limits on Execute: a violating submission is refused whole with
/// E_RISK_LIMIT and its figures, before anything is written or sent.
@Suite struct RiskLimitTests {
    static func config(risk: [String: Any]) throws -> GatewayConfig {
        try GatewayConfig.parse(object: [
            "live_guard": ["enforce": false], "paper_broker": ["accounts": ["default": ["currency": "USDT", "cash": "100000"]]], "risk": risk,
        ])
    }

    /// The sample sells 0.2 and 0.3 BTC at 60,000 (12,000 and 18,000).
    @Test func anOrderOverItsNotionalRefusesTheSubmissionAndWritesNothing() async throws {
        try await withGateway(config: try Self.config(risk: ["accounts": ["*": ["max_order_notional": "17999.99"]]])) { harness in
            do {
                _ = try await harness.client.unary(KeelRPC.gatewayExecute, Samples.perStrategy(submit: true), as: ExecuteResponse.self, metadata: ["idempotency-key": "risk-1"])
                Issue.record("expected E_RISK_LIMIT")
            } catch let error as RPCError {
                #expect(error.code == .failedPrecondition && error.reason == "E_RISK_LIMIT")
                #expect(error.metadata.filter { $0.key != "field" } == ["limit": "max_order_notional", "value": "18000", "allowed": "17999.99", "venue": "binance", "symbol": "BTCUSDT"])
            }
            await harness.gateway.dispatcher.idle()
            #expect(try await harness.commitLog().isEmpty)
            let orders = try await harness.client.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest(), as: Keel_Gateway_V1_ListOrdersResponse.self)
            #expect(orders.orders.isEmpty)
            #expect(try await harness.gateway.store.execution(forKey: "risk-1") == nil)
            #expect(try await harness.gateway.dispatcher.broker.positions(accountID: "default").isEmpty)
        }
    }

    /// At the limit the submission goes; the position limit counts the batch's first order for the second.
    @Test func atItsLimitTheSubmissionGoesAndTheBatchCountsItsOwnOrders() async throws {
        try await withGateway(config: try Self.config(risk: ["accounts": ["default": ["max_order_notional": "18000"]]])) { harness in
            let response = try await harness.client.unary(KeelRPC.gatewayExecute, Samples.perStrategy(submit: true), as: ExecuteResponse.self)
            #expect(response.submitted)
        }
        try await withGateway(config: try Self.config(risk: ["accounts": ["*": ["max_position_notional": ["BTCUSDT": "29999.99"]]]])) { harness in
            do {
                _ = try await harness.client.unary(KeelRPC.gatewayExecute, Samples.perStrategy(submit: true), as: ExecuteResponse.self)
                Issue.record("expected E_RISK_LIMIT")
            } catch let error as RPCError {
                #expect(error.reason == "E_RISK_LIMIT" && error.metadata["limit"] == "max_position_notional" && error.metadata["value"] == "30000")
            }
            #expect(try await harness.commitLog().isEmpty)
        }
    }

    /// A preview is not checked (nothing is placed); an account without limits is not either.
    @Test func previewsAndAccountsWithoutLimitsAreNotChecked() async throws {
        try await withGateway(config: try Self.config(risk: ["accounts": ["other": ["max_order_notional": "1"]]])) { harness in
            let response = try await harness.client.unary(KeelRPC.gatewayExecute, Samples.perStrategy(submit: true), as: ExecuteResponse.self)
            #expect(response.submitted)
        }
        try await withGateway(config: try Self.config(risk: ["accounts": ["*": ["max_order_notional": "1"]]])) { harness in
            let preview = try await harness.client.unary(KeelRPC.gatewayExecute, Samples.perStrategy(submit: false), as: ExecuteResponse.self)
            #expect(!preview.submitted && preview.ordersPerStrategy.count == 2)
        }
    }

    /// What the gateway does not enforce yet is refused at start, naming the path, rather than
    /// silently not applied.
    @Test(arguments: [
        (#"{"on_violation": "drop_order"}"#, "risk.on_violation"),
        (#"{"accounts": {"*": {"max_orders_per_minute": 60}}}"#, "risk.accounts.*.max_orders_per_minute"),
        (#"{"accounts": {"a": {"max_daily_notional": "100"}}}"#, "risk.accounts.a.max_daily_notional"),
        (#"{"acounts": {}}"#, "risk.acounts"),
    ])
    func limitsNotEnforcedYetAreRefusedAtStart(json: String, path: String) throws {
        let document = try JSONSerialization.jsonObject(with: Data(json.utf8))
        #expect {
            try GatewayConfig.parse(object: ["risk": document])
        } throws: { error in
            (error as? GatewayConfig.Invalid)?.path == path
        }
    }
}

import Contracts
import ExactNumbers
import Execution
import Foundation
import GRDB
import KeelTestSupport
import KeelWire
import Logging
import Synchronization
import Testing
import Venues
@testable import GatewayService

/// A broker that rejects CLOSE legs and fills everything else (to drive the flip rule).
final class RejectingCloseBroker: PaperBrokerWrapper {
    let paper: PaperBroker
    init(_ paper: PaperBroker) { self.paper = paper }
    func hasAccount(_ accountID: String) async throws -> Bool { true }
    func submit(_ order: VenueOrder, accountID: String) async throws -> BrokerOutcome {
        if order.leg == .close { return .rejected(VenueRejection(kind: .other, httpStatus: 0, code: 0, message: "test: close rejected")) }
        return try await paper.submit(order, accountID: accountID)
    }
}

/// A broker whose first answer to each order is unknown (the request left, no answer came back),
/// and which takes the order only when it is sent again.
final class FirstAnswerLostBroker: PaperBrokerWrapper {
    let paper: PaperBroker
    let sends = Mutex<[String: Int]>([:])
    init(_ paper: PaperBroker) { self.paper = paper }
    func submit(_ order: VenueOrder, accountID: String) async throws -> BrokerOutcome {
        let count = sends.withLock { sends in
            sends[order.clientOrderID, default: 0] += 1
            return sends[order.clientOrderID]!
        }
        return count == 1 ? .unknown("test: the answer was lost") : try await paper.submit(order, accountID: accountID)
    }
}

@Suite struct DispatchAndBrokerTests {
    static func store() throws -> GatewayStore {
        try GatewayStore(path: NSTemporaryDirectory() + "keel-dispatch-\(UUID().uuidString)/gateway.sqlite")
    }

    /// The paper broker's tables are its own: the gateway's migrations make none of them, the
    /// paper broker's migration makes them (and finds them already there in an older store).
    @Test func thePaperBrokersTablesAreItsOwn() throws {
        let store = try Self.store()
        let tables = { try store.pool.read { db in try ["paper_accounts", "paper_positions", "paper_orders"].filter { try db.tableExists($0) } } }
        #expect(try tables().isEmpty)
        _ = try PaperBroker(store: store, settings: PaperBrokerSettings())
        #expect(try tables() == ["paper_accounts", "paper_positions", "paper_orders"])
        _ = try PaperBroker(store: store, settings: PaperBrokerSettings())
        #expect(try tables().count == 3)
    }

    /// A paper account's opening positions (a long and a short) are there on first open, count in
    /// its equity, and are not laid again over what trading made of them on a later start.
    @Test func openingPositionsOfAPaperAccount() async throws {
        let config = try GatewayConfig.parse(object: ["paper_broker": ["accounts": ["default": [
            "currency": "USDT", "cash": "1000",
            "positions": [["venue": "x", "symbol": "BTC", "qty": "2", "mark": "100"], ["venue": "y", "symbol": "ETH", "qty": "-3", "avg_price": "12", "mark": "10"]],
        ]]]])
        let store = try Self.store()
        let broker = try PaperBroker(store: store, settings: config.paperBroker)
        #expect(try await broker.positions(accountID: "default").map { "\($0.venue) \($0.symbol) \($0.qty) \($0.avgPrice)" } == ["x BTC 2 100", "y ETH -3 12"])
        #expect(try await broker.balance(accountID: "default").equity == "1170")
        _ = try await broker.submit(Self.order(.open, side: .sell, quantity: "2"), accountID: "default").accepted()
        let reopened = try PaperBroker(store: store, settings: config.paperBroker)
        #expect(try await reopened.positions(accountID: "default").map(\.symbol) == ["ETH"])
        #expect(throws: GatewayConfig.Invalid.self) {
            try GatewayConfig.parse(object: ["paper_broker": ["accounts": ["default": ["positions": [["symbol": "BTC", "qty": "1e3", "mark": "1"]]]]]])
        }
    }

    static func order(_ leg: Keel_Gateway_V1_OrderLeg, side: Keel_Gateway_V1_OrderSide, quantity: String, mark: String = "100") -> VenueOrder {
        .with {
            $0.worldID = "w"
            $0.venue = "x"
            $0.symbol = "BTC"
            $0.side = side
            $0.quantity = quantity
            $0.leg = leg
            $0.reduceOnly = leg == .close
            $0.referenceMark = mark
        }
    }

    /// One dispatched batch written through the store, as Execute writes it.
    static func submit(_ orders: [VenueOrder], to store: GatewayStore) async throws {
        var response = ExecuteResponse()
        response.executionScope = .perWorld
        response.ordersPerWorld = [.with { $0.worldID = "w"; $0.orders = orders }]
        let batches = BatchAssembly.batches(of: response, batchID: BatchAssembly.randomBatchID(world:))
        try await store.write(.init(
            executionID: "exe_test\(UUID().uuidString)", createdAtMs: 1, planID: "pln_test", idempotencyKey: nil, requestDigest: "",
            response: response, accountID: "default",
            batches: batches.map { ($0, CommitLogRecord(), AuditEvent()) }))
    }

    @Test func anOpenLegIsCancelledWhenItsCloseLegIsRejected() async throws {
        let store = try Self.store()
        let paper = try PaperBroker(store: store, settings: PaperBrokerSettings())
        let dispatcher = Dispatcher(store: store, broker: RejectingCloseBroker(paper), logger: Logger(label: "test"))
        let running = Task { await dispatcher.run() }
        try await Self.submit([Self.order(.close, side: .buy, quantity: "1"), Self.order(.open, side: .buy, quantity: "2")], to: store)
        dispatcher.kick()
        await dispatcher.idle()
        let records = try await store.orderRecords(batchID: "", worldID: "", status: .unspecified, afterSeq: 0, limit: 10).map { $0.record }
        #expect(records.map(\.status) == [.rejected, .cancelled])
        #expect(records.last?.reason == "close leg rejected")
        #expect(try await paper.positions(accountID: "default").isEmpty)
        dispatcher.finish()
        await running.value
    }

    /// An unknown outcome records nothing: the order stays SENT, and the next pass sends it again
    /// under the same client order id, which the broker fills once.
    @Test func anUnknownOutcomeLeavesTheOrderSentUntilItIsSentAgain() async throws {
        let store = try Self.store()
        let paper = try PaperBroker(store: store, settings: PaperBrokerSettings())
        let broker = FirstAnswerLostBroker(paper)
        let dispatcher = Dispatcher(store: store, broker: broker, logger: Logger(label: "test"))
        let running = Task { await dispatcher.run() }
        try await Self.submit([Self.order(.single, side: .buy, quantity: "1")], to: store)
        dispatcher.kick()
        await dispatcher.idle()
        var records = try await store.orderRecords(batchID: "", worldID: "", status: .unspecified, afterSeq: 0, limit: 10).map { $0.record }
        #expect(records.map(\.status) == [.sent])
        #expect(try await paper.positions(accountID: "default").isEmpty)
        dispatcher.kick()
        await dispatcher.idle()
        records = try await store.orderRecords(batchID: "", worldID: "", status: .unspecified, afterSeq: 0, limit: 10).map { $0.record }
        #expect(records.map(\.status) == [.filled])
        #expect(broker.sends.withLock { Array($0.values) } == [2])
        #expect(try await paper.positions(accountID: "default").map(\.qty) == ["1"])
        dispatcher.finish()
        await running.value
    }

    @Test func aFlipClosesThenOpensAtThePaperBroker() async throws {
        let store = try Self.store()
        let paper = try PaperBroker(store: store, settings: PaperBrokerSettings())
        let dispatcher = Dispatcher(store: store, broker: paper, logger: Logger(label: "test"))
        let running = Task { await dispatcher.run() }
        try await Self.submit([Self.order(.single, side: .sell, quantity: "1")], to: store)
        try await Self.submit([Self.order(.close, side: .buy, quantity: "1"), Self.order(.open, side: .buy, quantity: "2", mark: "110")], to: store)
        dispatcher.kick()
        await dispatcher.idle()
        let positions = try await paper.positions(accountID: "default")
        #expect(positions.map(\.qty) == ["2"])
        #expect(positions.first?.avgPrice == "110")
        let balance = try await paper.balance(accountID: "default")
        // +100 (sell 1 @ 100) −100 (buy 1 @ 100) −220 (buy 2 @ 110)
        #expect(balance.cash == "-220")
        #expect(balance.equity == "0")
        dispatcher.finish()
        await running.value
    }

    @Test func paperFillsFollowSlippagePartialFillsAndRejects() {
        var settings = PaperBrokerSettings()
        settings.slippageBps = DecimalGrammar.parse("10")!
        let buy = PaperBroker.fill(Self.order(.single, side: .buy, quantity: "2"), settings: settings)
        #expect(buy.status == .filled && buy.price?.description == "100.1" && buy.filledQuantity.description == "2")
        let sell = PaperBroker.fill(Self.order(.single, side: .sell, quantity: "2"), settings: settings)
        #expect(sell.price?.description == "99.9")
        settings.partialFillRatio = DecimalGrammar.parse("0.25")!
        let partial = PaperBroker.fill(Self.order(.single, side: .buy, quantity: "2"), settings: settings)
        #expect(partial.status == .partiallyFilled && partial.filledQuantity.description == "1.5")
        settings.rejectRatio = .one
        #expect(PaperBroker.fill(Self.order(.single, side: .buy, quantity: "2"), settings: settings).status == .rejected)
        var noMark = Self.order(.single, side: .buy, quantity: "2")
        noMark.referenceMark = ""
        #expect(PaperBroker.fill(noMark, settings: PaperBrokerSettings()).reason == "no reference mark to fill at")
    }

    @Test func readRPCsValidateLimitPageTokenAndAccount() async throws {
        try await withGateway { harness in
            do {
                _ = try await harness.client.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest.with { $0.limit = 1_001 }, as: Keel_Gateway_V1_ListOrdersResponse.self)
                Issue.record("expected E_OUT_OF_RANGE")
            } catch let error as RPCError {
                #expect(error.reason == "E_OUT_OF_RANGE" && error.field == "limit")
            }
            do {
                _ = try await harness.client.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest.with { $0.pageToken = "not-ours" }, as: Keel_Gateway_V1_ListOrdersResponse.self)
                Issue.record("expected E_INVALID_PAGE_TOKEN")
            } catch let error as RPCError {
                #expect(error.reason == "E_INVALID_PAGE_TOKEN" && error.field == "page_token")
            }
            do {
                _ = try await harness.client.unary(KeelRPC.gatewayGetBalance, Keel_Gateway_V1_GetBalanceRequest.with { $0.accountID = "ghost" }, as: Keel_Gateway_V1_GetBalanceResponse.self)
                Issue.record("expected E_ACCOUNT_NOT_FOUND")
            } catch let error as RPCError {
                #expect(error.code == .notFound && error.reason == "E_ACCOUNT_NOT_FOUND" && error.field == "account_id")
            }
        }
    }
}

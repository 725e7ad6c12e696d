import Contracts
import ExactNumbers
import Execution
import Foundation
@testable import GatewayService
import KeelTestSupport
import Testing
import Venues

/// The paper broker's resting orders (paced schedules need them): quotes from a path, matching
/// after the fill delay at the limit, partial fills in lots, amend in place, cancel, orderable cash
/// net of working buys, market orders, and deduplication by client order id.
@Suite struct PaperLimitOrderTests {
    static let t0: Int64 = 1_796_169_600_000

    static func broker(_ clock: TestClock, partial: String = "0", fillDelayMs: Int = 1_000) throws -> PaperBroker {
        var settings = PaperBrokerSettings()
        settings.fillDelayMs = fillDelayMs
        settings.partialFillRatio = DecimalGrammar.parse(partial)!
        // 100 until t0 + 10 s, then 98, then 103.
        settings.quotes = ["x:A": .steps(prices: [ExactDecimal(100), ExactDecimal(98), ExactDecimal(103)], stepMs: 10_000, originMs: t0)]
        settings.accounts = ["acct": PaperAccount(currency: "KRW", cash: ExactDecimal(10_000), positions: [
            PaperPosition(venue: "x", symbol: "A", qty: ExactDecimal(50), avgPrice: ExactDecimal(90), mark: ExactDecimal(100)),
            PaperPosition(venue: "x", symbol: "M", qty: ExactDecimal(5), avgPrice: ExactDecimal(10), mark: ExactDecimal(12)),
        ])]
        let store = try GatewayStore(path: NSTemporaryDirectory() + "keel-paper-limit-\(UUID().uuidString)/gateway.sqlite")
        return try PaperBroker(store: store, settings: settings, clock: { clock.now() })
    }

    static func order(_ id: String, _ side: Keel_Gateway_V1_OrderSide, _ qty: String, symbol: String = "A") -> VenueOrder {
        .with {
            $0.clientOrderID = id
            $0.venue = "x"
            $0.symbol = symbol
            $0.side = side
            $0.quantity = qty
        }
    }

    @Test func aRestingBuyWaitsForTheQuoteAndTheDelayThenFillsAtItsLimit() async throws {
        let clock = TestClock(Self.t0)
        let broker = try Self.broker(clock)
        #expect(try await broker.quote(venue: "x", symbol: "A", accountID: "acct") == ExactDecimal(100))
        // A symbol without a path is quoted at the account's mark.
        #expect(try await broker.quote(venue: "x", symbol: "M", accountID: "acct") == ExactDecimal(12))
        #expect(try await broker.quote(venue: "x", symbol: "Z", accountID: "acct") == nil)

        let placed = try await broker.place(Self.order("b1", .buy, "20"), limit: ExactDecimal(99), lot: .one, accountID: "acct").accepted()
        #expect(placed.status == .acked)
        #expect(!placed.venueOrderID.isEmpty)
        // Working buys hold their cash: 10,000 − 20 × 99.
        #expect(try await broker.orderableCash(accountID: "acct") == ExactDecimal(8_020))
        clock.set(Self.t0 + 5_000)
        #expect(try await broker.order(clientOrderID: "b1")?.filledQuantity == .zero)  // 100 > 99
        clock.set(Self.t0 + 10_000)
        let filled = try #require(try await broker.order(clientOrderID: "b1"))
        #expect(filled.status == .filled)
        #expect(filled.filledNotional == ExactDecimal(1_980))  // at the limit, not the better quote
        #expect(try await broker.holding(accountID: "acct", venue: "x", symbol: "A") == ExactDecimal(70))
        #expect(try await broker.orderableCash(accountID: "acct") == ExactDecimal(8_020))
        // The same client order id again: the order as it stands, nothing filled twice.
        let again = try await broker.place(Self.order("b1", .buy, "20"), limit: ExactDecimal(99), lot: .one, accountID: "acct").accepted()
        #expect(again == filled)
        #expect(try await broker.holding(accountID: "acct", venue: "x", symbol: "A") == ExactDecimal(70))
        #expect(try await broker.order(clientOrderID: "nope") == nil)
    }

    @Test func partialFillsAmendAndCancel() async throws {
        let clock = TestClock(Self.t0)
        let broker = try Self.broker(clock, partial: "0.5", fillDelayMs: 0)
        // A sell at 100 matches at once; half of the 9 (in whole lots) fills per match.
        let first = try await broker.place(Self.order("s1", .sell, "9"), limit: ExactDecimal(100), lot: .one, accountID: "acct").accepted()
        #expect(first.status == .partiallyFilled)
        #expect(first.filledQuantity == ExactDecimal(4))
        #expect(first.remaining == ExactDecimal(5))
        // The market falls to 98: the sell at 100 no longer matches, whoever looks.
        clock.set(Self.t0 + 10_000)
        #expect(try await broker.order(clientOrderID: "s1")?.filledQuantity == ExactDecimal(4))
        // Amended to 98 for a remainder of 4: it matches again, half of it.
        let amended = try await broker.amend(clientOrderID: "s1", remaining: ExactDecimal(4), limit: ExactDecimal(98)).accepted()
        #expect(amended.quantity == ExactDecimal(8))
        #expect(amended.limit == ExactDecimal(98))
        #expect(amended.filledQuantity == ExactDecimal(6))
        #expect(amended.filledNotional == ExactDecimal(4 * 100 + 2 * 98))
        let cancelled = try await broker.cancel(clientOrderID: "s1").accepted()
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.remaining == .zero)
        #expect(try await broker.holding(accountID: "acct", venue: "x", symbol: "A") == ExactDecimal(44))
        // An ended order is not amended.
        let late = try await broker.amend(clientOrderID: "s1", remaining: ExactDecimal(2), limit: ExactDecimal(97)).accepted()
        #expect(late == cancelled)
    }

    @Test func marketOrdersAndRefusals() async throws {
        let clock = TestClock(Self.t0 + 20_000)
        let broker = try Self.broker(clock)
        let market = try await broker.place(Self.order("m1", .buy, "3"), limit: nil, lot: .one, accountID: "acct").accepted()
        #expect(market.status == .filled)
        #expect(market.filledNotional == ExactDecimal(309))
        let noQuote = try await broker.place(Self.order("m2", .buy, "3", symbol: "Z"), limit: nil, lot: .one, accountID: "acct")
        #expect(noQuote.rejection?.message == "no quote to fill a market order at")
        let zero = try await broker.place(Self.order("z", .sell, "0"), limit: ExactDecimal(100), lot: .one, accountID: "acct")
        #expect(zero.rejection?.message == "quantity is not a positive decimal")
        // An order it never saw cannot be amended or cancelled: no such order.
        #expect(try await broker.cancel(clientOrderID: "nope").rejection?.kind == .noSuchOrder)
        #expect(try await broker.amend(clientOrderID: "nope", remaining: .one, limit: .one).rejection?.kind == .noSuchOrder)
    }
}

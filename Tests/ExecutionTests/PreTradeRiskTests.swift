import Contracts
import Foundation
import ExactNumbers
import Planning
import Testing
@testable import Execution

@Suite struct PreTradeRiskTests {
    static func d(_ text: String) -> ExactDecimal { DecimalGrammar.parse(text)! }

    static func order(_ qty: String, at price: String? = "100", limit: String? = nil, symbol: String = "BTC") -> RiskOrder {
        RiskOrder(venue: "x", symbol: symbol, quantity: d(qty), limitPrice: limit.map(d), referencePrice: price.map(d))
    }

    static func first(_ orders: [RiskOrder], _ limits: RiskLimits, _ snapshot: AccountExposure = AccountExposure()) -> RiskViolation? {
        PreTradeRisk.check(orders, exposure: snapshot, limits: limits).compactMap { $0 }.first
    }

    /// Each limit at its value passes, and the smallest excess the grammar can write (1e-30) is over it.
    @Test func eachLimitHoldsAtItsValueAndRefusesAnyExcess() {
        var limits = RiskLimits()
        limits.maxOrderNotional = Self.d("1000")
        #expect(Self.first([Self.order("10")], limits) == nil)
        #expect(Self.first([Self.order("10.000000000000000000000000000001")], limits)?.limit == "max_order_notional")
        #expect(Self.first([Self.order("-10")], limits) == nil)  // a sell counts its magnitude
        #expect(Self.first([Self.order("-10.01")], limits) == RiskViolation(limit: "max_order_notional", value: Self.d("1001"), allowed: Self.d("1000"), venue: "x", symbol: "BTC"))

        limits = RiskLimits()
        limits.maxOrderQuantity = ["BTC": Self.d("2"), "*": Self.d("5")]
        #expect(Self.first([Self.order("2")], limits) == nil)
        #expect(Self.first([Self.order("2.000000000000000000000000000001")], limits)?.limit == "max_order_qty")
        #expect(Self.first([Self.order("5", symbol: "ETH")], limits) == nil)
        #expect(Self.first([Self.order("5.1", symbol: "ETH")], limits)?.allowed == Self.d("5"))

        limits = RiskLimits()
        limits.priceCollarBps = Self.d("50")
        #expect(Self.first([Self.order("1", at: "100", limit: "100.5")], limits) == nil)
        #expect(Self.first([Self.order("1", at: "100", limit: "99.5")], limits) == nil)
        #expect(Self.first([Self.order("1", at: "100", limit: "100.500000000000000000000000000001")], limits)?.limit == "price_collar_bps")
        #expect(Self.first([Self.order("1", at: "100")], limits) == nil)  // a market order has no limit price to collar

        limits = RiskLimits()
        limits.maxPositionNotional = ["*": Self.d("500")]
        #expect(Self.first([Self.order("5")], limits) == nil)
        #expect(Self.first([Self.order("5.000000000000000000000000000001")], limits)?.limit == "max_position_notional")

        limits = RiskLimits()
        limits.maxOrdersPerMinute = 2
        #expect(Self.first([Self.order("1"), Self.order("1")], limits) == nil)
        #expect(Self.first([Self.order("1")], limits, AccountExposure(ordersInLastMinute: 2)) == RiskViolation(limit: "max_orders_per_minute", value: Self.d("3"), allowed: Self.d("2"), venue: "x", symbol: "BTC"))

        limits = RiskLimits()
        limits.maxDailyNotional = Self.d("1000")
        #expect(Self.first([Self.order("4"), Self.order("-6")], limits) == nil)
        #expect(Self.first([Self.order("1")], limits, AccountExposure(notionalToday: Self.d("900.000000000000000000000000000001")))?.limit == "max_daily_notional")
    }

    /// The orders of a batch count as placed for the ones after them: positions, gross, the
    /// minute's count and the day's notional.
    @Test func aBatchCountsItsOwnOrders() {
        var limits = RiskLimits()
        limits.maxPositionNotional = ["*": Self.d("1000")]
        let results = PreTradeRisk.check([Self.order("6"), Self.order("4"), Self.order("0.1")], exposure: AccountExposure(), limits: limits)
        #expect(results.map { $0?.limit } == [nil, nil, "max_position_notional"])
        limits = RiskLimits()
        limits.maxGrossNotional = Self.d("1000")
        let snapshot = AccountExposure(holdings: [SymbolKey(venue: "x", symbol: "ETH"): .init(quantity: Self.d("-5"), mark: Self.d("100"))])
        // −500 held elsewhere: 500 more of BTC reaches the limit, and the next unit passes it.
        #expect(PreTradeRisk.check([Self.order("5"), Self.order("0.01")], exposure: snapshot, limits: limits).map { $0?.limit } == [nil, "max_gross_notional"])
        limits = RiskLimits()
        limits.maxOrdersPerMinute = 2
        #expect(PreTradeRisk.check([Self.order("1"), Self.order("1"), Self.order("1")], exposure: AccountExposure(), limits: limits).map { $0?.limit } == [nil, nil, "max_orders_per_minute"])
    }

    /// An order that only shrinks a position skips the position and gross limits, never the others;
    /// one that crosses zero is not a shrink.
    @Test func shrinkingOrdersSkipOnlyThePositionLimits() {
        var limits = RiskLimits()
        limits.maxPositionNotional = ["*": Self.d("100")]
        limits.maxGrossNotional = Self.d("100")
        let held = AccountExposure(holdings: [SymbolKey(venue: "x", symbol: "BTC"): .init(quantity: Self.d("10"), mark: Self.d("100"))])
        #expect(Self.first([Self.order("-4")], limits, held) == nil)
        #expect(Self.first([Self.order("-10")], limits, held) == nil)
        #expect(Self.first([Self.order("-12")], limits, held)?.limit == "max_position_notional")
        #expect(Self.first([Self.order("1")], limits, held)?.limit == "max_position_notional")
        limits.maxOrderQuantity = ["*": Self.d("3")]
        #expect(Self.first([Self.order("-4")], limits, held)?.limit == "max_order_qty")
    }

    /// A notional limit with no price to count at refuses the order rather than passing it.
    @Test func noPriceIsNoPass() {
        var limits = RiskLimits()
        limits.maxOrderNotional = Self.d("1000")
        #expect(Self.first([Self.order("1", at: nil)], limits)?.limit == "max_order_notional")
        limits = RiskLimits()
        limits.maxPositionNotional = ["*": Self.d("1000")]
        #expect(Self.first([Self.order("1", at: nil)], limits)?.limit == "max_position_notional")
        #expect(Self.first([Self.order("1", at: nil)], RiskLimits()) == nil)
        // A price or mark of zero is no price, not a notional of zero.
        limits = RiskLimits()
        limits.maxOrderNotional = Self.d("1000")
        #expect(Self.first([Self.order("1", at: "0")], limits) == RiskViolation(limit: "max_order_notional", value: .zero, allowed: Self.d("1000"), venue: "x", symbol: "BTC"))
        limits = RiskLimits()
        limits.maxPositionNotional = ["*": Self.d("1000")]
        let unvalued = AccountExposure(holdings: [SymbolKey(venue: "x", symbol: "BTC"): .init(quantity: Self.d("1"), mark: .zero)])
        #expect(Self.first([Self.order("1", at: "0")], limits, unvalued)?.limit == "max_position_notional")
        #expect(Self.first([Self.order("1", at: "100")], limits, unvalued) == nil)  // the order's own price values it
    }

    /// Per-symbol keys are compared without case, as venue instruments are.
    @Test func perSymbolLimitsIgnoreCase() {
        var limits = RiskLimits()
        limits.maxOrderQuantity = ["btc": Self.d("1"), "*": Self.d("100")]
        #expect(Self.first([Self.order("2")], limits)?.allowed == Self.d("1"))
    }

    @Test func theRiskSectionIsReadWithItsPaths() throws {
        let policy = try RiskPolicy.parse(ConfigReader(path: "risk"), [
            "on_violation": "drop_order",
            "accounts": [
                "*": ["max_order_notional": "100000", "max_order_qty": ["BTC": "2", "*": "1000"]],
                "acct": ["price_collar_bps": "25", "max_orders_per_minute": 30, "max_daily_notional": "1000000", "max_gross_notional": "5000000",
                         "max_position_notional": ["*": "250000"]],
            ],
        ] as [String: Any])
        #expect(policy.onViolation == .dropOrder)
        #expect(policy.limits(for: "other")?.maxOrderQuantity == ["BTC": Self.d("2"), "*": Self.d("1000")])
        #expect(policy.limits(for: "acct")?.maxOrdersPerMinute == 30 && policy.limits(for: "acct")?.maxDailyNotional == Self.d("1000000"))
        #expect(policy.limits(for: "acct")?.maxOrderNotional == nil)  // an account's own entry replaces `*`
        #expect(RiskPolicy().limits(for: "any") == nil)
    }

    @Test(arguments: [
        (#"{"on_violation": "ignore"}"#, "risk.on_violation"),
        (#"{"acounts": {}}"#, "risk.acounts"),
        (#"{"accounts": {"*": {"max_order_notinal": "1"}}}"#, "risk.accounts.*.max_order_notinal"),
        (#"{"accounts": {"*": {"max_order_notional": 1000}}}"#, "risk.accounts.*.max_order_notional"),
        (#"{"accounts": {"*": {"max_order_notional": "-1"}}}"#, "risk.accounts.*.max_order_notional"),
        (#"{"accounts": {"*": {"max_order_qty": {"BTC": "lots"}}}}"#, "risk.accounts.*.max_order_qty.BTC"),
        (#"{"accounts": {"*": {"max_orders_per_minute": "30"}}}"#, "risk.accounts.*.max_orders_per_minute"),
    ])
    func aBadRiskSectionNamesItsPath(json: String, path: String) throws {
        let document = try ConfigReader.document(Data(json.utf8))
        #expect {
            try RiskPolicy.parse(ConfigReader(path: "risk"), document)
        } throws: { error in
            (error as? ConfigInvalid)?.path == path
        }
    }
}

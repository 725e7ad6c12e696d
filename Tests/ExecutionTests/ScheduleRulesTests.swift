import Contracts
import ExactNumbers
import Execution
import Foundation
import Testing

/// The schedule rules that the gateway's schedules will use, and the paper quote paths.
@Suite struct ScheduleRulesTests {
    static func d(_ text: String) -> ExactDecimal { DecimalGrammar.parse(text)! }
    // 2026-12-02 00:00 UTC = 09:00 in Asia/Seoul.
    static let morning: Int64 = 1_796_169_600_000

    @Test func limitPricesRoundTowardTheMarketableSide() {
        #expect(PacedExecution.limitPrice(quote: Self.d("10007"), tick: Self.d("5"), sell: true) == Self.d("10005"))
        #expect(PacedExecution.limitPrice(quote: Self.d("10007"), tick: Self.d("5"), sell: false) == Self.d("10010"))
        #expect(PacedExecution.limitPrice(quote: Self.d("10005"), tick: Self.d("5"), sell: false) == Self.d("10005"))
        #expect(PacedExecution.limitPrice(quote: Self.d("1.2345"), tick: nil, sell: false) == Self.d("1.2345"))
    }

    @Test func clientOrderIDsAreTheDocumentedDigest() {
        let id = PacedExecution.clientOrderID(scheduleID: "sch_x", sell: true, symbol: "A", round: 3)
        #expect(id == "k" + SHA256.hex("sch_x|S|A|3|0").prefix(32))
        #expect(id.count == 33)
        #expect(id != PacedExecution.clientOrderID(scheduleID: "sch_x", sell: true, symbol: "A", round: 3, replacement: 1))
    }

    @Test func buyQuantitiesStayInsideTheBudget() {
        // 166,666 at 50,000 → 3 shares; cash 100,000 → 2.
        #expect(PacedExecution.buyQuantity(budget: Self.d("166666"), orderableCash: Self.d("1000000"), limit: Self.d("50000"), lot: .one) == Self.d("3"))
        #expect(PacedExecution.buyQuantity(budget: Self.d("166666"), orderableCash: Self.d("100000"), limit: Self.d("50000"), lot: .one) == Self.d("2"))
        #expect(PacedExecution.buyQuantity(budget: Self.d("-5"), orderableCash: Self.d("100000"), limit: Self.d("50000"), lot: .one) == .zero)
        // A buy of 3 @ 50,000 (all of a 150,000 budget) amended to 50,500 shrinks to 2.
        #expect(PacedExecution.amendedBuyQuantity(remainder: Self.d("3"), oldLimit: Self.d("50000"), newLimit: Self.d("50500"), totalAmount: Self.d("150000"),
                                                  committedAmount: Self.d("150000"), orderableCash: .zero, lot: .one) == Self.d("2"))
        // Moved down, it keeps its remainder.
        #expect(PacedExecution.amendedBuyQuantity(remainder: Self.d("3"), oldLimit: Self.d("50000"), newLimit: Self.d("49500"), totalAmount: Self.d("150000"),
                                                  committedAmount: Self.d("150000"), orderableCash: .zero, lot: .one) == Self.d("3"))
    }

    @Test func policyDefaultsAndInstants() throws {
        var policy = SchedulePolicy()
        policy.sellStart = "09:00"
        policy.buyStart = "10:00:30"
        let resolved = try PacedExecution.resolve(policy, sellEnabled: true, buyEnabled: true, nowMs: Self.morning)
        #expect(resolved.policy.timeZone == "Asia/Seoul")
        #expect(resolved.policy.tradingDate == "2026-12-02")
        #expect(resolved.policy.sessionEnd == "15:20")
        #expect(resolved.sellStartMs == Self.morning)
        #expect(resolved.buyStartMs == Self.morning + 3_630_000)
        #expect(resolved.sessionEndMs == Self.morning + (6 * 60 + 20) * 60_000)
        #expect(resolved.roundIntervalMs == 60_000 && resolved.pollIntervalMs == 180_000 && resolved.amendAfterMs == 600_000)
        #expect(resolved.cancelAtSessionEnd && !resolved.marketOrders)
    }

    @Test func policyErrorsNameTheField() {
        func failure(_ edit: (inout SchedulePolicy) -> Void, sells: Bool = true, buys: Bool = true) -> FieldError? {
            var policy = SchedulePolicy()
            policy.sellStart = "09:00"
            policy.buyStart = "10:00"
            edit(&policy)
            do {
                _ = try PacedExecution.resolve(policy, sellEnabled: sells, buyEnabled: buys, nowMs: Self.morning)
                return nil
            } catch {
                return error
            }
        }
        #expect(failure { $0.sellStart = "" }.map { [$0.reason, $0.field] } == ["E_MISSING_FIELD", "policy.sell_start"])
        #expect(failure({ $0.sellStart = "" }, sells: false) == nil)
        #expect(failure { $0.timeZone = "Mars/Olympus" }.map { [$0.reason, $0.field] } == ["E_INVALID_TIME", "policy.time_zone"])
        #expect(failure { $0.tradingDate = "2026-02-30" }.map { [$0.reason, $0.field] } == ["E_INVALID_TIME", "policy.trading_date"])
        #expect(failure { $0.buyStart = "9:00" }.map { [$0.reason, $0.field] } == ["E_INVALID_TIME", "policy.buy_start"])
        #expect(failure { $0.buyStart = "15:20" }.map { [$0.reason, $0.field] } == ["E_INVALID_TIME", "policy.buy_start"])
        #expect(failure { $0.roundIntervalS = 0 }.map { [$0.reason, $0.field] } == ["E_OUT_OF_RANGE", "policy.round_interval_s"])
        #expect(failure { $0.roundIntervalS = 86_401 }.map { [$0.reason, $0.field] } == ["E_OUT_OF_RANGE", "policy.round_interval_s"])
        #expect(failure { $0.amendAfterS = 0 }.map { [$0.reason, $0.field] } == ["E_OUT_OF_RANGE", "policy.amend_after_s"])
        #expect(failure { $0.orderStyle = .UNRECOGNIZED(9) }.map { [$0.reason, $0.field] } == ["E_UNKNOWN_ENUM", "policy.order_style"])
    }

    @Test func quotePaths() throws {
        let config = try GatewayConfig.parse(object: ["paper_broker": ["quotes": [
            "A": ["price": "100"],
            "krx:B": ["price": "10000", "tick": "10", "walk_seed": 7, "step_ms": 1000],
            "C": ["path": ["10", "11", "12"], "step_ms": 60000, "origin": "2026-12-02T00:00:00Z"],
        ]]])
        let a = try #require(config.paperBroker.quotePath(venue: "krx", symbol: "A"))
        #expect(a.price(atMs: Self.morning) == Self.d("100"))
        #expect(config.paperBroker.quotePath(venue: "other", symbol: "B") == nil)
        let b = try #require(config.paperBroker.quotePath(venue: "krx", symbol: "B"))
        #expect(b.price(atMs: Self.morning) == Self.d("10000"))
        var previous = b.price(atMs: Self.morning)
        for step in 1...50 {
            let price = b.price(atMs: Self.morning + Int64(step) * 1000)
            #expect((price - previous).magnitude == Self.d("10"), "one tick per step")
            #expect(price == b.price(atMs: Self.morning + Int64(step) * 1000 + 999), "the same within a step")
            previous = price
        }
        let c = try #require(config.paperBroker.quotePath(venue: "", symbol: "C"))
        #expect([-1, 0, 59_999, 60_000, 120_000, 10_000_000].map { c.price(atMs: Self.morning + Int64($0)).description } == ["10", "10", "10", "11", "12", "12"])
        #expect(throws: ConfigInvalid.self) { try GatewayConfig.parse(object: ["paper_broker": ["quotes": ["X": ["price": "0"]]]]) }
        #expect(throws: ConfigInvalid.self) { try GatewayConfig.parse(object: ["paper_broker": ["quotes": ["X": ["path": ["1"]]]]]) }
    }
}

/// How a paced round is sized when its task runs.
@Suite struct RoundSizingTests {
    static func d(_ text: String) -> ExactDecimal { DecimalGrammar.parse(text)! }

    @Test func aSellRoundIsItsPlanCappedByWhatIsSellable() {
        // 100 held, 30 still working in earlier sells: 70 sellable, the round's 10 goes whole.
        let plenty = PacedExecution.sellRound(plannedQty: Self.d("10"), isLast: false, totalQty: Self.d("33"), committed: Self.d("0"),
                                              holding: Self.d("100"), workingSells: Self.d("30"), lot: .one)
        #expect(plenty == RoundOrderSize(quantity: Self.d("10"), corrected: false, note: ""))
        // 4.5 held at lot 1: 4 sellable.
        let short = PacedExecution.sellRound(plannedQty: Self.d("10"), isLast: false, totalQty: Self.d("33"), committed: Self.d("0"),
                                             holding: Self.d("4.5"), workingSells: .zero, lot: .one)
        #expect(short.quantity == Self.d("4") && !short.corrected)
    }

    @Test func theLastSellRoundSellsWhatTheLegStillLacks() {
        // 33 in all, 27 filled or working: the last round sells 6, not its planned 3.
        let last = PacedExecution.sellRound(plannedQty: Self.d("3"), isLast: true, totalQty: Self.d("33"), committed: Self.d("27"),
                                            holding: Self.d("100"), workingSells: .zero, lot: .one)
        #expect(last.quantity == Self.d("6") && last.corrected)
        #expect(last.note == "last round 6 instead of 3 (total 33, committed 27, sellable 100)")
        let asPlanned = PacedExecution.sellRound(plannedQty: Self.d("3"), isLast: true, totalQty: Self.d("33"), committed: Self.d("30"),
                                                 holding: Self.d("100"), workingSells: .zero, lot: .one)
        #expect(asPlanned.quantity == Self.d("3") && !asPlanned.corrected)
    }

    @Test func aBuyRoundSpendsItsCumulativePlanLessWhatIsCommitted() {
        // Planned 1,000 so far, 400 committed: 600 at 70 buys 8 whole lots.
        let round = PacedExecution.buyRound(cumulativePlanned: Self.d("1000"), isLast: false, totalAmount: Self.d("3000"),
                                            committedAmount: Self.d("400"), plannedAmount: Self.d("500"), orderableCash: Self.d("10000"),
                                            limit: Self.d("70"), lot: .one)
        #expect(round == RoundOrderSize(quantity: Self.d("8"), corrected: false, note: ""))
        // Cash is the cap: 150 buys 2.
        let capped = PacedExecution.buyRound(cumulativePlanned: Self.d("1000"), isLast: false, totalAmount: Self.d("3000"),
                                             committedAmount: Self.d("400"), plannedAmount: Self.d("500"), orderableCash: Self.d("150"),
                                             limit: Self.d("70"), lot: .one)
        #expect(capped.quantity == Self.d("2"))
    }

    @Test func theLastBuyRoundSpendsTheLegsTotal() {
        let last = PacedExecution.buyRound(cumulativePlanned: Self.d("2900"), isLast: true, totalAmount: Self.d("3000"),
                                           committedAmount: Self.d("2300"), plannedAmount: Self.d("500"), orderableCash: Self.d("10000"),
                                           limit: Self.d("70"), lot: .one)
        #expect(last.quantity == Self.d("10") && last.corrected)
        #expect(last.note == "last round amount 700 instead of 500 (total 3000, committed 2300)")
    }
}

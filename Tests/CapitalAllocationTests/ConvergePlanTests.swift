import CapitalAllocation
import Contracts
import ExactNumbers
import KeelTestSupport
import Planning
import Testing

/// The converge request, planned by the real planner, moves each strategy's positions by the exact
/// quotient `allocated / old` of its capital — whatever the account's total, terminating or not.
@Suite struct ConvergePlanTests {
    static func decimal(_ text: String) -> ExactDecimal { DecimalGrammar.parse(text)! }

    /// What the exact scales imply: per symbol Σ qty × (allocated / old − 1), exact.
    static func exactChanges(_ changes: [ConvergePlan.CapitalChange], _ holdings: [ConvergePlan.Holding]) -> [String: Rational] {
        let scale = Dictionary(uniqueKeysWithValues: changes.map { ($0.strategyID, $0.allocatedCapital.rational / $0.oldCapital.rational) })
        var out: [String: Rational] = [:]
        for holding in holdings {
            out[holding.symbol, default: .zero] += holding.quantity.rational * (scale[holding.strategyID]! - .one)
        }
        return out.filter { !$0.value.isZero }
    }

    static func planned(_ request: Keel_Planner_V1_PlanRequest) throws -> Keel_Planner_V1_Plan {
        try PlanComputation.plan(request)
    }

    static func request(total: String, _ changes: [ConvergePlan.CapitalChange], _ holdings: [ConvergePlan.Holding]) -> Keel_Planner_V1_PlanRequest {
        ConvergePlan.request(world: "w", venue: "okx", totalCapital: decimal(total), changes: changes, holdings: holdings,
                             minTradeNotional: .zero, intent: [:])
    }

    /// 25,000 → 30,000 of a 60,000 account: the scale is 1.2, not 1.1999…9, so a short of 50 SOL at
    /// lot 0.1 grows by exactly 10 (a ratio rounded to 34 digits lost a whole lot: −9.9).
    @Test func theNotedExampleMovesWholeLots() throws {
        let changes = [
            ConvergePlan.CapitalChange(strategyID: "basis", oldCapital: ExactDecimal(25_000), allocatedCapital: ExactDecimal(30_000)),
            ConvergePlan.CapitalChange(strategyID: "meanrev", oldCapital: ExactDecimal(25_000), allocatedCapital: ExactDecimal(30_000)),
        ]
        let holdings = [
            ConvergePlan.Holding(strategyID: "basis", symbol: "SOLUSDT", quantity: ExactDecimal(-50), mark: "150"),
            ConvergePlan.Holding(strategyID: "meanrev", symbol: "ETHUSDT", quantity: ExactDecimal(2), mark: "3000"),
        ]
        let request = Self.request(total: "60000", changes, holdings)
        #expect(request.worldAllocBefore == ["w": "50000"] && request.worldAllocAfter == ["w": "60000"])
        #expect(request.strategyAllocAfterTotal["w"]?.byStrategy == ["basis": "30000", "meanrev": "30000"])
        let plan = try Self.planned(request)
        #expect(plan.perWorld.first?.scaleByStrategy == ["basis": "1.2", "meanrev": "1.2"])
        #expect(Dictionary(uniqueKeysWithValues: plan.globalDeltas.map { ($0.symbol, $0.deltaQty) }) == ["SOLUSDT": "-10", "ETHUSDT": "0.4"])
    }

    /// Random totals, capitals and holdings: the plan of the converge request equals the plan the
    /// exact ratios imply, symbol by symbol, and lot truncation of each delta keeps every whole lot.
    @Test(arguments: [UInt64(11), 12, 13, 14, 15, 16, 17, 18])
    func theConvergePlanIsThePlanOfTheExactRatios(seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        func amount(_ range: ClosedRange<Int>, scale: Int) -> ExactDecimal {
            ExactDecimal(significand: BigInt(Int.random(in: range, using: &g)), exponent: -scale)
        }
        let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
        let lots = ["BTCUSDT": Self.decimal("0.001"), "ETHUSDT": Self.decimal("0.01"), "SOLUSDT": Self.decimal("0.1"), "XRPUSDT": Self.decimal("1")]
        for _ in 0..<50 {
            // An account whose total does not divide its strategies' capitals evenly, most of the time.
            let strategies = (0..<Int.random(in: 1...4, using: &g)).map { "s\($0)" }
            let total = amount(10_000...1_000_000, scale: Int.random(in: 0...2, using: &g))
            let changes = strategies.map {
                ConvergePlan.CapitalChange(strategyID: $0, oldCapital: amount(1_000...500_000, scale: 2), allocatedCapital: amount(1_000...500_000, scale: 2))
            }
            var holdings: [ConvergePlan.Holding] = []
            for strategy in strategies {
                for symbol in symbols where Bool.random(using: &g) {
                    let lot = lots[symbol]!
                    let lotsHeld = Int.random(in: -5_000...5_000, using: &g)
                    holdings.append(ConvergePlan.Holding(
                        strategyID: strategy, symbol: symbol,
                        quantity: ExactDecimal(significand: BigInt(lotsHeld) * lot.significand, exponent: lot.exponent),
                        mark: amount(1...100_000, scale: 2).description))
                }
            }
            // One mark per symbol, as the broker gives it.
            let marks = Dictionary(holdings.map { ($0.symbol, $0.mark) }, uniquingKeysWith: { first, _ in first })
            holdings = holdings.map { ConvergePlan.Holding(strategyID: $0.strategyID, symbol: $0.symbol, quantity: $0.quantity, mark: marks[$0.symbol]!) }

            let plan = try Self.planned(Self.request(total: total.description, changes, holdings))
            let expected = Self.exactChanges(changes, holdings)
            let got = Dictionary(uniqueKeysWithValues: plan.globalDeltas.map { ($0.symbol, $0.deltaQty) })
            #expect(got == expected.mapValues(\.outputString), "total \(total), capitals \(changes.map { "\($0.oldCapital)→\($0.allocatedCapital)" })")
            for (symbol, exact) in expected {
                guard let written = got[symbol].flatMap(DecimalGrammar.parse) else { continue }
                #expect(written.rational.roundedToLot(lots[symbol]!) == exact.roundedToLot(lots[symbol]!), "\(symbol): \(written) against \(exact)")
            }
            for change in changes where holdings.contains(where: { $0.strategyID == change.strategyID }) {
                #expect(plan.perWorld.first?.scaleByStrategy[change.strategyID] == (change.allocatedCapital.rational / change.oldCapital.rational).outputString)
            }
        }
    }
}

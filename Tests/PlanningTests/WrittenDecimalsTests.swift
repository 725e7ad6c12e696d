import Contracts
import ExactNumbers
import KeelTestSupport
import Planning
import Testing

/// Every decimal a plan writes is one the planner's own input grammar accepts (at most 34
/// significant digits), so another service can send it back as it is.
@Suite struct WrittenDecimalsTests {
    /// Two worlds whose quantities are written with 34 digits at different scales: their sum has 36
    /// digits before output rounding.
    @Test func globalDeltasOfNonTerminatingWorldQuantitiesAreOutputRounded() throws {
        let request = PlanRequest.with {
            $0.totalEquity = "1000"
            $0.worldAllocBefore = ["a": "0.3", "b": "0.7"]
            $0.worldAllocAfter = ["a": "0.2", "b": "0.1"]
            $0.positions = [
                .with { $0.worldID = "a"; $0.strategyID = "s"; $0.symbol = "X"; $0.qty = "1"; $0.mark = "1" },
                .with { $0.worldID = "b"; $0.strategyID = "t"; $0.symbol = "X"; $0.qty = "100"; $0.mark = "1" },
            ]
        }
        let plan = try PlanComputation.plan(request)
        #expect(plan.perWorld.map { $0.deltas.map(\.deltaQty) } == [["-0.3333333333333333333333333333333333"], ["-85.71428571428571428571428571428571"]])
        // -86.0476190476190476190476190476190433 written half-even to 34 significant digits.
        #expect(plan.globalDeltas.map(\.deltaQty) == ["-86.04761904761904761904761904761904"])
        #expect(try WrittenDecimals.unreadable(in: plan).isEmpty)
    }

    @Test(arguments: 0..<4)
    func everyDecimalOfRandomPlansParses(batch: Int) throws {
        var planned = 0
        for seed in UInt64(batch * 100)..<UInt64(batch * 100 + 100) {
            let request = RandomPlanRequests.make(seed: seed)
            let plan = try PlanComputation.plan(request)
            planned += plan.perWorld.count
            let bad = try WrittenDecimals.unreadable(in: plan)
            #expect(bad.isEmpty, "seed \(seed): \(bad)")
        }
        #expect(planned > 0)
    }

    @Test func theCheckSeesWhatTheGrammarRefuses() throws {
        var plan = PlanMessage()
        plan.globalDeltas = [.with { $0.symbol = "X"; $0.deltaQty = "-22.32133333333333333333333333333333333" }]
        plan.perWorld = [.with { $0.scaleWorld = "1e-5" }]
        #expect(try WrittenDecimals.unreadable(in: plan).count == 2)
        #expect(!WrittenDecimals.looksNumeric("pln_01J") && !WrittenDecimals.looksNumeric("2026-03-01"))
        #expect(WrittenDecimals.looksNumeric("-0.5") && WrittenDecimals.looksNumeric("1E+5") && WrittenDecimals.looksNumeric("+7"))
    }
}

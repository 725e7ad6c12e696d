import Contracts
import ExactNumbers
import Planning
import Testing

/// The request digest (spec/planner.md §5.2, amendment 6): the same decimals written differently
/// are the same request; a different value is another.
@Suite struct PlanRequestDigestTests {
    static func request(qty: String, mark: String, secondQty: String = "2") -> Keel_Planner_V1_PlanRequest {
        .with {
            $0.totalEquity = "100"
            $0.worldAllocBefore = ["w": "0.5"]
            $0.worldAllocAfter = ["w": "0.25"]
            $0.positions = [
                .with { $0.worldID = "w"; $0.strategyID = "s"; $0.symbol = "A"; $0.qty = qty; $0.mark = mark },
                .with { $0.worldID = "w"; $0.strategyID = "s"; $0.symbol = "B"; $0.qty = secondQty; $0.mark = "10" },
            ]
        }
    }

    @Test func positionDecimalsAreCanonicalisedBeforeHashing() {
        let canonical = PlanRequestDigest.digest(Self.request(qty: "1.5", mark: "60000"))
        #expect(PlanRequestDigest.digest(Self.request(qty: "1.50", mark: "060000")) == canonical)
        #expect(PlanRequestDigest.digest(Self.request(qty: "01.5", mark: "60000.000", secondQty: "2.0")) == canonical)
        #expect(PlanRequestDigest.digest(Self.request(qty: "1.5", mark: "60000", secondQty: "-0")) != canonical)
        #expect(PlanRequestDigest.digest(Self.request(qty: "1.5", mark: "60000", secondQty: "-0")) == PlanRequestDigest.digest(Self.request(qty: "1.5", mark: "60000", secondQty: "0.000")))
        #expect(PlanRequestDigest.digest(Self.request(qty: "1.51", mark: "60000")) != canonical)
        // only what was not canonical is rewritten
        let normalized = PlanRequestDigest.normalized(Self.request(qty: "1.50", mark: "60000", secondQty: ".5"))
        #expect(normalized.positions.map(\.qty) == ["1.5", "0.5"])
        #expect(normalized.positions.map(\.mark) == ["60000", "10"])
    }

    @Test(arguments: [
        ("0", true), ("-1.5", true), ("12.034", true), ("0.5", true),
        ("-0", false), ("00", false), ("01", false), ("1.", false), ("1.50", false), (".5", false), ("1e3", false), ("", false), ("-", false), ("1.2.3", false),
    ])
    func canonicalFormIsDecidedOnTheBytes(text: String, canonical: Bool) {
        #expect(DecimalGrammar.hasCanonicalForm(text) == canonical)
    }
}

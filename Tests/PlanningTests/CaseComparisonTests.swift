import KeelTestSupport
import Foundation
import Testing

/// The case comparison must be able to fail: each of these differs from its expectation.
@Suite struct CaseComparisonTests {
    @Test func detectsEveryKindOfDifference() {
        #expect(!Cases.differences(expected: ["delta_qty": "-0.333"], actual: ["deltaQty": "-0.334"]).isEmpty)
        #expect(!Cases.differences(expected: ["delta_qty": "-0.333"], actual: ["deltaQty": "-0.3330000000000001"]).isEmpty)
        #expect(!Cases.differences(expected: ["deltas": [["symbol": "A"]]], actual: [String: Any]()).isEmpty)
        #expect(!Cases.differences(expected: ["deltas": [["symbol": "A"], ["symbol": "B"]]], actual: ["deltas": [["symbol": "B"], ["symbol": "A"]]]).isEmpty)
        #expect(!Cases.differences(expected: ["reason": "SKIP_REASON_MISSING_MARK"], actual: ["reason": "SKIP_REASON_ROUNDED_TO_ZERO"]).isEmpty)
        #expect(!Cases.differences(expected: ["scale_world": "0.5"], actual: ["scaleWorld": "0.50001"]).isEmpty)
        #expect(!Cases.differences(expected: ["dry_run": true], actual: [String: Any]()).isEmpty)
        #expect(!Cases.differences(expected: ["sell_rounds": 10], actual: ["sellRounds": 9]).isEmpty)
    }

    /// A fixture that cannot be read, or that lacks the promised number of cases, fails the suite
    /// instead of running zero cases.
    @Test func unreadableOrIncompleteFixturesThrow() throws {
        #expect(throws: Cases.FixtureError.self) { try Cases.named("no-such-fixture", kind: "plan") }
        #expect(throws: Cases.FixtureError.self) { try Cases.named("planner-gateway", kind: "no_such_kind") }
        #expect(throws: Cases.FixtureError.self) { try Cases.case("planner-gateway", "no such case") }
        #expect(try Cases.named("planner-gateway", kind: "plan").count == 35)
    }

    @Test func acceptsWhatTheConventionsAllow() {
        // other decimals within 1e-12 relative; maps unordered; defaults omitted
        #expect(Cases.differences(expected: ["scale_world": "0.6666666666666667"], actual: ["scaleWorld": "0.6666666666666666666666666666666667"]).isEmpty)
        #expect(Cases.differences(expected: ["scale_by_strategy": ["a": "1", "b": "2"]], actual: ["scaleByStrategy": ["b": "2", "a": "1"]]).isEmpty)
        #expect(Cases.differences(expected: ["skipped": [Any](), "intent": [String: Any](), "dry_run": false, "raw_qty": ""], actual: [String: Any]()).isEmpty)
        #expect(Cases.differences(expected: ["delta_qty": "-0.50"], actual: ["deltaQty": "-0.5"]).isEmpty)
    }
}

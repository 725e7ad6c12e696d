import Contracts
import ExactNumbers
import Execution
import Foundation
import KeelTestSupport
import Planning
import Testing

/// The paced-execution cases of the capital-twap.json fixture.
@Suite struct PacedExecutionCaseTests {
    static let file = "capital-twap"
    static func d(_ value: Any?) -> ExactDecimal? { (value as? String).flatMap(DecimalGrammar.parse) }
    static func ms(_ value: Any?) -> Int64? {
        (value as? String).flatMap { ISO8601DateFormatter().date(from: $0) }.map { Int64($0.timeIntervalSince1970 * 1000) }
    }

    @Test(arguments: try Cases.named(file, kind: "sell_rounds"))
    func sellRoundsCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let expected = c["expected"] as! [String: Any]
        let mode: SplitMode = input["split_mode"] as? String == "SPLIT_MODE_REMAINDER_LAST" ? .remainderLast : .accumulator
        do {
            let rounds = try PacedExecution.sellRounds(total: Self.d(input["total_qty"])!, rounds: input["rounds"] as! Int, mode: mode)
            let differences = Cases.differences(expected: expected, actual: ["round_qtys": rounds.map(\.description)])
            #expect(differences.isEmpty, "\(name): \(differences)")
        } catch {
            let want = expected["error"] as? [String: Any]
            #expect(error.reason == want?["reason"] as? String && error.field == want?["field"] as? String, "\(name): \(error)")
        }
    }

    @Test(arguments: try Cases.named(file, kind: "buy_rounds"))
    func buyRoundsCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let (amounts, estimates) = TargetWeightPlanner.buyRounds(
            totalAmount: Self.d(input["total_amount"])!, rounds: input["rounds"] as! Int, price: Self.d(input["price"])!, lot: .one, amountScale: 0)
        let differences = Cases.differences(
            expected: c["expected"]!, actual: ["round_amounts": amounts.map(\.description), "estimated_round_qtys": estimates.map(\.description)])
        #expect(differences.isEmpty, "\(name): \(differences)")
    }

    @Test(arguments: try Cases.named(file, kind: "last_round_qty"))
    func lastRoundCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let actual: [String: Any]
        if input["side"] as? String == "ORDER_SIDE_BUY" {
            actual = ["amount": PacedExecution.lastBuyAmount(
                totalAmount: Self.d(input["total_amount"])!, committedAmount: Self.d(input["committed_amount"])!,
                orderableCash: Self.d(input["orderable_cash"])!).description]
        } else {
            actual = ["qty": PacedExecution.lastSellQuantity(
                total: Self.d(input["total_qty"])!, committed: Self.d(input["committed_before_last"])!, sellable: Self.d(input["sellable"])).description]
        }
        let differences = Cases.differences(expected: c["expected"]!, actual: actual)
        #expect(differences.isEmpty, "\(name): \(differences)")
    }

    @Test(arguments: try Cases.named(file, kind: "pacing_schedule"))
    func pacingCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let tasks = (input["tasks"] as! [[String: Any]]).map { (Int64($0["enqueue_at_ms"] as! Int), Int64($0["duration_ms"] as! Int)) }
        let starts = PacedExecution.pacedStarts(intervalMs: Int64(input["interval_ms"] as! Int), tasks: tasks)
        #expect(starts == ((c["expected"] as! [String: Any])["start_at_ms"] as! [Int]).map(Int64.init), "\(name)")
    }

    @Test func pacingSpecExamples() {
        // A 2 s task at 0 s, a task at 0 s, tasks at 25 s and 45 s → 0, 12, 25, 45 s.
        let starts = PacedExecution.pacedStarts(intervalMs: 10_000, tasks: [(0, 2_000), (0, 0), (25_000, 0), (45_000, 0)])
        #expect(starts == [0, 12_000, 25_000, 45_000])
    }

    @Test(arguments: try Cases.named(file, kind: "amend_schedule"))
    func amendCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let amends = PacedExecution.amendTimes(
            pollerStart: Self.ms(input["poller_start"])!, pollIntervalMs: Int64(input["poll_interval_s"] as! Int) * 1000,
            amendAfterMs: Int64(input["amend_after_s"] as! Int) * 1000, acceptedAt: Self.ms(input["accepted_at"])!,
            filledAt: Self.ms(input["filled_at"]), horizon: Self.ms(input["horizon"])!)
        #expect(amends == ((c["expected"] as! [String: Any])["amend_at"] as! [String]).map { Self.ms($0)! }, "\(name)")
    }

    @Test func anOrderAcceptedAtTwoMinutesIsAmendedAtTwelveInclusive() {
        let start = Self.ms("2026-05-04T09:00:00+09:00")!
        let amends = PacedExecution.amendTimes(pollerStart: start, pollIntervalMs: 180_000, amendAfterMs: 600_000, acceptedAt: start + 120_000, filledAt: nil, horizon: start + 13 * 60_000)
        #expect(amends == [start + 12 * 60_000])
    }

    @Test(arguments: try Cases.named(file, kind: "phase_gate"))
    func phaseGateCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let start = PacedExecution.startPhase(
            now: Self.ms(input["now"])!, start: Self.ms(input["start"])!, sessionEnd: Self.ms(input["session_end"]),
            enabled: input["enabled"] as! Bool, started: input["started"] as! Bool, sellsCleared: input["sells_cleared"] as? Bool ?? true)
        #expect(start == (c["expected"] as! [String: Any])["start_phase"] as? Bool, "\(name)")
    }

    @Test(arguments: try Cases.named(file, kind: "kiwoom_order_no"))
    func kiwoomOrderNumberCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let number = PacedExecution.kiwoomOrderNumber((c["input"] as! [String: Any])["response"] as! [String: Any])
        let differences = Cases.differences(expected: c["expected"]!, actual: ["broker_order_id": number, "submitted": !number.isEmpty])
        #expect(differences.isEmpty, "\(name): \(differences)")
    }
}

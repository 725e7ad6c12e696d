import Contracts
import ExactNumbers
import Foundation
import Planning

/// The pure rules of paced execution (docs/architecture.md#paced-schedules).
public enum PacedExecution {
    /// Sell rounds by quantity: `total` over `rounds` in lots; rounds outside 1–1000 are an error.
    public static func sellRounds(total: ExactDecimal, rounds: Int, lot: ExactDecimal = .one, mode: SplitMode = .accumulator) throws(FieldError) -> [ExactDecimal] {
        guard (1...1000).contains(rounds) else {
            throw FieldError(.invalidRoundCount, field: "sell_rounds", message: "sell_rounds must be 1–1000, got \(rounds)")
        }
        let lots = (total.rational / lot.rational).truncated()
        return TargetWeightPlanner.split(lots, into: rounds, mode: mode).map { ExactDecimal(significand: $0 * lot.significand, exponent: lot.exponent) }
    }

    /// The last sell round: `min(max(0, total − committed), sellable)` truncated to the lot, where
    /// committed = filled + remaining of working orders of the earlier rounds.
    public static func lastSellQuantity(total: ExactDecimal, committed: ExactDecimal, sellable: ExactDecimal?, lot: ExactDecimal = .one) -> ExactDecimal {
        var quantity = max(.zero, total - committed)
        if let sellable { quantity = min(quantity, sellable) }
        return quantity.roundedToLot(lot)
    }

    /// The last buy round's amount: `min(max(0, total_amount − committed_amount), orderable_cash)`.
    public static func lastBuyAmount(totalAmount: ExactDecimal, committedAmount: ExactDecimal, orderableCash: ExactDecimal) -> ExactDecimal {
        min(max(.zero, totalAmount - committedAmount), orderableCash)
    }

    /// A phase starts at the first tick at or after its start, before the session end, once
    /// (and, for buys, only when the sells are cleared).
    public static func startPhase(now: Int64, start: Int64, sessionEnd: Int64?, enabled: Bool, started: Bool, sellsCleared: Bool = true) -> Bool {
        enabled && !started && start <= now && (sessionEnd.map { now < $0 } ?? true) && sellsCleared
    }

    /// Pacing: task j starts at `max(enqueue_j, end_{j−1} + interval)`, the gap running from the
    /// end of the previous task, failed or not; an idle queue starts a task at once.
    public static func pacedStarts(intervalMs: Int64, tasks: [(enqueueAtMs: Int64, durationMs: Int64)]) -> [Int64] {
        var starts: [Int64] = []
        var previousEnd: Int64?
        for task in tasks {
            let start = previousEnd.map { max(task.enqueueAtMs, $0 + intervalMs) } ?? task.enqueueAtMs
            starts.append(start)
            previousEnd = start + task.durationMs
        }
        return starts
    }

    /// Poll and amend: polls every `pollIntervalMs` from `pollerStart`; a working order is due
    /// when `now − last_submit_or_amend ≥ amendAfterMs` (inclusive), and its timer restarts when
    /// amended. A fill before the due poll ends it. The amend times up to `horizon`.
    public static func amendTimes(pollerStart: Int64, pollIntervalMs: Int64, amendAfterMs: Int64, acceptedAt: Int64, filledAt: Int64?, horizon: Int64) -> [Int64] {
        var amends: [Int64] = []
        var last = acceptedAt
        var poll = pollerStart
        while poll <= horizon {
            if poll >= acceptedAt {
                if let filledAt, filledAt <= poll { break }
                if poll - last >= amendAfterMs {
                    amends.append(poll)
                    last = poll
                }
            }
            poll += pollIntervalMs
        }
        return amends
    }

    /// The Kiwoom order number from an order response: the `output` object (or the body
    /// itself), keys `ord_no`, `odno`, `ORD_NO`, `ordNo` in that order, the first value that is
    /// non-empty after trimming and not `"0"` (numbers as their decimal text). Empty = the
    /// submission failed.
    public static func kiwoomOrderNumber(_ response: [String: Any]) -> String {
        let source = response["output"] as? [String: Any] ?? response
        for key in ["ord_no", "odno", "ORD_NO", "ordNo"] {
            guard let value = source[key] else { continue }
            let text: String
            if let string = value as? String {
                text = string.trimmingCharacters(in: .whitespacesAndNewlines)
            } else if let number = value as? NSNumber {
                text = number.stringValue
            } else {
                continue
            }
            if !text.isEmpty, text != "0" { return text }
        }
        return ""
    }
}

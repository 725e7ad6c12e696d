import Contracts
import ExactNumbers
import Foundation

public typealias SchedulePolicy = Keel_Gateway_V1_SchedulePolicy

/// A schedule policy with its defaults filled and its wall times read as instants of the trading
/// date (docs/architecture.md#paced-schedules).
public struct ResolvedSchedulePolicy: Sendable {
    public var policy: SchedulePolicy
    public var sellStartMs: Int64?
    public var buyStartMs: Int64?
    public var sessionEndMs: Int64
    public var roundIntervalMs: Int64
    public var pollIntervalMs: Int64
    public var amendAfterMs: Int64
    public var marketOrders: Bool
    public var cancelAtSessionEnd: Bool
}

extension PacedExecution {
    /// The policy's checks, each naming its field, then the defaults and the instants.
    public static func resolve(_ policy: SchedulePolicy, sellEnabled: Bool, buyEnabled: Bool, nowMs: Int64) throws(FieldError) -> ResolvedSchedulePolicy {
        func invalidTime(_ field: String, _ message: String) -> FieldError {
            FieldError(.invalidTime, field: "policy.\(field)", message: message)
        }
        if sellEnabled, policy.sellStart.isEmpty {
            throw FieldError(.missingField, field: "policy.sell_start", message: "policy.sell_start is required when sells are enabled")
        }
        if buyEnabled, policy.buyStart.isEmpty {
            throw FieldError(.missingField, field: "policy.buy_start", message: "policy.buy_start is required when buys are enabled")
        }
        var filled = policy
        if filled.timeZone.isEmpty { filled.timeZone = "Asia/Seoul" }
        guard let zone = TimeZone(identifier: filled.timeZone) else {
            throw invalidTime("time_zone", "time_zone \"\(policy.timeZone)\" is not an IANA zone name")
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        if filled.tradingDate.isEmpty {
            let today = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(nowMs) / 1000))
            filled.tradingDate = String(format: "%04d-%02d-%02d", today.year!, today.month!, today.day!)
        }
        guard let date = localDate(filled.tradingDate) else {
            throw invalidTime("trading_date", "trading_date \"\(policy.tradingDate)\" is not a YYYY-MM-DD date")
        }
        if filled.sessionEnd.isEmpty { filled.sessionEnd = "15:20" }
        func instant(_ text: String, _ field: String) throws(FieldError) -> Int64 {
            guard let time = LocalWallTime.parse(text, allowingSeconds: true) else { throw invalidTime(field, "\(field) \"\(text)\" is not HH:MM or HH:MM:SS") }
            return LocalWallTime.instantMs(year: date.year, month: date.month, day: date.day, hour: time.hour, minute: time.minute, second: time.second, zone: zone)
        }
        let sellStart = policy.sellStart.isEmpty ? nil : try instant(policy.sellStart, "sell_start")
        let buyStart = policy.buyStart.isEmpty ? nil : try instant(policy.buyStart, "buy_start")
        let sessionEnd = try instant(filled.sessionEnd, "session_end")
        if sellEnabled, let sellStart, sellStart >= sessionEnd { throw invalidTime("sell_start", "sell_start \(policy.sellStart) is not before session_end \(filled.sessionEnd)") }
        if buyEnabled, let buyStart, buyStart >= sessionEnd { throw invalidTime("buy_start", "buy_start \(policy.buyStart) is not before session_end \(filled.sessionEnd)") }
        func seconds(_ has: Bool, _ value: UInt32, default: UInt32, max: UInt32?, _ field: String) throws(FieldError) -> UInt32 {
            guard has else { return `default` }
            if value == 0 || (max.map { value > $0 } ?? false) {
                throw FieldError(.valueOutOfRange, field: "policy.\(field)", message: "policy.\(field) must be 1–\(max.map(String.init) ?? "4294967295") seconds, got \(value)")
            }
            return value
        }
        filled.roundIntervalS = try seconds(policy.hasRoundIntervalS, policy.roundIntervalS, default: 60, max: 86_400, "round_interval_s")
        filled.pollIntervalS = try seconds(policy.hasPollIntervalS, policy.pollIntervalS, default: 180, max: nil, "poll_interval_s")
        filled.amendAfterS = try seconds(policy.hasAmendAfterS, policy.amendAfterS, default: 600, max: nil, "amend_after_s")
        switch policy.orderStyle {
        case .unspecified: filled.orderStyle = .limitAtQuote
        case .limitAtQuote, .market: break
        case .UNRECOGNIZED(let number):
            throw FieldError(.unknownEnum, field: "policy.order_style", message: "order_style \(number) is not an OrderStyle")
        }
        if !policy.hasCancelAtSessionEnd { filled.cancelAtSessionEnd = true }
        return ResolvedSchedulePolicy(
            policy: filled, sellStartMs: sellStart, buyStartMs: buyStart, sessionEndMs: sessionEnd,
            roundIntervalMs: Int64(filled.roundIntervalS) * 1000, pollIntervalMs: Int64(filled.pollIntervalS) * 1000,
            amendAfterMs: Int64(filled.amendAfterS) * 1000, marketOrders: filled.orderStyle == .market, cancelAtSessionEnd: filled.cancelAtSessionEnd)
    }

    static func localDate(_ text: String) -> (year: Int, month: Int, day: Int)? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), (1...12).contains(month), day >= 1 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day)),
              calendar.component(.day, from: date) == day else { return nil }
        return (year, month, day)
    }

    /// A limit at the quote rounded to the tick toward the marketable side (sells down, buys up).
    public static func limitPrice(quote: ExactDecimal, tick: ExactDecimal?, sell: Bool) -> ExactDecimal {
        guard let tick, tick.signum > 0 else { return quote }
        let down = quote.roundedToLot(tick)
        if sell || down == quote { return down }
        return down + tick
    }

    /// `"k"` + the first 32 hex characters of SHA-256 of `<schedule>|<S|B>|<symbol>|<round>|<n>`.
    public static func clientOrderID(scheduleID: String, sell: Bool, symbol: String, round: Int, replacement: Int = 0) -> String {
        "k" + SHA256.hex("\(scheduleID)|\(sell ? "S" : "B")|\(symbol)|\(round)|\(replacement)").prefix(32)
    }

    /// `trunc(min(budget, orderable cash) / (limit × lot)) × lot`, never negative.
    public static func buyQuantity(budget: ExactDecimal, orderableCash: ExactDecimal, limit: ExactDecimal, lot: ExactDecimal) -> ExactDecimal {
        affordableQuantity(min(budget, orderableCash), limit: limit, lot: lot)
    }

    /// Whole lots that `amount` pays for at `limit`; 0 for no money or no price.
    static func affordableQuantity(_ amount: ExactDecimal, limit: ExactDecimal, lot: ExactDecimal) -> ExactDecimal {
        guard amount.signum > 0, limit.signum > 0 else { return .zero }
        let lots = (amount.rational / (limit * lot).rational).truncated()
        return ExactDecimal(significand: lots * lot.significand, exponent: lot.exponent)
    }

    /// The amend of a buy: with `other = committed − remainder × old`, the budget is
    /// `min(total − other, cash + remainder × old)`, the new quantity
    /// `min(remainder, trunc(budget / (new × lot)) × lot)`; 0 means cancel instead.
    public static func amendedBuyQuantity(remainder: ExactDecimal, oldLimit: ExactDecimal, newLimit: ExactDecimal, totalAmount: ExactDecimal,
                                          committedAmount: ExactDecimal, orderableCash: ExactDecimal, lot: ExactDecimal) -> ExactDecimal {
        let held = remainder * oldLimit
        let other = committedAmount - held
        let budget = min(totalAmount - other, orderableCash + held)
        return min(remainder, affordableQuantity(budget, limit: newLimit, lot: lot))
    }
}


/// What a paced round orders when its task runs: the quantity, and for a last round whether it
/// departs from the plan and why (the `LAST_ROUND_CORRECTED` event's message).
public struct RoundOrderSize: Equatable, Sendable {
    public var quantity: ExactDecimal
    public var corrected: Bool
    public var note: String

    public init(quantity: ExactDecimal, corrected: Bool, note: String) {
        self.quantity = quantity
        self.corrected = corrected
        self.note = note
    }
}

extension PacedExecution {
    /// A sell round: its planned quantity capped by what is sellable (the holding less what the
    /// working sells of the symbol still commit, in whole lots); the last round sells what the leg
    /// still lacks of its total, whatever the earlier rounds did.
    public static func sellRound(plannedQty: ExactDecimal, isLast: Bool, totalQty: ExactDecimal, committed: ExactDecimal,
                                 holding: ExactDecimal, workingSells: ExactDecimal, lot: ExactDecimal) -> RoundOrderSize {
        let sellable = max(.zero, holding - workingSells).roundedToLot(lot)
        guard isLast else {
            return RoundOrderSize(quantity: min(plannedQty, sellable).roundedToLot(lot), corrected: false, note: "")
        }
        let quantity = lastSellQuantity(total: totalQty, committed: committed, sellable: sellable, lot: lot)
        return RoundOrderSize(
            quantity: quantity, corrected: quantity != plannedQty,
            note: "last round \(quantity) instead of \(plannedQty) (total \(totalQty), committed \(committed), sellable \(sellable))")
    }

    /// A buy round: what the rounds so far were planned to spend less what is committed, capped by
    /// the orderable cash, in whole lots at the limit; the last round's budget is the leg's total.
    public static func buyRound(cumulativePlanned: ExactDecimal, isLast: Bool, totalAmount: ExactDecimal, committedAmount: ExactDecimal,
                                plannedAmount: ExactDecimal, orderableCash: ExactDecimal, limit: ExactDecimal, lot: ExactDecimal) -> RoundOrderSize {
        let budget = (isLast ? totalAmount : cumulativePlanned) - committedAmount
        let quantity = buyQuantity(budget: budget, orderableCash: orderableCash, limit: limit, lot: lot)
        guard isLast else { return RoundOrderSize(quantity: quantity, corrected: false, note: "") }
        let amount = lastBuyAmount(totalAmount: totalAmount, committedAmount: committedAmount, orderableCash: orderableCash)
        return RoundOrderSize(
            quantity: quantity, corrected: amount != plannedAmount,
            note: "last round amount \(amount) instead of \(plannedAmount) (total \(totalAmount), committed \(committedAmount))")
    }
}

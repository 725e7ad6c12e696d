import Contracts
import ExactNumbers
import Execution
import Foundation
import KeelOps
import KeelStore
import KeelWire
import Logging

/// The schedule engine's bookkeeping: the broker's view of a round's order applied to it, the
/// schedule's state that follows from its rounds, and each change written with its events.
extension ScheduleEngine {
    // MARK: fills

    /// The broker's view of a round's order: fills as ORDER_FILL events, the round's state, and the order row.
    func apply(_ order: BrokerOrder, to entry: inout Live, leg i: Int, round k: Int, now: Int64) throws -> ([ScheduleEvent], ScheduleOrderRow) {
        var round = entry.schedule.legs[i].rounds[k]
        var events: [ScheduleEvent] = []
        if !order.venueOrderID.isEmpty { round.brokerOrderID = order.venueOrderID }
        let oldFilled = try Self.decimal(round.filledQty)
        let oldAmount = try Self.decimal(round.filledAmount)
        let delta = order.filledQuantity - oldFilled
        round.filledQty = order.filledQuantity.description
        round.filledAmount = order.filledNotional.description
        if order.quantity.signum > 0 { round.orderQty = order.quantity.description }
        switch order.status {
        case .acked, .partiallyFilled: if round.state != .failed { round.state = .working }
        case .filled: round.state = .filled
        case .cancelled: round.state = order.filledQuantity >= order.quantity && order.quantity.signum > 0 ? .filled : .donePartial
        case .rejected: round.state = .failed
        default: break
        }
        entry.schedule.legs[i].rounds[k] = round
        if delta.signum > 0 {
            let price = ((order.filledNotional - oldAmount).rational / delta.rational).roundedToSignificantDigits(34)
            var fill = event(.orderFill, entry, leg: i, round: k, qty: delta, price: price.description, message: "")
            fill.filledQty = order.filledQuantity.description
            fill.amount = (order.filledNotional - oldAmount).description
            events.append(fill)
        }
        let average = order.filledQuantity.signum > 0 ? (order.filledNotional.rational / order.filledQuantity.rational).roundedToSignificantDigits(34).description : ""
        var row = orderRow(entry, leg: i, round: k, status: order.status)
        row.filledQty = order.filledQuantity.description
        row.avgPrice = average
        row.reason = order.reason
        return (events, row)
    }

    // MARK: state

    /// The state that follows from the rounds, and COMPLETED once every round was issued and
    /// nothing is working.
    func settleState(_ entry: inout Live, now: Int64) throws -> [ScheduleEvent] {
        guard !entry.schedule.state.isTerminal else { return [] }
        let rounds = entry.schedule.legs.flatMap(\.rounds)
        let unissued = rounds.contains { $0.state == .pending || $0.state == .queued }
        if !unissued, !rounds.contains(where: { $0.state == .working }) {
            entry.schedule.state = .completed
            entry.schedule.finishedAtMs = now
            entry.schedule.stateReason = try shortfall(entry)
            logger.info("schedule completed", metadata: ["schedule_id": "\(entry.schedule.scheduleID)", "short": "\(entry.schedule.stateReason)"])
            return [event(.completed, entry, message: entry.schedule.stateReason.isEmpty ? "every round issued, nothing working" : entry.schedule.stateReason)]
        }
        let sellsToIssue = entry.schedule.legs.contains { $0.side == .sell && $0.rounds.contains { $0.state == .pending || $0.state == .queued } }
        if entry.schedule.buyStartedAtMs != 0 {
            entry.schedule.state = .buying
        } else if entry.schedule.sellStartedAtMs != 0, sellsToIssue {
            entry.schedule.state = .selling
        } else if entry.schedule.sellStartedAtMs != 0 {
            entry.schedule.state = .waiting
        } else {
            entry.schedule.state = .scheduled
        }
        return []
    }

    /// `symbol: filled of total` for every leg short of its total.
    func shortfall(_ entry: Live) throws -> String {
        try entry.schedule.legs.compactMap { leg throws -> String? in
            if leg.side == .sell {
                let filled = try leg.rounds.reduce(ExactDecimal.zero) { try $0 + Self.decimal($1.filledQty) }
                return try filled < Self.decimal(leg.totalQty) ? "\(leg.symbol): \(filled) of \(leg.totalQty)" : nil
            }
            let spent = try leg.rounds.reduce(ExactDecimal.zero) { try $0 + Self.decimal($1.filledAmount) }
            // Buying by amount always leaves change: a buy is short only when another lot would
            // still have fitted at its last price (or when nothing was bought).
            let lot = try Self.lot(of: leg)
            // No round priced yet: nothing was bought, and the leg is short whatever the price.
            var price = ExactDecimal.zero
            if let priced = leg.rounds.last(where: { !$0.limitPrice.isEmpty }) { price = try Self.decimal(priced.limitPrice) }
            let left = try Self.decimal(leg.totalAmount) - spent
            return spent.isZero || left >= price * lot ? "\(leg.symbol): \(spent) of \(leg.totalAmount)" : nil
        }.joined(separator: "; ")
    }

    func sellsCleared(_ entry: Live) -> Bool {
        entry.schedule.legs.filter { $0.side == .sell }.allSatisfy { leg in
            leg.rounds.allSatisfy { $0.state != .pending && $0.state != .queued && $0.state != .working }
        }
    }

    func phaseStarted(_ entry: Live, _ side: Keel_Gateway_V1_OrderSide) -> Bool {
        side == .sell ? entry.schedule.sellStartedAtMs != 0 : entry.schedule.buyStartedAtMs != 0
    }

    func firstPhaseStart(_ entry: Live) -> Int64? {
        let starts = [entry.schedule.sellStartedAtMs, entry.schedule.buyStartedAtMs].filter { $0 != 0 }
        return starts.min()
    }

    func working(_ entry: Live) -> [(Int, Int)] {
        roundsInIndexOrder(entry).filter { i, k in
            let round = entry.schedule.legs[i].rounds[k]
            return round.state == .working || (round.state == .queued && !round.clientOrderID.isEmpty)
        }
    }

    func wantsCancels(_ entry: Live) -> Bool {
        entry.schedule.state == .cancelled || (entry.schedule.state == .expired && entry.times.cancelAtSessionEnd)
    }

    /// Round 1 of every leg, then round 2 of every leg, …
    func roundsInIndexOrder(_ entry: Live) -> [(Int, Int)] {
        let longest = entry.schedule.legs.map(\.rounds.count).max() ?? 0
        var out: [(Int, Int)] = []
        for k in 0..<longest {
            for (i, leg) in entry.schedule.legs.enumerated() where k < leg.rounds.count { out.append((i, k)) }
        }
        return out
    }

    func isLive(_ entry: Live) -> Bool {
        !entry.schedule.state.isTerminal || !working(entry).isEmpty
    }

    /// filled + remaining of working orders over the rounds before `k`.
    func committedQuantity(_ leg: Keel_Gateway_V1_ScheduleLeg, before k: Int) throws -> ExactDecimal {
        try leg.rounds.prefix(k).reduce(.zero) { try $0 + Self.decimal($1.filledQty) + Self.remaining($1) }
    }

    /// filled notional + remaining × limit of working orders over the rounds before `k`.
    func committedAmount(_ leg: Keel_Gateway_V1_ScheduleLeg, before k: Int) throws -> ExactDecimal {
        try leg.rounds.prefix(k).reduce(.zero) { try $0 + Self.decimal($1.filledAmount) + Self.remaining($1) * Self.decimal($1.limitPrice) }
    }

    static func remaining(_ round: Keel_Gateway_V1_ScheduleRound) throws -> ExactDecimal {
        try round.state == .working ? max(.zero, decimal(round.orderQty) - decimal(round.filledQty)) : .zero
    }

    /// A decimal of the schedule as stored: an unset field (protobuf's empty string: no fill yet,
    /// no limit yet) is zero; anything else must parse. One that does not fails the schedule (see
    /// `fail(_:unreadable:)`), never read as zero. The schedule id is filled in where it is caught.
    static func decimal(_ text: String) throws(UnreadableStoredValue) -> ExactDecimal {
        if text.isEmpty { return .zero }
        return try UnreadableStoredValue.decimal(text, table: "schedules", row: "", column: "a leg or round decimal")
    }

    /// The leg's lot, parsed once; an unset or zero lot is one unit.
    static func lot(of leg: Keel_Gateway_V1_ScheduleLeg) throws(UnreadableStoredValue) -> ExactDecimal {
        let lot = try decimal(leg.lotSize)
        return lot.signum > 0 ? lot : .one
    }

    // MARK: writing

    /// Leg totals from the rounds, then the schedule, its order rows and events in one transaction.
    /// Every event reports the schedule's state after this change, however early it was built.
    func save(_ entry: inout Live, events: [ScheduleEvent], orders: [ScheduleOrderRow] = [], now: Int64, legTotals: Bool = true) async throws {
        for i in entry.schedule.legs.indices where legTotals {
            var leg = entry.schedule.legs[i]
            leg.filledQty = try leg.rounds.reduce(ExactDecimal.zero) { try $0 + Self.decimal($1.filledQty) }.description
            leg.filledAmount = try leg.rounds.reduce(ExactDecimal.zero) { try $0 + Self.decimal($1.filledAmount) }.description
            leg.committedQty = try committedQuantity(leg, before: leg.rounds.count).description
            leg.committedAmount = try committedAmount(leg, before: leg.rounds.count).description
            entry.schedule.legs[i] = leg
        }
        let state = entry.schedule.state
        try await store.saveSchedule(entry.schedule, live: isLive(entry), buysWaitingEmitted: entry.buysWaitingEmitted,
                                     events: events.map { event in
                                         var event = event
                                         event.state = state
                                         return event
                                     }, orders: orders, nowMs: now)
        live[entry.schedule.scheduleID] = entry
    }

    func event(_ kind: Keel_Gateway_V1_ScheduleEventKind, _ entry: Live, side: Keel_Gateway_V1_OrderSide = .unspecified, leg: Int? = nil, round: Int? = nil,
               qty: ExactDecimal? = nil, price: String = "", message: String) -> ScheduleEvent {
        ScheduleEvent.with {
            $0.scheduleID = entry.schedule.scheduleID
            $0.kind = kind
            $0.timeMs = clock()
            $0.message = message
            $0.intent = entry.schedule.intent
            $0.side = side
            if let leg {
                let scheduleLeg = entry.schedule.legs[leg]
                $0.symbol = scheduleLeg.symbol
                $0.side = scheduleLeg.side
                if let round {
                    $0.round = UInt32(round + 1)
                    $0.clientOrderID = scheduleLeg.rounds[round].clientOrderID
                    $0.filledQty = scheduleLeg.rounds[round].filledQty
                }
            }
            if let qty { $0.qty = qty.description }
            $0.price = price
        }
    }

    func orderRow(_ entry: Live, leg i: Int, round k: Int, status: OrderStatus) -> ScheduleOrderRow {
        let leg = entry.schedule.legs[i]
        let round = leg.rounds[k]
        let order = VenueOrder.with {
            $0.clientOrderID = round.clientOrderID
            $0.venue = entry.schedule.venue
            $0.symbol = leg.symbol
            $0.side = leg.side
            $0.quantity = round.orderQty
            $0.timeInForce = .day
            $0.referenceMark = round.limitPrice
        }
        return ScheduleOrderRow(order: order, accountID: entry.schedule.accountID, status: status,
                                filledQty: round.filledQty.isEmpty ? "0" : round.filledQty)
    }

    /// The instant the engine next has something to do.
    func nextWake() -> Int64 {
        let now = clock()
        var next = now + 15_000
        for entry in live.values {
            if !entry.schedule.state.isTerminal {
                next = min(next, entry.times.sessionEndMs)
                if entry.schedule.sellStartedAtMs == 0, let start = entry.times.sellStartMs { next = min(next, start) }
                if entry.schedule.buyStartedAtMs == 0, let start = entry.times.buyStartMs { next = min(next, start) }
                for round in entry.schedule.legs.flatMap(\.rounds) where round.state == .pending && round.dueAtMs != 0 {
                    next = min(next, round.dueAtMs)
                }
            }
            if let start = firstPhaseStart(entry) { next = min(next, start + (entry.lastPoll + 1) * entry.times.pollIntervalMs) }
        }
        for queue in queues.values {
            if let first = queue.tasks.first { next = min(next, max(first.enqueuedAtMs, queue.nextStartMs)) }
        }
        return max(next, now)
    }

    static func name(_ state: ScheduleState) -> String {
        switch state {
        case .scheduled: "SCHEDULE_STATE_SCHEDULED"
        case .selling: "SCHEDULE_STATE_SELLING"
        case .waiting: "SCHEDULE_STATE_WAITING"
        case .buying: "SCHEDULE_STATE_BUYING"
        case .completed: "SCHEDULE_STATE_COMPLETED"
        case .cancelled: "SCHEDULE_STATE_CANCELLED"
        case .expired: "SCHEDULE_STATE_EXPIRED"
        case .failed: "SCHEDULE_STATE_FAILED"
        default: "SCHEDULE_STATE_UNSPECIFIED"
        }
    }
}

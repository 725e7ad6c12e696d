import Contracts
import ExactNumbers
import Execution
import Foundation
import KeelOps
import KeelStore
import KeelWire
import Logging

/// The schedule engine's orders: polling and amending working ones, and the venues' pacing
/// queues that submit, amend and cancel them one at a time.
extension ScheduleEngine {
    // MARK: poll and amend

    func poll(_ id: String, now: Int64) async throws {
        guard var entry = live[id] else { return }
        var events: [ScheduleEvent] = []
        var orders: [ScheduleOrderRow] = []
        var timersRestarted = false
        for (i, k) in working(entry) where entry.schedule.legs[i].rounds[k].state == .working {
            let round = entry.schedule.legs[i].rounds[k]
            guard let order = try await broker.order(clientOrderID: round.clientOrderID) else { continue }
            let (more, row) = try apply(order, to: &entry, leg: i, round: k, now: now)
            events += more
            orders.append(row)
            let current = entry.schedule.legs[i].rounds[k]
            guard current.state == .working, !entry.schedule.state.isTerminal, !entry.times.marketOrders,
                  now - current.lastSubmitOrAmendAtMs >= entry.times.amendAfterMs,
                  !queued(.amend, id, leg: i, round: k) else { continue }
            let leg = entry.schedule.legs[i]
            guard let quote = try await broker.quote(venue: entry.schedule.venue, symbol: leg.symbol, accountID: entry.schedule.accountID) else { continue }
            let limit = PacedExecution.limitPrice(quote: quote, tick: config.tickSize(venue: entry.schedule.venue, symbol: leg.symbol), sell: leg.side == .sell)
            if try limit == Self.decimal(current.limitPrice) {
                // The market is where the order is: nothing to send, the timer restarts.
                entry.schedule.legs[i].rounds[k].lastSubmitOrAmendAtMs = now
                timersRestarted = true
            } else {
                enqueue(.amend, entry, leg: i, round: k, now: now)
            }
        }
        let before = entry.schedule.state
        events += try settleState(&entry, now: now)
        guard !events.isEmpty || !orders.isEmpty || timersRestarted || before != entry.schedule.state else { return }
        try await save(&entry, events: events, orders: orders, now: now)
    }

    // MARK: the pacing queues

    func enqueue(_ kind: TaskKind, _ entry: Live, leg: Int, round: Int, now: Int64) {
        let venue = entry.schedule.venue.lowercased()
        guard !queued(kind, entry.schedule.scheduleID, leg: leg, round: round) else { return }
        queues[venue, default: VenueQueue()].tasks.append(PacedTask(scheduleID: entry.schedule.scheduleID, kind: kind, leg: leg, round: round, enqueuedAtMs: now))
    }

    func queued(_ kind: TaskKind, _ id: String, leg: Int, round: Int) -> Bool {
        queues.values.contains { $0.tasks.contains { $0.scheduleID == id && $0.kind == kind && $0.leg == leg && $0.round == round } }
    }

    func pacingInterval(_ venue: String) -> Int64 {
        Int64(config.policy(for: venue)?.pacingIntervalMs ?? 10_000)
    }

    func runQueues() async {
        for venue in queues.keys.sorted() {
            while let task = queues[venue]?.tasks.first {
                let start = max(task.enqueuedAtMs, queues[venue]!.nextStartMs)
                guard clock() >= start else { break }
                queues[venue]!.tasks.removeFirst()
                let retry: Bool
                do {
                    try await run(task)
                    retry = false
                } catch let error as UnreadableStoredValue {
                    await fail(task.scheduleID, unreadable: error)
                    retry = false
                } catch {
                    logger.error("paced task failed; will retry", metadata: [
                        "schedule_id": "\(task.scheduleID)", "task": "\(task.kind)", "round": "\(task.round + 1)", "error": "\(error)",
                    ])
                    retry = true
                }
                // The gap runs from the end of this task, failed or not.
                queues[venue]!.nextStartMs = clock() + pacingInterval(venue)
                if retry {
                    queues[venue]!.tasks.insert(task, at: 0)
                    break
                }
            }
        }
    }

    func run(_ task: PacedTask) async throws {
        switch task.kind {
        case .submit: try await submit(task)
        case .amend: try await amend(task)
        case .cancel: try await cancelOrder(task)
        }
    }

    /// The round's quantity from what the broker holds and what was committed, the order
    /// row written with the round (the outbox), then the broker.
    func submit(_ task: PacedTask) async throws {
        guard var entry = live[task.scheduleID], !entry.schedule.state.isTerminal else { return }
        let (i, k) = (task.leg, task.round)
        var round = entry.schedule.legs[i].rounds[k]
        guard round.state == .queued else { return }
        let now = clock()
        guard now < entry.times.sessionEndMs else { return }
        let leg = entry.schedule.legs[i]
        let sell = leg.side == .sell
        let account = entry.schedule.accountID
        let venue = entry.schedule.venue
        let lot = try Self.lot(of: leg)
        var events: [ScheduleEvent] = []

        if round.clientOrderID.isEmpty {
            guard let quote = try await broker.quote(venue: venue, symbol: leg.symbol, accountID: account) else {
                entry.schedule.legs[i].rounds[k].state = .failed
                entry.schedule.legs[i].rounds[k].note = "no quote for \(leg.symbol)"
                events.append(event(.roundFailed, entry, leg: i, round: k, message: "no quote for \(leg.symbol)"))
                events += try settleState(&entry, now: now)
                try await save(&entry, events: events, now: now)
                return
            }
            let limit = entry.times.marketOrders ? quote : PacedExecution.limitPrice(quote: quote, tick: config.tickSize(venue: venue, symbol: leg.symbol), sell: sell)
            let isLast = k == leg.rounds.count - 1
            let size: RoundOrderSize
            if sell {
                let holding = try await broker.holding(accountID: account, venue: venue, symbol: leg.symbol)
                let workingSells = try working(entry).filter { entry.schedule.legs[$0.0].side == .sell && entry.schedule.legs[$0.0].symbol == leg.symbol }
                    .reduce(ExactDecimal.zero) { try $0 + Self.remaining(entry.schedule.legs[$1.0].rounds[$1.1]) }
                size = PacedExecution.sellRound(
                    plannedQty: try Self.decimal(round.plannedQty), isLast: isLast, totalQty: try Self.decimal(leg.totalQty),
                    committed: try committedQuantity(leg, before: k), holding: holding, workingSells: workingSells, lot: lot)
            } else {
                let planned = try leg.rounds[0...k].reduce(ExactDecimal.zero) { try $0 + Self.decimal($1.plannedAmount) }
                size = PacedExecution.buyRound(
                    cumulativePlanned: planned, isLast: isLast, totalAmount: try Self.decimal(leg.totalAmount),
                    committedAmount: try committedAmount(leg, before: k), plannedAmount: try Self.decimal(round.plannedAmount),
                    orderableCash: try await broker.orderableCash(accountID: account), limit: limit, lot: lot)
            }
            let (quantity, corrected, message) = (size.quantity, size.corrected, size.note)
            if corrected {
                round.corrected = true
                entry.schedule.legs[i].rounds[k].corrected = true
                events.append(event(.lastRoundCorrected, entry, leg: i, round: k, qty: quantity, message: message))
            }
            if quantity.signum <= 0 {
                entry.schedule.legs[i].rounds[k].state = .skipped
                entry.schedule.legs[i].rounds[k].orderQty = "0"
                events.append(event(.roundSkipped, entry, leg: i, round: k, qty: .zero, message: sell ? "nothing sellable for this round" : "no budget or cash for this round"))
                events += try settleState(&entry, now: now)
                try await save(&entry, events: events, now: now)
                return
            }
            if let violation = try await riskViolation(
                account: account, order: RiskOrder(venue: venue, symbol: leg.symbol, quantity: sell ? -quantity : quantity,
                                                   limitPrice: entry.times.marketOrders ? nil : limit, referencePrice: quote)) {
                entry.schedule.legs[i].rounds[k].state = .failed
                entry.schedule.legs[i].rounds[k].note = violation.error.message
                events.append(event(.roundFailed, entry, leg: i, round: k, qty: quantity, message: violation.error.message))
                events += try settleState(&entry, now: now)
                try await save(&entry, events: events, now: now)
                return
            }
            round.clientOrderID = PacedExecution.clientOrderID(scheduleID: entry.schedule.scheduleID, sell: sell, symbol: leg.symbol, round: k + 1)
            round.orderQty = quantity.description
            round.limitPrice = limit.description
            entry.schedule.legs[i].rounds[k] = round
            // The outbox: the round and its order row, before the broker sees anything.
            try await save(&entry, events: events, orders: [orderRow(entry, leg: i, round: k, status: .pending)], now: now)
            events = []
            Failpoint.hit("schedule.after_outbox")
        } else if let known = try await broker.order(clientOrderID: round.clientOrderID) {
            // Written and sent before a restart: the broker's answer stands.
            try await record(known, entry: &entry, leg: i, round: k, now: now)
            return
        }
        // Sent now, or again with the same client order id (the broker deduplicates).
        round = entry.schedule.legs[i].rounds[k]
        let order = orderRow(entry, leg: i, round: k, status: .sent).order
        let limit = entry.times.marketOrders ? nil : try Self.decimal(round.limitPrice)
        let answer = try placed(try await broker.place(order, limit: limit, lot: lot, accountID: account), order: order, limit: limit)
        try await record(answer, entry: &entry, leg: i, round: k, now: now)
    }

    /// A placement's answer: WORKING (or FILLED) with ROUND_SUBMITTED, or FAILED with ROUND_FAILED.
    func record(_ answer: BrokerOrder, entry: inout Live, leg i: Int, round k: Int, now: Int64) async throws {
        var events: [ScheduleEvent] = []
        let round = entry.schedule.legs[i].rounds[k]
        if answer.status == .rejected || answer.venueOrderID.isEmpty {
            entry.schedule.legs[i].rounds[k].state = .failed
            entry.schedule.legs[i].rounds[k].note = answer.reason.isEmpty ? "the broker returned no order id" : answer.reason
            try events.append(event(.roundFailed, entry, leg: i, round: k, qty: Self.decimal(round.orderQty), price: round.limitPrice,
                                message: entry.schedule.legs[i].rounds[k].note))
        } else {
            entry.schedule.legs[i].rounds[k].brokerOrderID = answer.venueOrderID
            entry.schedule.legs[i].rounds[k].lastSubmitOrAmendAtMs = now
            entry.schedule.legs[i].rounds[k].state = .working
            try events.append(event(.roundSubmitted, entry, leg: i, round: k, qty: Self.decimal(round.orderQty), price: round.limitPrice,
                                message: "order \(answer.venueOrderID) accepted"))
        }
        let (fills, row) = try apply(answer, to: &entry, leg: i, round: k, now: now)
        events += fills
        events += try settleState(&entry, now: now)
        try await save(&entry, events: events, orders: [row], now: now)
    }

    func amend(_ task: PacedTask) async throws {
        // A finished schedule's orders are only cancelled or left to end, never amended.
        guard var entry = live[task.scheduleID], !entry.schedule.state.isTerminal else { return }
        let (i, k) = (task.leg, task.round)
        guard entry.schedule.legs[i].rounds[k].state == .working, !entry.times.marketOrders else { return }
        let now = clock()
        let leg = entry.schedule.legs[i]
        let round = leg.rounds[k]
        guard let current = try await broker.order(clientOrderID: round.clientOrderID) else { return }
        var (events, row) = try apply(current, to: &entry, leg: i, round: k, now: now)
        var rows = [row]
        if current.isWorking, let quote = try await broker.quote(venue: entry.schedule.venue, symbol: leg.symbol, accountID: entry.schedule.accountID) {
            let sell = leg.side == .sell
            let oldLimit = try Self.decimal(round.limitPrice)
            let newLimit = PacedExecution.limitPrice(quote: quote, tick: config.tickSize(venue: entry.schedule.venue, symbol: leg.symbol), sell: sell)
            let lot = try Self.lot(of: leg)
            if newLimit == oldLimit {
                entry.schedule.legs[i].rounds[k].lastSubmitOrAmendAtMs = now
            } else {
                let remainder = current.remaining
                let quantity = try sell ? remainder : PacedExecution.amendedBuyQuantity(
                    remainder: remainder, oldLimit: oldLimit, newLimit: newLimit, totalAmount: Self.decimal(leg.totalAmount),
                    committedAmount: committedAmount(entry.schedule.legs[i], before: leg.rounds.count),
                    orderableCash: try await broker.orderableCash(accountID: entry.schedule.accountID), lot: lot)
                // An amend is a new order at the venue: the pre-trade limits apply to it, the collar included.
                let refused = quantity.signum > 0 ? try await riskViolation(
                    account: entry.schedule.accountID,
                    order: RiskOrder(venue: entry.schedule.venue, symbol: leg.symbol, quantity: sell ? -quantity : quantity, limitPrice: newLimit, referencePrice: quote)) : nil
                if quantity.signum <= 0 || refused != nil {
                    let cancelled = try await standing(after: try await broker.cancel(clientOrderID: round.clientOrderID), clientOrderID: round.clientOrderID)
                    let (more, row) = try apply(cancelled, to: &entry, leg: i, round: k, now: now)
                    let why = refused.map { "\($0.error.message); cancelled instead of amended" } ?? "no budget left at \(newLimit); cancelled instead of amended"
                    events += more + [event(.orderCancelled, entry, leg: i, round: k, qty: remainder, message: why)]
                    rows.append(row)
                } else {
                    let amended = try await standing(
                        after: try await broker.amend(clientOrderID: round.clientOrderID, remaining: quantity, limit: newLimit), clientOrderID: round.clientOrderID)
                    if amended.isWorking || amended.limit == newLimit {
                        entry.schedule.legs[i].rounds[k].limitPrice = newLimit.description
                        entry.schedule.legs[i].rounds[k].amendCount += 1
                        entry.schedule.legs[i].rounds[k].lastSubmitOrAmendAtMs = now
                        events.append(event(.orderAmended, entry, leg: i, round: k, qty: quantity, price: newLimit.description,
                                            message: "amended from \(oldLimit) to \(newLimit)"))
                    }
                    let (more, row) = try apply(amended, to: &entry, leg: i, round: k, now: now)
                    events += more
                    rows.append(row)
                }
            }
        }
        events += try settleState(&entry, now: now)
        try await save(&entry, events: events, orders: rows, now: now)
    }

    func cancelOrder(_ task: PacedTask) async throws {
        guard var entry = live[task.scheduleID] else { return }
        let (i, k) = (task.leg, task.round)
        let round = entry.schedule.legs[i].rounds[k]
        guard round.state == .working || (round.state == .queued && !round.clientOrderID.isEmpty) else { return }
        let now = clock()
        guard try await broker.order(clientOrderID: round.clientOrderID) != nil else {
            // Written but never sent: it was not issued.
            entry.schedule.legs[i].rounds[k].state = .pending
            entry.schedule.legs[i].rounds[k].note = "not issued"
            try await save(&entry, events: [], orders: [orderRow(entry, leg: i, round: k, status: .cancelled)], now: now)
            return
        }
        let cancelled = try await standing(after: try await broker.cancel(clientOrderID: round.clientOrderID), clientOrderID: round.clientOrderID)
        var (events, row) = try apply(cancelled, to: &entry, leg: i, round: k, now: now)
        try events.append(event(.orderCancelled, entry, leg: i, round: k, qty: Self.decimal(round.orderQty) - Self.decimal(entry.schedule.legs[i].rounds[k].filledQty),
                            message: "cancelled with \(entry.schedule.legs[i].rounds[k].filledQty) of \(round.orderQty) filled"))
        events += try settleState(&entry, now: now)
        try await save(&entry, events: events, orders: [row], now: now)
    }

    /// The account's first pre-trade limit `order` would break (counted in the metric), or nil;
    /// the broker's positions are read only when the account has limits.
    func riskViolation(account: String, order: RiskOrder) async throws -> RiskViolation? {
        guard let limits = config.risk.limits(for: account) else { return nil }
        guard let violation = PreTradeRisk.check([order], exposure: try await broker.exposure(accountID: account), limits: limits)[0] else { return nil }
        RiskMetrics.violation(violation.error)
        return violation
    }

    // MARK: outcomes

    /// A placement's outcome as the round's order: a refusal is a REJECTED order with the venue's
    /// words; an unknown outcome throws, and the round's order is looked up on a later pass (never
    /// placed under a new client order id).
    func placed(_ outcome: BrokerOutcome, order: VenueOrder, limit: ExactDecimal?) throws -> BrokerOrder {
        switch outcome {
        case .accepted(let report):
            return report
        case .rejected(let rejection):
            return .rejected(quantity: try Self.decimal(order.quantity), limit: limit, rejection)
        case .unknown(let cause):
            throw BrokerOutcomeUnknown(clientOrderID: order.clientOrderID, cause: cause)
        }
    }

    /// The order after an amend or a cancel: as the answer reports it, or, when the venue refused
    /// the change because the order had ended, as the venue has it now. A refusal of a change to an
    /// order still working (a pause, a clock error) throws, so that the task is tried again rather
    /// than taken as done.
    func standing(after outcome: BrokerOutcome, clientOrderID: String) async throws -> BrokerOrder {
        switch outcome {
        case .accepted(let report):
            return report
        case .rejected(let rejection):
            guard let order = try await broker.order(clientOrderID: clientOrderID), !order.isWorking else {
                throw BrokerOutcomeUnknown(clientOrderID: clientOrderID, cause: "the venue refused the change (\(rejection.message)) and the order is not known to have ended")
            }
            return order
        case .unknown(let cause):
            throw BrokerOutcomeUnknown(clientOrderID: clientOrderID, cause: cause)
        }
    }
}

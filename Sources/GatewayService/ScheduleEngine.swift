import Contracts
import ExactNumbers
import Execution
import Foundation
import KeelOps
import KeelStore
import KeelWire
import Logging
import NIOConcurrencyHelpers

/// Drives paced schedules: starts phases at or after their start, queues
/// due rounds on the venue's pacing queue, sizes each order when its task runs, polls working
/// orders and amends stale ones, ends the session, and resumes after a restart. Every change is
/// one store transaction with its `schedule.progress` events, made before the engine's memory
/// follows it.
///
/// `tick()` does all of it for the clock's current instant and is what tests call; the process
/// runs it in a loop that wakes at the next due instant (at most 15 s later) or on `kick()`.
public final class ScheduleEngine: @unchecked Sendable {
    let store: GatewayStore
    let broker: any PacedBroker
    let config: GatewayConfig
    let clock: @Sendable () -> Int64
    let logger: Logger
    private let mutex = AsyncMutex()
    private let wakeups = CommitSignal()
    private let kicks = NIOLockedValueBox<UInt64>(0)

    // Only touched while `mutex` is held.
    private var live: [String: Live] = [:]
    private var queues: [String: VenueQueue] = [:]
    private var loaded = false

    struct Live {
        var schedule: Schedule
        var times: ResolvedSchedulePolicy
        var buysWaitingEmitted: Bool
        /// Index of the last poll since the first phase start; -1 = none yet in this process.
        var lastPoll: Int64 = -1
    }

    enum TaskKind: Equatable { case submit, amend, cancel }

    struct PacedTask: Equatable {
        var scheduleID: String
        var kind: TaskKind
        var leg: Int
        var round: Int
        var enqueuedAtMs: Int64
    }

    /// One FIFO per venue: a task starts at `max(enqueued, end of the previous task + interval)`.
    struct VenueQueue {
        var tasks: [PacedTask] = []
        var nextStartMs: Int64 = .min
    }

    public init(store: GatewayStore, broker: any PacedBroker, config: GatewayConfig, clock: @escaping @Sendable () -> Int64 = nowMs,
                logger: Logger = Logger(label: "keel.gateway.schedules")) {
        self.store = store
        self.broker = broker
        self.config = config
        self.clock = clock
        self.logger = logger
    }

    // MARK: running

    /// The engine's loop, until cancelled: `tick()` at the next due instant, at least every 15 s,
    /// and on `kick()`. The process host runs it.
    public func run() async {
        while !Task.isCancelled {
            let seen = wakeups.latest
            let next = await tick()
            let wait = max(0, min(next - clock(), 15_000))
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Task.sleep(for: .milliseconds(wait)) }
                group.addTask { await self.wakeups.wait(after: seen) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Something changed (a schedule was started or cancelled): tick now.
    public func kick() {
        let next = kicks.withLockedValue { count -> UInt64 in
            count += 1
            return count
        }
        wakeups.committed(upTo: next)
    }

    /// Everything due at the clock's instant; answers the instant the engine next has work.
    @discardableResult
    public func tick() async -> Int64 {
        await mutex.withLock {
            do {
                try await loadOnce()
            } catch {
                logger.error("schedules could not be loaded; will retry", metadata: ["error": "\(error)"])
                return clock() + 15_000
            }
            for id in liveIDs() { await advance(id) }
            await runQueues()
            for id in liveIDs() where live[id].map({ !isLive($0) }) ?? false { live[id] = nil }
            return nextWake()
        }
    }

    /// At start-up: every live schedule loaded and its orders reconciled with the broker.
    public func load() async throws {
        try await mutex.withLock { try await loadOnce() }
    }

    /// The first step of this process loads (and reconciles) what the store holds.
    func loadOnce() async throws {
        guard !loaded else { return }
        try await resume()
        loaded = true
    }

    /// A schedule StartSchedule has just written (loading the store first picks it up as well).
    func adopt(_ stored: StoredSchedule) async {
        await mutex.withLock {
            if loaded, live[stored.schedule.scheduleID] == nil, let entry = try? Self.live(stored) {
                live[stored.schedule.scheduleID] = entry
            }
        }
        kick()
    }

    func liveIDs() -> [String] {
        live.values.sorted { ($0.schedule.createdAtMs, $0.schedule.scheduleID) < ($1.schedule.createdAtMs, $1.schedule.scheduleID) }.map(\.schedule.scheduleID)
    }

    static func live(_ stored: StoredSchedule) throws -> Live {
        let schedule = stored.schedule
        let times = try PacedExecution.resolve(
            schedule.policy, sellEnabled: schedule.legs.contains { $0.side == .sell }, buyEnabled: schedule.legs.contains { $0.side == .buy },
            nowMs: schedule.createdAtMs)
        return Live(schedule: schedule, times: times, buysWaitingEmitted: stored.buysWaitingEmitted)
    }

    // MARK: cancel

    /// CancelSchedule: no new rounds, working orders cancelled through the queue.
    func cancel(_ id: String, reason: String) async throws -> Schedule {
        try await mutex.withLock {
            try await loadOnce()
            var entry: Live
            if let current = live[id] {
                entry = current
            } else {
                guard let stored = try await store.storedSchedule(id: id) else {
                    throw RPCError.field(.scheduleNotFound, field: "schedule_id", "no schedule \(id)")
                }
                entry = try Self.live(stored)
            }
            switch entry.schedule.state {
            case .cancelled: return entry.schedule
            case .completed, .expired, .failed:
                throw RPCError.field(.scheduleFinished, field: "schedule_id",
                                     "schedule \(id) is already \(Self.name(entry.schedule.state))", metadata: ["state": Self.name(entry.schedule.state)])
            default: break
            }
            let now = clock()
            let working = unissue(&entry, note: "not issued: the schedule was cancelled")
            entry.schedule.state = .cancelled
            entry.schedule.finishedAtMs = now
            entry.schedule.stateReason = reason.isEmpty ? "cancelled" : reason
            try await save(&entry, events: [event(.cancelled, entry, message: entry.schedule.stateReason)], now: now)
            for (leg, round) in working { enqueue(.cancel, entry, leg: leg, round: round, now: now) }
            logger.info("schedule cancelled", metadata: ["schedule_id": "\(id)", "working_orders": "\(working.count)"])
            return entry.schedule
        }
    }

    // MARK: resume

    func resume() async throws {
        for stored in try await store.liveSchedules() {
            do {
                try await resume(stored)
            } catch let error as UnreadableStoredValue {
                live[stored.schedule.scheduleID] = try Self.live(stored)
                await fail(stored.schedule.scheduleID, unreadable: error)
            }
        }
    }

    func resume(_ stored: StoredSchedule) async throws {
        var entry = try Self.live(stored)
        let now = clock()
        var events = [event(.resumed, entry, message: "the gateway restarted; resuming")]
        var orders: [ScheduleOrderRow] = []
        var unknown: [String] = []
        for (i, leg) in entry.schedule.legs.enumerated() {
            for (k, round) in leg.rounds.enumerated() where round.state == .working {
                guard let order = try await broker.restingOrder(clientOrderID: round.clientOrderID) else {
                    // Acknowledged before the stop, unknown now: it cannot be reconciled.
                    unknown.append(round.clientOrderID)
                    entry.schedule.legs[i].rounds[k].state = .failed
                    entry.schedule.legs[i].rounds[k].note = "unknown to the broker after acknowledgement"
                    continue
                }
                let (more, row) = try apply(order, to: &entry, leg: i, round: k, now: now)
                events += more
                orders.append(row)
            }
        }
        if !unknown.isEmpty, !entry.schedule.state.isTerminal {
            entry.schedule.state = .failed
            entry.schedule.finishedAtMs = now
            entry.schedule.stateReason = "orders unknown to the broker after acknowledgement: \(unknown.joined(separator: ", "))"
            events.append(event(.failed, entry, message: entry.schedule.stateReason))
        }
        try await save(&entry, events: events, orders: orders, now: now)
        logger.info("schedule resumed", metadata: ["schedule_id": "\(entry.schedule.scheduleID)", "state": "\(Self.name(entry.schedule.state))"])
        // Rounds that were queued go first, in index order; then whatever came due meanwhile.
        for (leg, round) in roundsInIndexOrder(entry) where entry.schedule.legs[leg].rounds[round].state == .queued {
            enqueue(.submit, entry, leg: leg, round: round, now: now)
        }
        if wantsCancels(entry) {
            for (leg, round) in working(entry) { enqueue(.cancel, entry, leg: leg, round: round, now: now) }
        }
    }

    // MARK: advancing one schedule

    func advance(_ id: String) async {
        let now = clock()
        do {
            // The poll first, so that fills it finds count for this tick's gates.
            if var entry = live[id], let start = firstPhaseStart(entry), !working(entry).isEmpty || !entry.schedule.state.isTerminal {
                let index = (now - start) / entry.times.pollIntervalMs
                if index > entry.lastPoll {
                    entry.lastPoll = index
                    live[id] = entry
                    try await poll(id, now: now)
                }
            }
            guard var entry = live[id], !entry.schedule.state.isTerminal else { return }
            if now >= entry.times.sessionEndMs {
                try await endSession(&entry, now: now)
            } else {
                try await startPhasesAndQueueRounds(&entry, now: now)
            }
        } catch let error as UnreadableStoredValue {
            await fail(id, unreadable: error)
        } catch {
            logger.error("schedule step failed; will retry", metadata: ["schedule_id": "\(id)", "error": "\(error)"])
        }
    }

    /// A schedule with a stored value that cannot be read is FAILED, with an event and a log line
    /// that say which; it never runs on a made-up number. Its working orders stay with the broker
    /// for an operator to look at.
    func fail(_ id: String, unreadable error: UnreadableStoredValue) async {
        var named = error
        named.row = id
        logger.error("schedule failed: a stored value cannot be read", metadata: ["schedule_id": "\(id)", "detail": "\(named)"])
        guard var entry = live[id], !entry.schedule.state.isTerminal else { return }
        let now = clock()
        entry.schedule.state = .failed
        entry.schedule.finishedAtMs = now
        entry.schedule.stateReason = named.description
        do {
            try await save(&entry, events: [event(.failed, entry, message: named.description)], now: now, legTotals: false)
        } catch {
            logger.error("schedule could not be marked failed", metadata: ["schedule_id": "\(id)", "error": "\(error)"])
        }
    }

    func startPhasesAndQueueRounds(_ entry: inout Live, now: Int64) async throws {
        var events: [ScheduleEvent] = []
        let legs = entry.schedule.legs
        let end = entry.times.sessionEndMs
        if legs.contains(where: { $0.side == .sell }), let start = entry.times.sellStartMs,
           PacedExecution.startPhase(now: now, start: start, sessionEnd: end, enabled: true, started: entry.schedule.sellStartedAtMs != 0) {
            entry.schedule.sellStartedAtMs = now
            setDueTimes(&entry, side: .sell, start: now)
            events.append(event(.phaseStarted, entry, side: .sell, message: "sell phase started"))
        }
        if legs.contains(where: { $0.side == .buy }), let start = entry.times.buyStartMs, entry.schedule.buyStartedAtMs == 0 {
            let cleared = sellsCleared(entry)
            if PacedExecution.startPhase(now: now, start: start, sessionEnd: end, enabled: true, started: false, sellsCleared: cleared) {
                entry.schedule.buyStartedAtMs = now
                setDueTimes(&entry, side: .buy, start: now)
                events.append(event(.phaseStarted, entry, side: .buy, message: "buy phase started"))
            } else if start <= now, !cleared, !entry.buysWaitingEmitted {
                entry.buysWaitingEmitted = true
                events.append(event(.buysWaiting, entry, side: .buy, message: "buy start reached; waiting for the sells to clear"))
            }
        }
        var due: [(Int, Int)] = []
        for (i, k) in roundsInIndexOrder(entry) {
            let round = entry.schedule.legs[i].rounds[k]
            if round.state == .pending, phaseStarted(entry, entry.schedule.legs[i].side), round.dueAtMs <= now {
                entry.schedule.legs[i].rounds[k].state = .queued
                due.append((i, k))
            }
        }
        let before = entry.schedule.state
        events += try settleState(&entry, now: now)
        guard !events.isEmpty || !due.isEmpty || before != entry.schedule.state else { return }
        try await save(&entry, events: events, now: now)
        for (leg, round) in due { enqueue(.submit, entry, leg: leg, round: round, now: now) }
    }

    func setDueTimes(_ entry: inout Live, side: Keel_Gateway_V1_OrderSide, start: Int64) {
        for i in entry.schedule.legs.indices where entry.schedule.legs[i].side == side {
            for k in entry.schedule.legs[i].rounds.indices {
                entry.schedule.legs[i].rounds[k].dueAtMs = start + Int64(k) * entry.times.roundIntervalMs
            }
        }
    }

    /// Session end: no new round; working orders cancelled when the policy says so.
    func endSession(_ entry: inout Live, now: Int64) async throws {
        let working = unissue(&entry, note: "not issued before the session end")
        let unissued = entry.schedule.legs.flatMap(\.rounds).filter { $0.state == .pending }.count
        let kind: Keel_Gateway_V1_ScheduleEventKind
        if unissued == 0, working.isEmpty {
            entry.schedule.state = .completed
            entry.schedule.stateReason = try shortfall(entry)
            kind = .completed
        } else {
            entry.schedule.state = .expired
            var parts = ["session ended"]
            if unissued > 0 { parts.append("\(unissued) round\(unissued == 1 ? "" : "s") not issued") }
            if !working.isEmpty { parts.append("\(working.count) order\(working.count == 1 ? "" : "s") working") }
            let short = try shortfall(entry)
            entry.schedule.stateReason = parts.joined(separator: ", ") + (short.isEmpty ? "" : "; " + short)
            kind = .expired
        }
        entry.schedule.finishedAtMs = now
        try await save(&entry, events: [event(kind, entry, message: entry.schedule.stateReason)], now: now)
        logger.info("schedule session ended", metadata: ["schedule_id": "\(entry.schedule.scheduleID)", "state": "\(Self.name(entry.schedule.state))"])
        if wantsCancels(entry) {
            for (leg, round) in working { enqueue(.cancel, entry, leg: leg, round: round, now: now) }
        }
    }

    /// Rounds not yet issued go back to PENDING with `note` (their queued tasks are dropped);
    /// answers the rounds with an order at the broker (or possibly there), to cancel.
    func unissue(_ entry: inout Live, note: String) -> [(Int, Int)] {
        let id = entry.schedule.scheduleID
        for venue in queues.keys {
            queues[venue]!.tasks.removeAll { $0.scheduleID == id && $0.kind == .submit && entry.schedule.legs[$0.leg].rounds[$0.round].clientOrderID.isEmpty }
        }
        for i in entry.schedule.legs.indices {
            for k in entry.schedule.legs[i].rounds.indices {
                let round = entry.schedule.legs[i].rounds[k]
                if round.state == .pending || (round.state == .queued && round.clientOrderID.isEmpty) {
                    entry.schedule.legs[i].rounds[k].state = .pending
                    entry.schedule.legs[i].rounds[k].note = note
                }
            }
        }
        return working(entry)
    }

    // MARK: poll and amend

    func poll(_ id: String, now: Int64) async throws {
        guard var entry = live[id] else { return }
        var events: [ScheduleEvent] = []
        var orders: [ScheduleOrderRow] = []
        var timersRestarted = false
        for (i, k) in working(entry) where entry.schedule.legs[i].rounds[k].state == .working {
            let round = entry.schedule.legs[i].rounds[k]
            guard let order = try await broker.restingOrder(clientOrderID: round.clientOrderID) else { continue }
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
        let lot = try Self.decimal(leg.lotSize).signum > 0 ? Self.decimal(leg.lotSize) : .one
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
            round.clientOrderID = PacedExecution.clientOrderID(scheduleID: entry.schedule.scheduleID, sell: sell, symbol: leg.symbol, round: k + 1)
            round.orderQty = quantity.description
            round.limitPrice = limit.description
            entry.schedule.legs[i].rounds[k] = round
            // The outbox: the round and its order row, before the broker sees anything.
            try await save(&entry, events: events, orders: [orderRow(entry, leg: i, round: k, status: .pending)], now: now)
            events = []
            Failpoint.hit("schedule.after_outbox")
        } else if let known = try await broker.restingOrder(clientOrderID: round.clientOrderID) {
            // Written and sent before a restart: the broker's answer stands.
            try await record(known, entry: &entry, leg: i, round: k, now: now)
            return
        }
        // Sent now, or again with the same client order id (the broker deduplicates).
        round = entry.schedule.legs[i].rounds[k]
        let order = orderRow(entry, leg: i, round: k, status: .sent).order
        let answer = try await broker.place(order, limit: entry.times.marketOrders ? nil : Self.decimal(round.limitPrice), lot: lot, accountID: account)
        try await record(answer, entry: &entry, leg: i, round: k, now: now)
    }

    /// A placement's answer: WORKING (or FILLED) with ROUND_SUBMITTED, or FAILED with ROUND_FAILED.
    func record(_ answer: RestingOrder, entry: inout Live, leg i: Int, round k: Int, now: Int64) async throws {
        var events: [ScheduleEvent] = []
        let round = entry.schedule.legs[i].rounds[k]
        if answer.status == .rejected || answer.brokerOrderID.isEmpty {
            entry.schedule.legs[i].rounds[k].state = .failed
            entry.schedule.legs[i].rounds[k].note = answer.reason.isEmpty ? "the broker returned no order id" : answer.reason
            try events.append(event(.roundFailed, entry, leg: i, round: k, qty: Self.decimal(round.orderQty), price: round.limitPrice,
                                message: entry.schedule.legs[i].rounds[k].note))
        } else {
            entry.schedule.legs[i].rounds[k].brokerOrderID = answer.brokerOrderID
            entry.schedule.legs[i].rounds[k].lastSubmitOrAmendAtMs = now
            entry.schedule.legs[i].rounds[k].state = .working
            try events.append(event(.roundSubmitted, entry, leg: i, round: k, qty: Self.decimal(round.orderQty), price: round.limitPrice,
                                message: "order \(answer.brokerOrderID) accepted"))
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
        guard let current = try await broker.restingOrder(clientOrderID: round.clientOrderID) else { return }
        var (events, row) = try apply(current, to: &entry, leg: i, round: k, now: now)
        var rows = [row]
        if current.isWorking, let quote = try await broker.quote(venue: entry.schedule.venue, symbol: leg.symbol, accountID: entry.schedule.accountID) {
            let sell = leg.side == .sell
            let oldLimit = try Self.decimal(round.limitPrice)
            let newLimit = PacedExecution.limitPrice(quote: quote, tick: config.tickSize(venue: entry.schedule.venue, symbol: leg.symbol), sell: sell)
            let lot = try Self.decimal(leg.lotSize).signum > 0 ? Self.decimal(leg.lotSize) : .one
            if newLimit == oldLimit {
                entry.schedule.legs[i].rounds[k].lastSubmitOrAmendAtMs = now
            } else {
                let remainder = current.remaining
                let quantity = try sell ? remainder : PacedExecution.amendedBuyQuantity(
                    remainder: remainder, oldLimit: oldLimit, newLimit: newLimit, totalAmount: Self.decimal(leg.totalAmount),
                    committedAmount: committedAmount(entry.schedule.legs[i], before: leg.rounds.count),
                    orderableCash: try await broker.orderableCash(accountID: entry.schedule.accountID), lot: lot)
                if quantity.signum <= 0 {
                    let cancelled = try await broker.cancel(clientOrderID: round.clientOrderID)
                    let (more, row) = try apply(cancelled, to: &entry, leg: i, round: k, now: now)
                    events += more + [event(.orderCancelled, entry, leg: i, round: k, qty: remainder, message: "no budget left at \(newLimit); cancelled instead of amended")]
                    rows.append(row)
                } else {
                    let amended = try await broker.amend(clientOrderID: round.clientOrderID, remaining: quantity, limit: newLimit)
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
        guard try await broker.restingOrder(clientOrderID: round.clientOrderID) != nil else {
            // Written but never sent: it was not issued.
            entry.schedule.legs[i].rounds[k].state = .pending
            entry.schedule.legs[i].rounds[k].note = "not issued"
            try await save(&entry, events: [], orders: [orderRow(entry, leg: i, round: k, status: .cancelled)], now: now)
            return
        }
        let cancelled = try await broker.cancel(clientOrderID: round.clientOrderID)
        var (events, row) = try apply(cancelled, to: &entry, leg: i, round: k, now: now)
        try events.append(event(.orderCancelled, entry, leg: i, round: k, qty: Self.decimal(round.orderQty) - Self.decimal(entry.schedule.legs[i].rounds[k].filledQty),
                            message: "cancelled with \(entry.schedule.legs[i].rounds[k].filledQty) of \(round.orderQty) filled"))
        events += try settleState(&entry, now: now)
        try await save(&entry, events: events, orders: [row], now: now)
    }

    // MARK: fills

    /// The broker's view of a round's order: fills as ORDER_FILL events, the round's state, and the order row.
    func apply(_ order: RestingOrder, to entry: inout Live, leg i: Int, round k: Int, now: Int64) throws -> ([ScheduleEvent], ScheduleOrderRow) {
        var round = entry.schedule.legs[i].rounds[k]
        var events: [ScheduleEvent] = []
        if !order.brokerOrderID.isEmpty { round.brokerOrderID = order.brokerOrderID }
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
            let lot = try Self.decimal(leg.lotSize).signum > 0 ? Self.decimal(leg.lotSize) : .one
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

/// A FIFO lock for async code: the engine's steps (ticks, starts, cancels) never interleave.
final class AsyncMutex: Sendable {
    private let state = NIOLockedValueBox<(locked: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func withLock<T>(_ body: () async throws -> T) async rethrows -> T {
        await lock()
        defer { unlock() }
        return try await body()
    }

    private func lock() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLockedValue { state -> Bool in
                if !state.locked {
                    state.locked = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    private func unlock() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}

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
public actor ScheduleEngine {
    let store: GatewayStore
    let broker: any Broker
    let config: GatewayConfig
    let clock: @Sendable () -> Int64
    let logger: Logger
    let wakeups = CommitSignal()
    private let kicks = NIOLockedValueBox<UInt64>(0)

    // The engine's state, touched by one step at a time (`oneStepAtATime`).
    var live: [String: Live] = [:]
    var queues: [String: VenueQueue] = [:]
    var loaded = false

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

    public init(store: GatewayStore, broker: any Broker, config: GatewayConfig, clock: @escaping @Sendable () -> Int64 = nowMs,
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

    /// A tick, a start's adoption or a cancel: one at a time. The actor alone would let another
    /// call in while a step awaits the broker or the store, and steps must not interleave (a
    /// cancel between a round's sizing and its save would be overwritten).
    private var stepping = false
    private var waitingSteps: [CheckedContinuation<Void, Never>] = []

    private func oneStepAtATime<T>(_ step: () async throws -> T) async rethrows -> T {
        if stepping {
            await withCheckedContinuation { waitingSteps.append($0) }
        }
        stepping = true
        defer {
            // The next waiting step takes over at once; the engine is free only when none waits.
            if waitingSteps.isEmpty { stepping = false } else { waitingSteps.removeFirst().resume() }
        }
        return try await step()
    }

    /// Something changed (a schedule was started or cancelled): tick now.
    public nonisolated func kick() {
        let next = kicks.withLockedValue { count -> UInt64 in
            count += 1
            return count
        }
        wakeups.committed(upTo: next)
    }

    /// Everything due at the clock's instant; answers the instant the engine next has work.
    @discardableResult
    public func tick() async -> Int64 {
        await oneStepAtATime {
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
        try await oneStepAtATime { try await loadOnce() }
    }

    /// The first step of this process loads (and reconciles) what the store holds.
    func loadOnce() async throws {
        guard !loaded else { return }
        try await resume()
        loaded = true
    }

    /// A schedule StartSchedule has just written (loading the store first picks it up as well).
    func adopt(_ stored: StoredSchedule) async {
        await oneStepAtATime {
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
        try await oneStepAtATime {
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
                guard let order = try await broker.order(clientOrderID: round.clientOrderID) else {
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
}

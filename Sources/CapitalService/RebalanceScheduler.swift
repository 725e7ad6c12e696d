import CapitalAllocation
import Contracts
import Foundation
import KeelStore
import Logging
import Metrics
import NIOConcurrencyHelpers

/// Where the scheduler's time comes from. Tests inject a clock they move by hand, so no test sleeps
/// on the wall clock.
public protocol SchedulerClock: Sendable {
    func now() -> Int64
    /// Returns once the clock reads `ms` or later; throws when the task is cancelled.
    func sleep(untilMs ms: Int64) async throws
}

/// The system clock, for the running service.
public struct SystemClock: SchedulerClock {
    public init() {}
    public func now() -> Int64 { nowMs() }
    public func sleep(untilMs ms: Int64) async throws {
        let wait = ms - nowMs()
        if wait > 0 { try await Task.sleep(for: .milliseconds(wait)) }
    }
}

/// What the scheduler reports to `GetRebalanceSchedule`.
final class SchedulerLeadership: Sendable {
    private let leader = NIOLockedValueBox(false)
    var isLeader: Bool {
        get { leader.withLockedValue { $0 } }
        set { leader.withLockedValue { $0 = newValue } }
    }
}

/// Each daily slot fires once per local day. The occurrence is claimed in its own transaction
/// before the run starts, so no restart runs it twice; one missed while the service was down runs
/// once within the grace window, else it is recorded MISSED. Only the holder of the store's lease
/// fires slots; another process on the same store stays passive.
public final class RebalanceScheduler: Sendable {
    public static let leaseMs: Int64 = 90_000
    public static let renewMs: Int64 = 30_000

    let service: CapitalService
    let clock: any SchedulerClock
    let holder: String
    let logger: Logger
    /// Whether this process has recorded the runs a previous process left unfinished.
    private let cleanedUp = NIOLockedValueBox(false)

    public init(service: CapitalService, clock: any SchedulerClock, holder: String = "capital-\(UUID().uuidString.prefix(8))", logger: Logger) {
        self.service = service
        self.clock = clock
        self.holder = holder
        self.logger = logger
    }

    var schedule: CapitalSettings.Schedule { service.settings.schedule }
    var store: CapitalStore { service.store }

    /// One wake-up: renew the lease, then the due decision; answers when to wake next.
    @discardableResult
    public func tick() async throws -> Int64 {
        let now = clock.now()
        let renewAt = now + Self.renewMs
        guard schedule.enabled else { return renewAt }
        let leader = try await store.scheduler.acquireLease(holder: holder, nowMs: now, ttlMs: Self.leaseMs)
        if leader != service.leadership.isLeader {
            logger.info(leader ? "scheduler lease acquired" : "scheduler passive: another process holds the lease", metadata: ["holder": "\(holder)"])
        }
        service.leadership.isLeader = leader
        guard leader else { return renewAt }
        if !cleanedUp.withLockedValue({ $0 }) {
            let interrupted = try await store.scheduler.markInterruptedRuns(nowMs: now)
            if interrupted > 0 { logger.warning("schedule runs interrupted by a stop are not repeated", metadata: ["runs": "\(interrupted)"]) }
            cleanedUp.withLockedValue { $0 = true }
        }
        let daily = schedule.daily
        var recorded = Set<String>()
        for slot in daily.slots {
            if let occurrence = daily.latest(slot, atOrBefore: now), try await store.scheduler.scheduleRunExists(slot: slot.description, atMs: occurrence) {
                recorded.insert("\(slot)@\(occurrence)")
            }
        }
        let due = daily.due(now: now, graceSeconds: schedule.graceSeconds) { recorded.contains("\($0)@\($1)") }
        if !due.missed.isEmpty {
            let missed = due.missed.map { (slot: $0.slot.description, atMs: $0.at) }
            _ = try await store.scheduler.claim(missed, outcome: .missed, nowMs: now)
            Counter(label: "keel_capital_schedule_slots_total", dimensions: [("outcome", "missed")]).increment(by: missed.count)
            logger.warning("schedule slots missed beyond the grace window", metadata: ["slots": "\(missed.map(\.slot))", "grace_seconds": "\(schedule.graceSeconds)"])
        }
        if !due.run.isEmpty {
            let occurrences = due.run.map { (slot: $0.slot.description, atMs: $0.at) }
            // Claimed before the run: a crash from here on never runs these occurrences again.
            guard try await store.scheduler.claim(occurrences, outcome: .running, nowMs: now) else { return clock.now() }
            logger.info("schedule slot running", metadata: ["slots": "\(occurrences.map(\.slot))"])
            do {
                let result = try await service.autoRebalance(force: false, useLive: service.settings.autoUseLive, trigger: .schedule, service.downstream(nil))
                try await store.scheduler.finish(occurrences, outcome: .ran, rebalanced: Int(result.rebalanced), skipped: Int(result.skipped), failed: Int(result.failed), nowMs: clock.now())
                Counter(label: "keel_capital_schedule_slots_total", dimensions: [("outcome", "ran")]).increment(by: occurrences.count)
            } catch {
                logger.error("schedule run failed", metadata: ["error": "\(error)"])
                try await store.scheduler.finish(occurrences, outcome: .interrupted, rebalanced: 0, skipped: 0, failed: 0, nowMs: clock.now())
                Counter(label: "keel_capital_schedule_slots_total", dimensions: [("outcome", "interrupted")]).increment(by: occurrences.count)
            }
            // A slot may have fallen due during the run: decide again at once.
            return clock.now()
        }
        return min(due.nextAt ?? renewAt, renewAt)
    }

    /// The scheduler's loop, until cancelled; then the lease is released for another process.
    /// The process host runs it.
    public func run() async {
        while !Task.isCancelled {
            var next = clock.now() + Self.renewMs
            do {
                next = try await tick()
            } catch {
                logger.error("scheduler tick failed", metadata: ["error": "\(error)"])
            }
            do { try await clock.sleep(untilMs: next) } catch { break }
        }
        try? await store.scheduler.releaseLease(holder: holder)
        service.leadership.isLeader = false
    }
}

import CapitalAllocation
@testable import CapitalService
import Contracts
import Foundation
import KeelTestSupport
import KeelWire
import Testing

/// The scheduler with an injected clock (nothing sleeps): down-time examples, a restart in the
/// middle of a claimed slot, midnight, a zone without DST, and one leader per store.
@Suite struct SchedulerTests {
    static func kst(_ text: String) -> Int64 { ms(text + "+09:00") }

    /// The default settings, but the automatic paths read the db balance.
    static var settings: CapitalSettings {
        var settings = CapitalSettings()
        settings.autoUseLive = false
        return settings
    }

    /// An account that the first slot will rebalance (FIRST_ALLOCATION from the db balance).
    static func seed(_ h: CapitalHarness) async throws {
        try await h.account("a1")
        try await h.strategy("s1", account: "a1", strategyID: "alpha")
        try await h.balance("a1", "2026-03-01", "1000")
    }

    /// The recorded occurrences of the test's day (on first start every slot's latest occurrence
    /// before it, beyond grace, is recorded MISSED too: only each slot's latest occurrence is considered).
    static func runs(_ h: CapitalHarness, since: Int64 = kst("2026-03-02T00:00:00")) async throws -> [String] {
        try await h.capital.store.scheduler.scheduleRuns().filter { $0.atMs >= since }.map { run in
            let outcome = Keel_Capital_V1_SlotOutcome(rawValue: run.outcome) ?? .unspecified
            return "\(run.slot)@\(run.atMs == kst("2026-03-02T01:17:00") ? "today" : "\(run.atMs)") \(outcome) \(run.rebalanced)"
        }
    }

    @Test func aSlotMissedWithinGraceRunsOnceAfterStart() async throws {
        let clock = ManualClock(Self.kst("2026-03-02T01:20:00"))
        try await withCapital(settings: Self.settings, clock: clock) { h in
            try await Self.seed(h)
            let next = try await h.capital.scheduler.tick()
            #expect(try await Self.runs(h) == ["01:17@today ran 1"])
            #expect(try await h.getAccount("a1").strategyAccounts.first?.capital.allocatedCapital == "1000")
            // The run is over: decide again at once, then nothing is due before 04:52.
            #expect(next == clock.now())
            #expect(try await h.capital.scheduler.tick() == Self.kst("2026-03-02T01:20:30"))
            clock.set(Self.kst("2026-03-02T01:21:00"))
            try await h.capital.scheduler.tick()
            #expect(try await Self.runs(h) == ["01:17@today ran 1"])
            let list: Keel_Capital_V1_ListRebalanceRunsResponse = try await h.call(KeelRPC.capitalListRebalanceRuns, Keel_Capital_V1_ListRebalanceRunsRequest())
            #expect(list.runs.map(\.trigger) == [.schedule] && list.runs.first?.reason == .firstAllocation)
            let schedule: Keel_Capital_V1_GetRebalanceScheduleResponse = try await h.call(KeelRPC.capitalGetRebalanceSchedule, Keel_Capital_V1_GetRebalanceScheduleRequest())
            #expect(schedule.isLeader && schedule.timeZone == "Asia/Seoul" && schedule.graceSeconds == 600)
            #expect(schedule.nextSlotAtMs == Self.kst("2026-03-02T04:52:00"))
            #expect(schedule.slots.map { "\($0.hour):\($0.minute)" } == ["1:17", "4:52", "8:37", "12:22", "16:7", "19:52", "23:37"])
            #expect(schedule.slots[0].lastOutcome == .ran && schedule.slots[0].lastScheduledAtMs == Self.kst("2026-03-02T01:17:00"))
            #expect(schedule.slots[0].nextAtMs == Self.kst("2026-03-03T01:17:00"))
        }
    }

    @Test func aSlotMissedBeyondGraceIsRecordedAndNotRun() async throws {
        let clock = ManualClock(Self.kst("2026-03-02T01:40:00"))
        try await withCapital(settings: Self.settings, clock: clock) { h in
            try await Self.seed(h)
            let next = try await h.capital.scheduler.tick()
            #expect(try await Self.runs(h) == ["01:17@today missed 0"])
            #expect(next == Self.kst("2026-03-02T01:40:30"))  // the lease renewal comes before 04:52
            #expect(try await h.getAccount("a1").strategyAccounts.first?.hasCapital == false)
            clock.set(Self.kst("2026-03-02T04:52:00"))
            try await h.capital.scheduler.tick()
            #expect(try await Self.runs(h).last == "04:52@\(Self.kst("2026-03-02T04:52:00")) ran 1")
        }
    }

    /// A restart at 01:18:30 after the 01:17 run was claimed (the process died in the run): the
    /// occurrence is marked INTERRUPTED and nothing runs again.
    @Test func aClaimedSlotNeverRunsTwiceAcrossARestart() async throws {
        let directory = NSTemporaryDirectory() + "keel-cap-restart-\(UUID().uuidString)"
        let clock = ManualClock(Self.kst("2026-03-02T01:17:00"))
        try await withCapital(settings: Self.settings, clock: clock, dataDirectory: directory) { h in
            try await Self.seed(h)
        }
        // The claim as a dying process left it: RUNNING, no finish.
        let store = try CapitalStore(path: directory + "/keel-capital.sqlite")
        _ = try await store.scheduler.acquireLease(holder: "dead", nowMs: clock.now(), ttlMs: 1)
        _ = try await store.scheduler.claim([("01:17", Self.kst("2026-03-02T01:17:00"))], outcome: .running, nowMs: clock.now())
        clock.set(Self.kst("2026-03-02T01:18:30"))
        try await withCapital(settings: Self.settings, clock: clock, dataDirectory: directory) { h in
            try await h.capital.scheduler.tick()
            #expect(try await Self.runs(h) == ["01:17@today interrupted 0"])
            #expect(try await h.getAccount("a1").strategyAccounts.first?.hasCapital == false)
        }
    }

    @Test func acrossMidnightInAZoneWithoutDST() async throws {
        var settings = Self.settings
        settings.schedule.timeZone = TimeZone(identifier: "UTC")!
        settings.schedule.slots = ["23:37", "00:05"].map { DailySchedule.Slot($0)! }
        let clock = ManualClock(ms("2026-03-02T23:36:00Z"))
        try await withCapital(settings: settings, clock: clock) { h in
            try await Self.seed(h)
            #expect(try await h.capital.scheduler.tick() == ms("2026-03-02T23:36:30Z"))
            clock.set(ms("2026-03-02T23:37:00Z"))
            try await h.capital.scheduler.tick()
            clock.set(ms("2026-03-03T00:05:10Z"))
            try await h.capital.scheduler.tick()
            let runs = try await h.capital.store.scheduler.scheduleRuns().filter { $0.atMs >= ms("2026-03-02T23:00:00Z") }
            #expect(runs.map { "\($0.slot)@\($0.atMs)" } == ["23:37@\(ms("2026-03-02T23:37:00Z"))", "00:05@\(ms("2026-03-03T00:05:00Z"))"])
            // The second slot found the account within its interval: skipped, not failed.
            #expect(runs.map(\.rebalanced) == [1, 0])
        }
    }

    /// Two processes on one store: only the lease holder fires slots.
    @Test func oneSchedulerPerStore() async throws {
        let clock = ManualClock(Self.kst("2026-03-02T01:17:05"))
        try await withCapital(settings: Self.settings, clock: clock) { h in
            try await Self.seed(h)
            let store = try CapitalStore(path: h.dataDirectory + "/keel-capital.sqlite")
            #expect(try await store.scheduler.acquireLease(holder: "other", nowMs: clock.now(), ttlMs: RebalanceScheduler.leaseMs))
            try await h.capital.scheduler.tick()
            #expect(try await Self.runs(h).isEmpty)
            let schedule: Keel_Capital_V1_GetRebalanceScheduleResponse = try await h.call(KeelRPC.capitalGetRebalanceSchedule, Keel_Capital_V1_GetRebalanceScheduleRequest())
            #expect(!schedule.isLeader)
            // The other holder stops renewing: its lease expires and this scheduler takes over within grace.
            clock.advance(by: RebalanceScheduler.leaseMs + 1)
            try await h.capital.scheduler.tick()
            #expect(try await Self.runs(h) == ["01:17@today ran 1"])
        }
    }

    /// The scheduler's own loop, woken by the injected clock rather than the wall clock.
    @Test func theLoopFiresWhenTheClockReachesTheSlot() async throws {
        let clock = ManualClock(Self.kst("2026-03-02T04:51:00"))
        try await withCapital(settings: Self.settings, clock: clock) { h in
            try await Self.seed(h)
            let loop = Task { await h.capital.scheduler.run() }
            await clock.sleeper(after: clock.now())
            clock.set(Self.kst("2026-03-02T04:52:00"))
            // Asleep again past 04:52: the slot's run is over.
            await clock.sleeper(after: Self.kst("2026-03-02T04:52:00"))
            #expect(try await Self.runs(h, since: Self.kst("2026-03-02T04:00:00")) == ["04:52@\(Self.kst("2026-03-02T04:52:00")) ran 1"])
            loop.cancel()
            await loop.value
        }
    }
}

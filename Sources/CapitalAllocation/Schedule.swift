import Contracts
import Foundation

/// Daily slots at local wall-clock times in a named time zone, computed on the zone's calendar
/// (never by adding 24 h). A wall time in a DST gap is read with the offset in force before the gap
/// (02:30 on a New York spring-forward day fires at 03:30 EDT); an ambiguous one fires at its first
/// instant.
public struct DailySchedule: Sendable {
    public struct Slot: Sendable, Hashable, Comparable, CustomStringConvertible {
        public var hour: Int
        public var minute: Int

        public init(hour: Int, minute: Int) {
            self.hour = hour
            self.minute = minute
        }

        /// `HH:MM`, 00:00–23:59.
        public init?(_ text: String) {
            guard let time = LocalWallTime.parse(text, allowingSeconds: false) else { return nil }
            self.init(hour: time.hour, minute: time.minute)
        }

        public var description: String { String(format: "%02d:%02d", hour, minute) }
        public static func < (a: Slot, b: Slot) -> Bool { (a.hour, a.minute) < (b.hour, b.minute) }
    }

    public let slots: [Slot]
    public let timeZone: TimeZone

    public init(slots: [Slot], timeZone: TimeZone) {
        self.slots = slots.sorted()
        self.timeZone = timeZone
    }

    /// The instant (Unix ms) of `slot` on the local date `year-month-day`.
    public func occurrence(of slot: Slot, year: Int, month: Int, day: Int) -> Int64 {
        LocalWallTime.instantMs(year: year, month: month, day: day, hour: slot.hour, minute: slot.minute, zone: timeZone)
    }

    /// Local calendar date of an instant.
    func localDate(_ ms: Int64) -> (year: Int, month: Int, day: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(ms) / 1000))
        return (parts.year!, parts.month!, parts.day!)
    }

    /// Occurrences of every slot on the local dates around `ms` (the day before to two days after).
    func occurrences(around ms: Int64) -> [(slot: Slot, at: Int64)] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let local = localDate(ms)
        let base = calendar.date(from: DateComponents(year: local.year, month: local.month, day: local.day, hour: 12))!
        var out: [(Slot, Int64)] = []
        for offset in -1...2 {
            let day = calendar.dateComponents([.year, .month, .day], from: calendar.date(byAdding: .day, value: offset, to: base)!)
            for slot in slots { out.append((slot, occurrence(of: slot, year: day.year!, month: day.month!, day: day.day!))) }
        }
        return out
    }

    /// The earliest occurrence ≥ `after` (inclusive).
    public func next(atOrAfter after: Int64) -> Int64? {
        occurrences(around: after).map(\.at).filter { $0 >= after }.min()
    }

    /// The latest occurrence of `slot` ≤ `now`.
    public func latest(_ slot: Slot, atOrBefore now: Int64) -> Int64? {
        occurrences(around: now).filter { $0.slot == slot && $0.at <= now }.map(\.at).max()
    }

    /// The local times the slots fire at on a local date, in time order.
    public func fires(year: Int, month: Int, day: Int) -> [Int64] {
        slots.map { occurrence(of: $0, year: year, month: month, day: day) }.sorted()
    }

    public struct Due: Sendable, Equatable {
        public var run: [(slot: Slot, at: Int64)]
        public var missed: [(slot: Slot, at: Int64)]
        public var nextAt: Int64?

        public static func == (a: Due, b: Due) -> Bool {
            a.run.map { "\($0.slot)@\($0.at)" } == b.run.map { "\($0.slot)@\($0.at)" }
                && a.missed.map { "\($0.slot)@\($0.at)" } == b.missed.map { "\($0.slot)@\($0.at)" } && a.nextAt == b.nextAt
        }
    }

    /// The due decision: per slot its latest occurrence ≤ now; already recorded → nothing; within
    /// the grace window → run (once); else → missed. Older misses are not back-filled.
    public func due(now: Int64, graceSeconds: Int, recorded: (Slot, Int64) -> Bool) -> Due {
        var result = Due(run: [], missed: [], nextAt: next(atOrAfter: now + 1))
        for slot in slots {
            guard let occurrence = latest(slot, atOrBefore: now), !recorded(slot, occurrence) else { continue }
            if now - occurrence <= Int64(graceSeconds) * 1000 {
                result.run.append((slot, occurrence))
            } else {
                result.missed.append((slot, occurrence))
            }
        }
        return result
    }
}

extension DailySchedule {
    /// The earliest occurrence of `slot` ≥ `after`.
    public func next(_ slot: Slot, atOrAfter after: Int64) -> Int64? {
        occurrences(around: after).filter { $0.slot == slot && $0.at >= after }.map(\.at).min()
    }
}

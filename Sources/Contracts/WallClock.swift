import Foundation

/// Local wall-clock times read as instants on a zone's calendar (spec/capital.md §9): a wall time in
/// a DST gap is read with the offset in force before the gap; an ambiguous one is its first instant.
/// One rule for keel-capital's daily slots and the gateway's schedule times.
public enum WallClock {
    public static func instantMs(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int = 0, zone: TimeZone) -> Int64 {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let wall = utc.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))!.timeIntervalSince1970
        let before = Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: wall - 86_400)))
        let after = Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: wall + 86_400)))
        let candidates = [wall - before, wall - after].filter { Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: $0))) == wall - $0 }
        return Int64((candidates.min() ?? (wall - before)) * 1000) + Int64(second) * 1000
    }
}

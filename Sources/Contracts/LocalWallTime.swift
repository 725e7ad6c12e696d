import Foundation

/// Local wall-clock times read as instants on a zone's calendar: a wall time in
/// a DST gap is read with the offset in force before the gap; an ambiguous one is its first instant.
/// One rule for keel-capital's daily slots and the gateway's schedule times.
public enum LocalWallTime {
    public static func instantMs(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int = 0, zone: TimeZone) -> Int64 {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let wall = utc.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))!.timeIntervalSince1970
        let before = Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: wall - 86_400)))
        let after = Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: wall + 86_400)))
        let candidates = [wall - before, wall - after].filter { Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: $0))) == wall - $0 }
        return Int64((candidates.min() ?? (wall - before)) * 1000) + Int64(second) * 1000
    }

    /// `HH:MM`, or with `allowingSeconds` also `HH:MM:SS`, two digits each, 00:00(:00)–23:59(:59).
    public static func parse(_ text: String, allowingSeconds: Bool) -> (hour: Int, minute: Int, second: Int)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || (allowingSeconds && parts.count == 3),
              parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
              let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute) else { return nil }
        let second = parts.count == 3 ? Int(parts[2]) : 0
        guard let second, (0...59).contains(second) else { return nil }
        return (hour, minute, second)
    }
}

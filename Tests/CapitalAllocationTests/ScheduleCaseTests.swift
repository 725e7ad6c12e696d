import CapitalAllocation
import Foundation
import KeelTestSupport
import Testing

/// The schedule cases of the capital-twap.json fixture.
@Suite struct ScheduleCaseTests {
    static let file = "capital-twap"

    static func ms(_ text: Any?) -> Int64 {
        Int64(ISO8601DateFormatter().date(from: text as! String)!.timeIntervalSince1970 * 1000)
    }

    static func schedule(_ input: [String: Any]) -> DailySchedule {
        let slots: [DailySchedule.Slot] = (input["slots"] as! [Any]).map { entry in
            if let text = entry as? String { return DailySchedule.Slot(text)! }
            let object = entry as! [String: Int]
            return DailySchedule.Slot(hour: object["hour"]!, minute: object["minute"]!)
        }
        return DailySchedule(slots: slots, timeZone: TimeZone(identifier: input["time_zone"] as! String)!)
    }

    @Test(arguments: try Cases.named(file, kind: "next_slot_time"))
    func nextSlotTimeCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let next = Self.schedule(input).next(atOrAfter: Self.ms(input["after"]))
        #expect(next == Self.ms((c["expected"] as! [String: Any])["next"]), "\(name)")
    }

    @Test(arguments: try Cases.named(file, kind: "slots_on_date"))
    func slotsOnDateCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let schedule = Self.schedule(input)
        let parts = (input["date"] as! String).split(separator: "-").map { Int($0)! }
        let fires = schedule.fires(year: parts[0], month: parts[1], day: parts[2])
        let formatter = DateFormatter()
        formatter.timeZone = schedule.timeZone
        formatter.dateFormat = "HH:mm"
        let expected = c["expected"] as! [String: Any]
        #expect(fires.count == expected["count"] as! Int)
        #expect(fires.map { formatter.string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } == expected["fires"] as! [String])
    }

    @Test(arguments: try Cases.named(file, kind: "due_slots"))
    func dueSlotsCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let recorded = (input["last_scheduled_at"] as! [String: String]).mapValues { Self.ms($0) }
        let due = Self.schedule(input).due(now: Self.ms(input["now"]), graceSeconds: input["grace_seconds"] as! Int) { slot, at in
            recorded[slot.description] == at
        }
        let expected = c["expected"] as! [String: Any]
        func pairs(_ key: String) -> [String] {
            (expected[key] as! [[String: String]]).map { "\($0["slot"]!)@\(Self.ms($0["scheduled_at"]!))" }
        }
        #expect(due.run.map { "\($0.slot)@\($0.at)" } == pairs("run"), "\(name)")
        #expect(due.missed.map { "\($0.slot)@\($0.at)" } == pairs("missed"), "\(name)")
        #expect(due.nextAt == Self.ms(expected["next_slot_at"]), "\(name)")
    }

    @Test func aWallTimeInTheSpringGapFiresAnHourLater() {
        let schedule = DailySchedule(slots: [DailySchedule.Slot("02:30")!], timeZone: TimeZone(identifier: "America/New_York")!)
        // 2025-03-09 02:30 does not exist in New York: read with EST (−5) it is 07:30Z = 03:30 EDT.
        #expect(schedule.occurrence(of: schedule.slots[0], year: 2025, month: 3, day: 9) == Self.ms("2025-03-09T07:30:00Z"))
        // An ambiguous 01:30 (fall back) fires at its first instant, EDT.
        let fall = DailySchedule(slots: [DailySchedule.Slot("01:30")!], timeZone: TimeZone(identifier: "America/New_York")!)
        #expect(fall.occurrence(of: fall.slots[0], year: 2025, month: 11, day: 2) == Self.ms("2025-11-02T05:30:00Z"))
    }
}

import CapitalAllocation
import Contracts
import ExactNumbers
import Foundation
import Testing

/// Capital settings: every key optional with the documented defaults; a bad file names the JSON path.
@Suite struct CapitalSettingsTests {
    static func parse(_ json: String) throws(ConfigInvalid) -> CapitalSettings {
        try CapitalSettings.parse(json: Data(json.utf8))
    }

    @Test func emptyFileGivesTheDefaults() throws {
        let settings = try Self.parse("{}")
        #expect(settings.maxQtyPer == ExactDecimal(100))
        #expect(settings.rebalancePolicy == .interval && settings.autoUseLive && settings.compoundOnTrade && settings.autoConverge == .none)
        #expect(settings.downstreamTimeoutMs == 5000 && settings.schedule.enabled && settings.schedule.graceSeconds == 600)
        #expect(settings.schedule.timeZone.identifier == "Asia/Seoul")
        #expect(settings.schedule.slots.map(\.description) == ["01:17", "04:52", "08:37", "12:22", "16:07", "19:52", "23:37"])
    }

    @Test func theShippedExampleParses() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/capital.example.json")
        let settings = try CapitalSettings.parse(json: Data(contentsOf: url))
        #expect(settings.minRelChange == ExactDecimal(significand: BigInt(1), exponent: -3))
        #expect(settings.schedule.slots.count == 7)
    }

    @Test func valuesAreRead() throws {
        let settings = try Self.parse("""
            {"max_qty_per": null, "market_order_price_source": "REQUEST_PRICE_IF_PRESENT", "rebalance_policy": "INTERVAL_AND_THRESHOLD",
             "auto_converge": "EXECUTE", "schedule": {"time_zone": "America/New_York", "slots": ["02:30"], "grace_seconds": 60}}
            """)
        #expect(settings.maxQtyPer == nil && settings.marketOrderPriceSource == .requestPriceIfPresent)
        #expect(settings.rebalancePolicy == .intervalAndThreshold && settings.autoConverge == .execute)
        #expect(settings.schedule.timeZone.identifier == "America/New_York" && settings.schedule.slots.map(\.description) == ["02:30"])
    }

    @Test(arguments: [
        (#"{"max_qty"per": 1}"#, "$"),
        (#"{"max_qty_pr": "100"}"#, "max_qty_pr"),
        (#"{"max_qty_per": "0"}"#, "max_qty_per"),
        (#"{"max_qty_per": 100}"#, "max_qty_per"),
        (#"{"min_interval_hours": "0"}"#, "min_interval_hours"),
        (#"{"min_abs_change": "-1"}"#, "min_abs_change"),
        (#"{"rebalance_policy": "WEEKLY"}"#, "rebalance_policy"),
        (#"{"auto_use_live": "yes"}"#, "auto_use_live"),
        (#"{"downstream_timeout_ms": 0}"#, "downstream_timeout_ms"),
        (#"{"schedule": {"time_zone": "Mars/Olympus"}}"#, "schedule.time_zone"),
        (#"{"schedule": {"slots": ["01:17", "04:52", "08:37", "24:00"]}}"#, "schedule.slots[3]"),
        (#"{"schedule": {"slots": ["01:17", "01:17"]}}"#, "schedule.slots[1]"),
        (#"{"schedule": {"slots": []}}"#, "schedule.slots"),
        (#"{"schedule": {"every": "1h"}}"#, "schedule.every"),
    ])
    func aBadFileNamesThePath(json: String, path: String) {
        #expect(throws: ConfigInvalid.self) { try Self.parse(json) }
        do {
            _ = try Self.parse(json)
        } catch {
            #expect(error.path == path, "\(json): \(error)")
        }
    }
}

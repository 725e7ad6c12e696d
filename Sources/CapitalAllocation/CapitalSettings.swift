import Contracts
import ExactNumbers
import Foundation

/// keel-capital's settings (docs/operations.md#capital-settings): the one JSON file `--config`. Every key
/// is optional; an unknown key, a wrong type or a bad value stops the service naming the JSON path.
public struct CapitalSettings: Sendable {
    public enum ConvergeMode: String, Sendable { case none = "NONE", plan = "PLAN", execute = "EXECUTE" }

    /// nil = no cap (`"max_qty_per": null`).
    public var maxQtyPer: ExactDecimal? = ExactDecimal(100)
    public var marketOrderPriceSource: OrderQuantity.PriceSource = .marketData
    public var rebalancePolicy: RebalanceDecision.Policy = .interval
    public var minIntervalHours: ExactDecimal = .one
    public var minAbsChange = ExactDecimal(10)
    public var minRelChange = ExactDecimal(significand: BigInt(1), exponent: -3)
    public var autoUseLive = true
    public var autoConverge: ConvergeMode = .none
    public var compoundOnTrade = true
    public var convergeMinTradeNotional: ExactDecimal = .zero
    public var downstreamTimeoutMs = 5_000
    public var schedule = Schedule()

    public struct Schedule: Sendable {
        public var enabled = true
        public var timeZone = TimeZone(identifier: "Asia/Seoul")!
        public var graceSeconds = 600
        public var slots: [DailySchedule.Slot] = ["01:17", "04:52", "08:37", "12:22", "16:07", "19:52", "23:37"].map { DailySchedule.Slot($0)! }

        public init() {}

        public var daily: DailySchedule { DailySchedule(slots: slots, timeZone: timeZone) }
    }

    public init() {}

    static let keys: Set<String> = [
        "max_qty_per", "market_order_price_source", "rebalance_policy", "min_interval_hours", "min_abs_change", "min_rel_change",
        "auto_use_live", "auto_converge", "compound_on_trade", "converge_min_trade_notional", "downstream_timeout_ms", "schedule",
    ]
    static let scheduleKeys: Set<String> = ["enabled", "time_zone", "grace_seconds", "slots"]

    public static func parse(json data: Data) throws(ConfigInvalid) -> CapitalSettings {
        try parse(object: try ConfigReader.document(data))
    }

    public static func parse(object root: Any) throws(ConfigInvalid) -> CapitalSettings {
        let reader = ConfigReader()
        let top = try reader.object(root, keys: keys)
        var settings = CapitalSettings()
        if let value = top["max_qty_per"] {
            let r = reader.child("max_qty_per")
            if value is NSNull {
                settings.maxQtyPer = nil
            } else {
                guard let cap = try r.optionalDecimal(value), cap.signum > 0 else { throw ConfigInvalid(path: r.path, message: "must be a decimal > 0, or null for no cap") }
                settings.maxQtyPer = cap
            }
        }
        if let value = top["market_order_price_source"] {
            let r = reader.child("market_order_price_source")
            settings.marketOrderPriceSource = switch try r.string(value) {
            case "MARKET_DATA": .marketData
            case "REQUEST_PRICE_IF_PRESENT": .requestPriceIfPresent
            case let other: throw ConfigInvalid(path: r.path, message: "unknown value \"\(other)\" (MARKET_DATA, REQUEST_PRICE_IF_PRESENT)")
            }
        }
        if let value = top["rebalance_policy"] {
            let r = reader.child("rebalance_policy")
            settings.rebalancePolicy = switch try r.string(value) {
            case "INTERVAL": .interval
            case "THRESHOLD": .threshold
            case "INTERVAL_AND_THRESHOLD": .intervalAndThreshold
            case let other: throw ConfigInvalid(path: r.path, message: "unknown value \"\(other)\" (INTERVAL, THRESHOLD, INTERVAL_AND_THRESHOLD)")
            }
        }
        func decimal(_ key: String) throws(ConfigInvalid) -> ExactDecimal? {
            guard let value = top[key] else { return nil }
            let r = reader.child(key)
            guard let decimal = try r.optionalDecimal(value) else { throw ConfigInvalid(path: r.path, message: "must be a decimal string") }
            return decimal
        }
        if let hours = try decimal("min_interval_hours") {
            guard hours.signum > 0 else { throw ConfigInvalid(path: "min_interval_hours", message: "must be > 0") }
            settings.minIntervalHours = hours
        }
        if let value = try decimal("min_abs_change") { settings.minAbsChange = value }
        if let value = try decimal("min_rel_change") { settings.minRelChange = value }
        if let value = try decimal("converge_min_trade_notional") { settings.convergeMinTradeNotional = value }
        if let value = top["auto_use_live"] { settings.autoUseLive = try reader.child("auto_use_live").bool(value) }
        if let value = top["compound_on_trade"] { settings.compoundOnTrade = try reader.child("compound_on_trade").bool(value) }
        if let value = top["auto_converge"] {
            let r = reader.child("auto_converge")
            let text = try r.string(value)
            guard let mode = ConvergeMode(rawValue: text) else { throw ConfigInvalid(path: r.path, message: "unknown value \"\(text)\" (NONE, PLAN, EXECUTE)") }
            settings.autoConverge = mode
        }
        if let value = top["downstream_timeout_ms"] {
            let r = reader.child("downstream_timeout_ms")
            let ms = try r.nonNegativeInt(value)
            guard ms > 0 else { throw ConfigInvalid(path: r.path, message: "must be > 0") }
            settings.downstreamTimeoutMs = ms
        }
        if let value = top["schedule"] {
            let r = reader.child("schedule")
            let object = try r.object(value, keys: scheduleKeys)
            if let enabled = object["enabled"] { settings.schedule.enabled = try r.child("enabled").bool(enabled) }
            if let zone = object["time_zone"] {
                let zr = r.child("time_zone")
                let name = try zr.string(zone)
                guard let timeZone = TimeZone(identifier: name) else { throw ConfigInvalid(path: zr.path, message: "unknown time zone \"\(name)\" (an IANA name such as Asia/Seoul)") }
                settings.schedule.timeZone = timeZone
            }
            if let grace = object["grace_seconds"] { settings.schedule.graceSeconds = try r.child("grace_seconds").nonNegativeInt(grace) }
            if let slots = object["slots"] {
                let sr = r.child("slots")
                var parsed: [DailySchedule.Slot] = []
                for (i, item) in try sr.list(slots).enumerated() {
                    let ir = sr.child("[\(i)]")
                    let text = try ir.string(item)
                    guard let slot = DailySchedule.Slot(text) else { throw ConfigInvalid(path: ir.path, message: "\"\(text)\" is not a time HH:MM (00:00–23:59)") }
                    guard !parsed.contains(slot) else { throw ConfigInvalid(path: ir.path, message: "slot \(text) is listed twice") }
                    parsed.append(slot)
                }
                settings.schedule.slots = parsed
            }
            if settings.schedule.enabled, settings.schedule.slots.isEmpty {
                throw ConfigInvalid(path: r.child("slots").path, message: "at least one slot is needed while the schedule is enabled")
            }
        }
        return settings
    }
}

import Contracts
import ExactNumbers
import Foundation

public enum TimeInForce: String, Sendable, CaseIterable {
    case gtc = "GTC", ioc = "IOC", fok = "FOK", gtx = "GTX", day = "DAY"
}

/// One instrument of a venue: its canonical key, aliases and constraints.
public struct InstrumentConstraint: Sendable {
    public var key: String
    public var aliases: [String]
    public var lotSize: ExactDecimal?
    public var tickSize: ExactDecimal?
    public var minNotional: ExactDecimal?

    func matches(_ symbol: String) -> Bool {
        let lower = symbol.lowercased()
        return key.lowercased() == lower || aliases.contains { $0.lowercased() == lower }
    }
}

/// How orders to one venue are shaped (docs/architecture.md#venue-policy).
public struct VenuePolicy: Sendable {
    public var name: String
    public var enabled = true
    public var supportsReduceOnly = true
    public var reduceOnlyRequiresIOC = false
    public var defaultTimeInForce: TimeInForce?
    public var lotSize: ExactDecimal?
    public var tickSize: ExactDecimal?
    public var minNotional: ExactDecimal?
    public var pacingIntervalMs = 10_000
    public var instruments: [InstrumentConstraint] = []

    public init(name: String) { self.name = name }

    public func instrument(for symbol: String) -> InstrumentConstraint? {
        instruments.first { $0.matches(symbol) }
    }
}

public struct SharedAccountPolicy: Sendable {
    public var enabled = false
    public var maxGrossNotional: ExactDecimal?
    public var maxNetNotional: ExactDecimal?
    public var minMarginHeadroom: ExactDecimal?

    public init(enabled: Bool = false, maxGrossNotional: ExactDecimal? = nil, maxNetNotional: ExactDecimal? = nil, minMarginHeadroom: ExactDecimal? = nil) {
        self.enabled = enabled
        self.maxGrossNotional = maxGrossNotional
        self.maxNetNotional = maxNetNotional
        self.minMarginHeadroom = minMarginHeadroom
    }
}

public struct WorldSetting: Sendable {
    public var mode: String?
    public var executionDomain: String?

    /// `mode` or `execution_domain` equal to `shadow`, ignoring case.
    public var isShadow: Bool {
        mode?.lowercased() == "shadow" || executionDomain?.lowercased() == "shadow"
    }
}

public struct PaperAccount: Sendable {
    public var currency: String
    public var cash: ExactDecimal
    /// What the account holds when the paper broker first opens it (a short is a negative quantity).
    public var positions: [PaperPosition]

    public init(currency: String, cash: ExactDecimal, positions: [PaperPosition] = []) {
        self.currency = currency
        self.cash = cash
        self.positions = positions
    }
}

/// An opening position of a paper account.
public struct PaperPosition: Sendable {
    public var venue: String
    public var symbol: String
    public var qty: ExactDecimal
    public var avgPrice: ExactDecimal
    public var mark: ExactDecimal

    public init(venue: String, symbol: String, qty: ExactDecimal, avgPrice: ExactDecimal, mark: ExactDecimal) {
        self.venue = venue
        self.symbol = symbol
        self.qty = qty
        self.avgPrice = avgPrice
        self.mark = mark
    }
}

public struct PaperBrokerSettings: Sendable {
    public var latencyMs = 0
    public var partialFillRatio = ExactDecimal.zero
    public var rejectRatio = ExactDecimal.zero
    public var slippageBps = ExactDecimal.zero
    public var accounts: [String: PaperAccount] = ["default": PaperAccount(currency: "USDT", cash: .zero)]
    /// A resting limit order is matched against the quote only from this long after it was placed
    /// or amended (its place in the queue); 0 = at once.
    public var fillDelayMs = 0
    /// By `venue:symbol` or `symbol`; a symbol without one is quoted at its position's mark.
    public var quotes: [String: QuotePath] = [:]

    public init() {}

    public func quotePath(venue: String, symbol: String) -> QuotePath? {
        quotes["\(venue):\(symbol)"] ?? quotes[symbol]
    }
}

/// What the gateway does with the exit engine's signals. Off by default: signals are
/// recorded and audited, nothing is traded.
public struct ExitPolicy: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Recorded and audited only.
        case off
        /// Each signal becomes a reduce plan and its orders at once.
        case auto
        /// Held until an operator approves (or rejects) it.
        case approval
    }

    /// Where a world's positions come from for its reduce plan.
    public enum Positions: String, Sendable, CaseIterable {
        /// The gateway's fills per (world, strategy) (GetPositions' `attributed`).
        case attributed
        /// The broker positions of `account_id`: an account that holds one world's book.
        case account
    }

    public var mode = Mode.off
    /// The broker account the reduce orders go to.
    public var accountID = "default"
    public var positions = Positions.attributed

    public init(mode: Mode = .off, accountID: String = "default", positions: Positions = .attributed) {
        self.mode = mode
        self.accountID = accountID
        self.positions = positions
    }
}

/// The gateway's configuration file (docs/operations.md#gateway-config). Every field is optional.
public struct GatewayConfig: Sendable {
    public var liveGuardEnforced = true
    public var sharedAccountPolicy = SharedAccountPolicy()
    public var strictVenues = false
    /// By lower-cased venue name; `*` is the fallback policy.
    public var venues: [String: VenuePolicy] = [:]
    public var worlds: [String: WorldSetting] = [:]
    public var paperBroker = PaperBrokerSettings()
    public var exitPolicy = ExitPolicy()
    /// Pre-trade limits; none when the config has no risk section.
    public var risk = RiskPolicy()

    public init() {}

    /// The policy of `venue`: its own, else `*`, else none (`""` → `*`).
    public func policy(for venue: String) -> VenuePolicy? {
        if !venue.isEmpty, let own = venues[venue.lowercased()] { return own }
        return venues["*"]
    }

    var wildcard: VenuePolicy? { venues["*"] }

    /// A configuration the gateway refuses to start with, naming the JSON path.
    public typealias Invalid = ConfigInvalid

    public static func parse(json data: Data) throws(Invalid) -> GatewayConfig {
        try parse(object: try ConfigReader.document(data))
    }

    public static func parse(object root: Any) throws(Invalid) -> GatewayConfig {
        let reader = ConfigReader()
        let top = try reader.object(root, keys: [
            "live_guard", "shared_account_policy", "exit_policy", "strict_venues", "venues", "worlds", "paper_broker", "risk",
        ])
        var config = GatewayConfig()
        if let guardObject = top["live_guard"] {
            let object = try reader.child("live_guard").object(guardObject, keys: ["enforce"])
            if let enforce = object["enforce"] { config.liveGuardEnforced = try reader.child("live_guard.enforce").bool(enforce) }
        }
        if let policyObject = top["shared_account_policy"] {
            let r = reader.child("shared_account_policy")
            let object = try r.object(policyObject, keys: ["enabled", "max_gross_notional", "max_net_notional", "min_margin_headroom"])
            if let enabled = object["enabled"] { config.sharedAccountPolicy.enabled = try r.child("enabled").bool(enabled) }
            config.sharedAccountPolicy.maxGrossNotional = try r.child("max_gross_notional").optionalDecimal(object["max_gross_notional"])
            config.sharedAccountPolicy.maxNetNotional = try r.child("max_net_notional").optionalDecimal(object["max_net_notional"])
            config.sharedAccountPolicy.minMarginHeadroom = try r.child("min_margin_headroom").optionalDecimal(object["min_margin_headroom"])
        }
        if let exit = top["exit_policy"] {
            let r = reader.child("exit_policy")
            let object = try r.object(exit, keys: ["mode", "account_id", "positions"])
            if let text = try r.child("positions").optionalString(object["positions"]) {
                guard let positions = ExitPolicy.Positions(rawValue: text) else {
                    throw Invalid(path: r.child("positions").path, message: "positions must be attributed or account, got \"\(text)\"")
                }
                config.exitPolicy.positions = positions
            }
            if let text = try r.child("mode").optionalString(object["mode"]) {
                guard let mode = ExitPolicy.Mode(rawValue: text) else {
                    throw Invalid(path: r.child("mode").path, message: "mode must be off, auto or approval, got \"\(text)\"")
                }
                config.exitPolicy.mode = mode
            }
            if let account = try r.child("account_id").optionalString(object["account_id"]) {
                guard !account.isEmpty else { throw Invalid(path: r.child("account_id").path, message: "account_id must not be empty") }
                config.exitPolicy.accountID = account
            }
        }
        if let risk = top["risk"] {
            config.risk = try RiskPolicy.parse(reader.child("risk"), risk)
            try Self.refuseUnenforced(config.risk, reader.child("risk"))
        }
        if let strict = top["strict_venues"] { config.strictVenues = try reader.child("strict_venues").bool(strict) }
        if let venues = top["venues"] {
            let r = reader.child("venues")
            for (name, value) in try r.object(venues).sorted(by: { $0.key < $1.key }) {
                let vr = r.child(name)
                let object = try vr.object(value, keys: [
                    "enabled", "supports_reduce_only", "reduce_only_requires_ioc", "default_time_in_force", "lot_size",
                    "tick_size", "min_notional", "pacing_interval_ms", "instruments",
                ])
                var policy = VenuePolicy(name: name)
                if let v = object["enabled"] { policy.enabled = try vr.child("enabled").bool(v) }
                if let v = object["supports_reduce_only"] { policy.supportsReduceOnly = try vr.child("supports_reduce_only").bool(v) }
                if let v = object["reduce_only_requires_ioc"] { policy.reduceOnlyRequiresIOC = try vr.child("reduce_only_requires_ioc").bool(v) }
                if let v = object["default_time_in_force"], !(v is NSNull) {
                    let text = try vr.child("default_time_in_force").string(v)
                    guard let tif = TimeInForce(rawValue: text) else {
                        throw Invalid(path: vr.child("default_time_in_force").path, message: "unknown time in force \"\(text)\" (GTC, IOC, FOK, GTX, DAY)")
                    }
                    policy.defaultTimeInForce = tif
                }
                policy.lotSize = try vr.child("lot_size").optionalDecimal(object["lot_size"])
                policy.tickSize = try vr.child("tick_size").optionalDecimal(object["tick_size"])
                policy.minNotional = try vr.child("min_notional").optionalDecimal(object["min_notional"])
                if let v = object["pacing_interval_ms"] { policy.pacingIntervalMs = try vr.child("pacing_interval_ms").nonNegativeInt(v) }
                if let instruments = object["instruments"] {
                    let ir = vr.child("instruments")
                    var seen: [String: String] = [:]
                    for (key, value) in try ir.object(instruments).sorted(by: { $0.key < $1.key }) {
                        let kr = ir.child(key)
                        let object = try kr.object(value, keys: ["aliases", "lot_size", "tick_size", "min_notional"])
                        var aliases: [String] = []
                        if let list = object["aliases"] {
                            guard let items = list as? [Any] else { throw Invalid(path: kr.child("aliases").path, message: "must be a list of strings") }
                            for (i, item) in items.enumerated() { aliases.append(try kr.child("aliases[\(i)]").string(item)) }
                        }
                        for name in [key] + aliases {
                            if let other = seen[name.lowercased()] {
                                throw Invalid(path: kr.path, message: "\"\(name)\" equals \(other) ignoring case")
                            }
                            seen[name.lowercased()] = "\(key)"
                        }
                        policy.instruments.append(InstrumentConstraint(
                            key: key, aliases: aliases,
                            lotSize: try kr.child("lot_size").optionalDecimal(object["lot_size"]),
                            tickSize: try kr.child("tick_size").optionalDecimal(object["tick_size"]),
                            minNotional: try kr.child("min_notional").optionalDecimal(object["min_notional"])))
                    }
                }
                let lower = name.lowercased()
                if config.venues[lower] != nil {
                    throw Invalid(path: vr.path, message: "venue \"\(name)\" equals another venue key ignoring case")
                }
                config.venues[lower] = policy
            }
        }
        if let worlds = top["worlds"] {
            let r = reader.child("worlds")
            for (name, value) in try r.object(worlds) {
                let object = try r.child(name).object(value, keys: ["mode", "execution_domain"])
                config.worlds[name] = WorldSetting(
                    mode: try r.child(name).child("mode").optionalString(object["mode"]),
                    executionDomain: try r.child(name).child("execution_domain").optionalString(object["execution_domain"]))
            }
        }
        if let paper = top["paper_broker"] {
            let r = reader.child("paper_broker")
            let object = try r.object(paper, keys: [
                "latency_ms", "partial_fill_ratio", "reject_ratio", "slippage_bps", "fill_delay_ms", "quotes", "accounts",
            ])
            if let v = object["latency_ms"] { config.paperBroker.latencyMs = try r.child("latency_ms").nonNegativeInt(v) }
            if let v = try r.child("partial_fill_ratio").optionalDecimal(object["partial_fill_ratio"]) { config.paperBroker.partialFillRatio = v }
            if let v = try r.child("reject_ratio").optionalDecimal(object["reject_ratio"]) { config.paperBroker.rejectRatio = v }
            if let v = try r.child("slippage_bps").optionalDecimal(object["slippage_bps"]) { config.paperBroker.slippageBps = v }
            if let v = object["fill_delay_ms"] { config.paperBroker.fillDelayMs = try r.child("fill_delay_ms").nonNegativeInt(v) }
            if let quotes = object["quotes"] {
                let qr = r.child("quotes")
                for (key, value) in try qr.object(quotes) {
                    config.paperBroker.quotes[key] = try Self.quotePath(qr.child(key), try qr.child(key).object(value, keys: ["price", "tick", "walk_seed", "step_ms", "path", "origin"]))
                }
            }
            if let accounts = object["accounts"] {
                let ar = r.child("accounts")
                config.paperBroker.accounts = [:]
                for (id, value) in try ar.object(accounts) {
                    let object = try ar.child(id).object(value, keys: ["currency", "cash", "positions"])
                    var positions: [PaperPosition] = []
                    if let list = object["positions"] {
                        let pr = ar.child(id).child("positions")
                        for (i, item) in try pr.list(list).enumerated() {
                            let r = pr.child("[\(i)]")
                            let position = try r.object(item, keys: ["venue", "symbol", "qty", "avg_price", "mark"])
                            guard let symbol = try r.child("symbol").optionalString(position["symbol"]), !symbol.isEmpty else {
                                throw Invalid(path: r.child("symbol").path, message: "a position needs its symbol")
                            }
                            guard let mark = try r.child("mark").optionalDecimal(position["mark"]), mark.signum > 0 else {
                                throw Invalid(path: r.child("mark").path, message: "a position needs a mark > 0")
                            }
                            positions.append(PaperPosition(
                                venue: try r.child("venue").optionalString(position["venue"]) ?? "", symbol: symbol,
                                qty: try r.child("qty").signedDecimal(position["qty"]),
                                avgPrice: try r.child("avg_price").optionalDecimal(position["avg_price"]) ?? mark, mark: mark))
                        }
                    }
                    config.paperBroker.accounts[id] = PaperAccount(
                        currency: try ar.child(id).child("currency").optionalString(object["currency"]) ?? "USDT",
                        cash: try ar.child(id).child("cash").optionalDecimal(object["cash"]) ?? .zero, positions: positions)
                }
            }
        }
        return config
    }

    /// Limits the gateway does not enforce yet are refused at start rather than silently not applied.
    static func refuseUnenforced(_ policy: RiskPolicy, _ r: ConfigReader) throws(Invalid) {
        if policy.onViolation != .rejectBatch {
            throw Invalid(path: r.child("on_violation").path, message: "drop_order is not enforced by this build; use reject_batch")
        }
        for (account, limits) in policy.accounts.sorted(by: { $0.key < $1.key }) {
            if limits.maxOrdersPerMinute != nil {
                throw Invalid(path: r.child("accounts").child(account).child("max_orders_per_minute").path, message: "not enforced by this build")
            }
            if limits.maxDailyNotional != nil {
                throw Invalid(path: r.child("accounts").child(account).child("max_daily_notional").path, message: "not enforced by this build")
            }
        }
    }

    /// `{"price"}` constant; `{"price", "tick", "walk_seed", "step_ms"}` a seeded walk;
    /// `{"path": [...], "step_ms", "origin": ISO-8601}` listed prices.
    static func quotePath(_ r: ConfigReader, _ object: [String: Any]) throws(Invalid) -> QuotePath {
        func positive(_ name: String) throws(Invalid) -> ExactDecimal {
            guard let value = try r.child(name).optionalDecimal(object[name]), value.signum > 0 else {
                throw Invalid(path: r.child(name).path, message: "\(name) must be a decimal > 0")
            }
            return value
        }
        func stepMs() throws(Invalid) -> Int64 {
            guard let value = object["step_ms"] else { return 1000 }
            let ms = try r.child("step_ms").nonNegativeInt(value)
            guard ms > 0 else { throw Invalid(path: r.child("step_ms").path, message: "step_ms must be > 0") }
            return Int64(ms)
        }
        if let list = object["path"] {
            var prices: [ExactDecimal] = []
            for (i, item) in try r.child("path").list(list).enumerated() {
                let ir = r.child("path").child("[\(i)]")
                guard let price = try ir.optionalDecimal(item), price.signum > 0 else {
                    throw Invalid(path: ir.path, message: "a price must be a decimal > 0")
                }
                prices.append(price)
            }
            guard !prices.isEmpty else { throw Invalid(path: r.child("path").path, message: "path needs at least one price") }
            guard let text = try r.child("origin").optionalString(object["origin"]), let origin = ISO8601DateFormatter().date(from: text) else {
                throw Invalid(path: r.child("origin").path, message: "a path needs its origin as an ISO-8601 instant, e.g. 2026-12-02T00:00:00Z")
            }
            return .steps(prices: prices, stepMs: try stepMs(), originMs: Int64(origin.timeIntervalSince1970 * 1000))
        }
        let price = try positive("price")
        guard let seed = object["walk_seed"] else { return .constant(price) }
        let walkSeed = try r.child("walk_seed").nonNegativeInt(seed)
        return .walk(start: price, tick: try positive("tick"), seed: UInt64(walkSeed), stepMs: try stepMs())
    }
}

extension GatewayConfig {
    /// The configured lot of `symbol` at `venue` (along the venue policy's `lot_size` field chain), if any.
    public func lotSize(venue: String, symbol: String) -> ExactDecimal? {
        Lookup(config: self, venue: venue, symbol: symbol).chain(\.lotSize, \.lotSize).flatMap { $0.signum > 0 ? $0 : nil }
    }

    /// The configured price tick of `symbol` at `venue` (the `tick_size` field chain), if any.
    public func tickSize(venue: String, symbol: String) -> ExactDecimal? {
        Lookup(config: self, venue: venue, symbol: symbol).chain(\.tickSize, \.tickSize).flatMap { $0.signum > 0 ? $0 : nil }
    }
}

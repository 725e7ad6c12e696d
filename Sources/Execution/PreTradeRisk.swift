import Contracts
import ExactNumbers
import Planning

/// One account's pre-trade limits. Every value is exact; nil (or no entry) means no such limit.
public struct RiskLimits: Sendable, Equatable {
    /// |quantity| × price of one order (the limit price, else the reference mark).
    public var maxOrderNotional: ExactDecimal?
    /// The quantity of one order, per symbol; `*` for any symbol without its own.
    public var maxOrderQuantity: [String: ExactDecimal] = [:]
    /// |position after the order| × mark, per symbol; `*` for any symbol without its own.
    public var maxPositionNotional: [String: ExactDecimal] = [:]
    /// Σ |position| × mark over the account's symbols after the order.
    public var maxGrossNotional: ExactDecimal?
    /// How far a limit price may lie from the reference (mark or quote), in basis points.
    public var priceCollarBps: ExactDecimal?
    /// Orders the account may place in any 60 s, this one included.
    public var maxOrdersPerMinute: Int?
    /// Notional the account may place in a UTC day, this order included.
    public var maxDailyNotional: ExactDecimal?

    public init() {}

    /// The symbol's own limit (its key compared without case, as venue instruments are), else `*`'s.
    static func perSymbol(_ table: [String: ExactDecimal], _ symbol: String) -> ExactDecimal? {
        table[symbol] ?? table.first { $0.key.lowercased() == symbol.lowercased() }?.value ?? table["*"]
    }
}

/// The risk section of the gateway's config: what a violation does, and the limits per account
/// (`*` for an account without its own).
public struct RiskPolicy: Sendable, Equatable {
    public enum OnViolation: String, Sendable {
        /// A violating Execute batch is refused whole, before anything is written.
        case rejectBatch = "reject_batch"
        /// The violating order is dropped and reported; the rest of the batch goes.
        case dropOrder = "drop_order"
    }

    public var onViolation = OnViolation.rejectBatch
    public var accounts: [String: RiskLimits] = [:]

    public init() {}

    public func limits(for accountID: String) -> RiskLimits? { accounts[accountID] ?? accounts["*"] }

    /// `{"on_violation", "accounts": {"<account id>" | "*": {limits}}}`; an error names the path.
    public static func parse(_ reader: ConfigReader, _ value: Any) throws(ConfigInvalid) -> RiskPolicy {
        let object = try reader.object(value, keys: ["on_violation", "accounts"])
        var policy = RiskPolicy()
        if let text = try reader.child("on_violation").optionalString(object["on_violation"]) {
            guard let mode = OnViolation(rawValue: text) else {
                throw ConfigInvalid(path: reader.child("on_violation").path, message: "on_violation must be reject_batch or drop_order, got \"\(text)\"")
            }
            policy.onViolation = mode
        }
        if let accounts = object["accounts"] {
            let ar = reader.child("accounts")
            for (account, value) in try ar.object(accounts).sorted(by: { $0.key < $1.key }) {
                policy.accounts[account] = try limits(ar.child(account), value)
            }
        }
        return policy
    }

    static func limits(_ r: ConfigReader, _ value: Any) throws(ConfigInvalid) -> RiskLimits {
        let object = try r.object(value, keys: [
            "max_order_notional", "max_order_qty", "max_position_notional", "max_gross_notional", "price_collar_bps",
            "max_orders_per_minute", "max_daily_notional",
        ])
        func perSymbol(_ key: String) throws(ConfigInvalid) -> [String: ExactDecimal] {
            guard let value = object[key] else { return [:] }
            var table: [String: ExactDecimal] = [:]
            for (symbol, limit) in try r.child(key).object(value) {
                guard let decimal = try r.child(key).child(symbol).optionalDecimal(limit) else {
                    throw ConfigInvalid(path: r.child(key).child(symbol).path, message: "must be a decimal string such as \"10\"")
                }
                table[symbol] = decimal
            }
            return table
        }
        var limits = RiskLimits()
        limits.maxOrderNotional = try r.child("max_order_notional").optionalDecimal(object["max_order_notional"])
        limits.maxOrderQuantity = try perSymbol("max_order_qty")
        limits.maxPositionNotional = try perSymbol("max_position_notional")
        limits.maxGrossNotional = try r.child("max_gross_notional").optionalDecimal(object["max_gross_notional"])
        limits.priceCollarBps = try r.child("price_collar_bps").optionalDecimal(object["price_collar_bps"])
        if let value = object["max_orders_per_minute"] { limits.maxOrdersPerMinute = try r.child("max_orders_per_minute").nonNegativeInt(value) }
        limits.maxDailyNotional = try r.child("max_daily_notional").optionalDecimal(object["max_daily_notional"])
        return limits
    }
}

/// An order as the risk checks see it.
public struct RiskOrder: Sendable, Equatable {
    public var venue: String
    public var symbol: String
    /// Signed: positive buys, negative sells.
    public var quantity: ExactDecimal
    /// nil for a market order.
    public var limitPrice: ExactDecimal?
    /// The order's reference mark or the venue's quote; nil when there is none.
    public var referencePrice: ExactDecimal?

    public init(venue: String, symbol: String, quantity: ExactDecimal, limitPrice: ExactDecimal? = nil, referencePrice: ExactDecimal?) {
        (self.venue, self.symbol, self.quantity, self.limitPrice, self.referencePrice) = (venue, symbol, quantity, limitPrice, referencePrice)
    }

    /// The price its notional is counted at; a price of zero or less is no price.
    var price: ExactDecimal? { (limitPrice ?? referencePrice).flatMap { $0.signum > 0 ? $0 : nil } }
}

/// What the account holds and has done before the orders being checked.
public struct AccountExposure: Sendable, Equatable {
    public struct Holding: Sendable, Equatable {
        public var quantity: ExactDecimal
        public var mark: ExactDecimal

        public init(quantity: ExactDecimal, mark: ExactDecimal) { (self.quantity, self.mark) = (quantity, mark) }
    }

    /// By venue and symbol.
    public var holdings: [SymbolKey: Holding]
    /// Orders placed in the last 60 s.
    public var ordersInLastMinute: Int
    /// Notional placed since 00:00 UTC.
    public var notionalToday: ExactDecimal

    public init(holdings: [SymbolKey: Holding] = [:], ordersInLastMinute: Int = 0, notionalToday: ExactDecimal = .zero) {
        (self.holdings, self.ordersInLastMinute, self.notionalToday) = (holdings, ordersInLastMinute, notionalToday)
    }
}

/// A limit an order would pass: which (its config key), by how much, for what.
public struct RiskViolation: Sendable, Equatable {
    public var limit: String
    public var value: ExactDecimal
    public var allowed: ExactDecimal
    public var venue: String
    public var symbol: String
}

/// The pre-trade checks: each order against the account's limits, in order, as if the orders
/// before it in the batch had been placed. Orders that only shrink a position skip the position
/// and gross limits, never the others. Exact: a notional 1e-30 over its limit is over it.
public enum PreTradeRisk {
    /// Each order's first violation (nil when it passes), threading the batch's effect on the
    /// positions, the minute's order count and the day's notional. An order that violates is not
    /// counted as placed for the orders after it.
    public static func check(_ orders: [RiskOrder], exposure: AccountExposure, limits: RiskLimits) -> [RiskViolation?] {
        var state = exposure
        var gross = state.holdings.values.reduce(ExactDecimal.zero) { $0 + ($1.quantity * $1.mark).magnitude }
        return orders.map { order in
            let key = SymbolKey(venue: order.venue, symbol: order.symbol)
            let before = state.holdings[key]
            // A mark of zero or less is no mark: the position cannot be valued.
            let mark = [before?.mark, order.referencePrice].compactMap { $0 }.first { $0.signum > 0 }
            let violation = check(order, before: before?.quantity ?? .zero, mark: mark, gross: gross, state: state, limits: limits)
            guard violation == nil else { return violation }
            let after = (before?.quantity ?? .zero) + order.quantity
            if let mark {
                gross = gross - ((before?.quantity ?? .zero) * mark).magnitude + (after * mark).magnitude
                state.holdings[key] = .init(quantity: after, mark: mark)
            }
            state.ordersInLastMinute += 1
            state.notionalToday += notional(order) ?? .zero
            return nil
        }
    }

    static func check(_ order: RiskOrder, before: ExactDecimal, mark: ExactDecimal?, gross: ExactDecimal, state: AccountExposure, limits: RiskLimits) -> RiskViolation? {
        func violation(_ limit: String, _ value: ExactDecimal, _ allowed: ExactDecimal) -> RiskViolation {
            RiskViolation(limit: limit, value: value, allowed: allowed, venue: order.venue, symbol: order.symbol)
        }
        let quantity = order.quantity.magnitude
        if let max = RiskLimits.perSymbol(limits.maxOrderQuantity, order.symbol), quantity > max {
            return violation("max_order_qty", quantity, max)
        }
        let notional = notional(order)
        if let max = limits.maxOrderNotional {
            // Without a price the notional cannot be known: refused rather than passed.
            guard let notional else { return violation("max_order_notional", .zero, max) }
            if notional > max { return violation("max_order_notional", notional, max) }
        }
        if let bps = limits.priceCollarBps, let limit = order.limitPrice, let reference = order.referencePrice, reference.signum > 0 {
            let deviation = ((limit - reference).magnitude.rational * Rational(10_000) / reference.rational)
            if deviation > bps.rational { return violation("price_collar_bps", deviation.roundedToSignificantDigits(34), bps) }
        }
        if let max = limits.maxOrdersPerMinute, state.ordersInLastMinute + 1 > max {
            return violation("max_orders_per_minute", ExactDecimal(state.ordersInLastMinute + 1), ExactDecimal(max))
        }
        if let max = limits.maxDailyNotional {
            guard let notional else { return violation("max_daily_notional", .zero, max) }
            if state.notionalToday + notional > max { return violation("max_daily_notional", state.notionalToday + notional, max) }
        }
        let after = before + order.quantity
        let shrinks = after.magnitude <= before.magnitude && after.signum * before.signum >= 0
        guard !shrinks else { return nil }
        if let max = RiskLimits.perSymbol(limits.maxPositionNotional, order.symbol) {
            guard let mark else { return violation("max_position_notional", .zero, max) }
            let position = (after * mark).magnitude
            if position > max { return violation("max_position_notional", position, max) }
        }
        if let max = limits.maxGrossNotional {
            guard let mark else { return violation("max_gross_notional", .zero, max) }
            let total = gross - (before * mark).magnitude + (after * mark).magnitude
            if total > max { return violation("max_gross_notional", total, max) }
        }
        return nil
    }

    static func notional(_ order: RiskOrder) -> ExactDecimal? {
        order.price.map { order.quantity.magnitude * $0 }
    }
}

extension PreTradeRisk {
    /// The dispatched orders of a submission, in dispatch order, against the account's limits: the
    /// first violation is E_RISK_LIMIT with its figures (nothing of the submission is written).
    public static func checkSubmission(_ batches: [BatchAssembly.Batch], limits: RiskLimits, exposure: AccountExposure) throws(FieldError) {
        var orders: [RiskOrder] = []
        for order in batches.filter(\.ref.dispatched).flatMap(\.orders) {
            guard let quantity = DecimalGrammar.parse(order.quantity) else {
                throw FieldError(.invalidDecimal, field: "orders.quantity", message: "order \(order.clientOrderID): quantity \"\(order.quantity)\" is not a decimal")
            }
            orders.append(RiskOrder(venue: order.venue, symbol: order.symbol, quantity: order.side == .sell ? -quantity : quantity,
                                    referencePrice: DecimalGrammar.parse(order.referenceMark)))
        }
        guard let violation = check(orders, exposure: exposure, limits: limits).compactMap({ $0 }).first else { return }
        throw violation.error
    }
}

extension RiskViolation {
    /// FAILED_PRECONDITION E_RISK_LIMIT naming the limit and the order's figures.
    public var error: FieldError {
        FieldError(
            .riskLimit, field: "",
            message: "\(symbol) at \(venue.isEmpty ? "no venue" : venue): \(limit) allows \(allowed), the order comes to \(value)",
            metadata: ["limit": limit, "value": value.description, "allowed": allowed.description, "venue": venue, "symbol": symbol])
    }
}

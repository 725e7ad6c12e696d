import Contracts
import ExactNumbers
import Planning

/// An order the gateway sends to a venue (through its broker).
public typealias VenueOrder = Keel_Gateway_V1_Order
public typealias OrderViolation = Keel_Gateway_V1_OrderViolation

public enum FlipPolicy: Sendable {
    /// Close the whole position (reduce-only), then open the rest.
    case flattenThenOpen
    /// One order across zero, not reduce-only.
    case directFlip
}

/// The request's own order settings.
public struct OrderOptions: Sendable {
    public var lotSizeBySymbol: [String: ExactDecimal] = [:]
    public var minTradeNotional = ExactDecimal.zero
    public var flipPolicy = FlipPolicy.flattenThenOpen
    public var timeInForce = TimeInForce.gtc
    public var disableReduceOnly = false
    /// The overlay prices of the plan request: the last fallback for a mark.
    public var overlayPrices: [String: ExactDecimal] = [:]

    public init() {}
}

/// Positions and marks of the request rows, indexed once for every scope: per world, per
/// (world, strategy), and across all rows.
public struct ExposureIndex: Sendable {
    struct MarkSum: Sendable {
        var sum = ExactDecimal.zero
        var count = 0
        var mean: Rational? { count == 0 ? nil : sum.rational / Rational(BigInt(count)) }
        mutating func add(_ mark: ExactDecimal) {
            if mark.signum > 0 {
                sum += mark
                count += 1
            }
        }
    }

    struct Scope: Sendable {
        var position: [SymbolKey: ExactDecimal] = [:]
        var marks: [SymbolKey: MarkSum] = [:]
        /// Positive marks of the scope's rows by symbol at any venue (each row once).
        var marksBySymbol: [String: MarkSum] = [:]

        mutating func add(_ row: PositionRow) {
            position[row.key, default: .zero] += row.quantity
            marks[row.key, default: MarkSum()].add(row.mark)
            marksBySymbol[row.key.symbol, default: MarkSum()].add(row.mark)
        }

        func mark(_ key: SymbolKey) -> Rational? {
            marks[key]?.mean ?? marksBySymbol[key.symbol]?.mean
        }
    }

    var all = Scope()
    var worlds: [String: Scope] = [:]
    /// Positions only (a strategy's orders are priced from its world).
    var strategies: [String: [String: [SymbolKey: ExactDecimal]]] = [:]
    /// Per world, strategies in first-appearance order with |qty × mark| per key (for the split).
    var exposure: [String: [(strategy: String, key: SymbolKey, exposure: ExactDecimal)]] = [:]

    public init(_ rows: [PositionRow]) {
        for row in rows {
            all.add(row)
            worlds[row.worldID, default: Scope()].add(row)
            strategies[row.worldID, default: [:]][row.strategyID, default: [:]][row.key, default: .zero] += row.quantity
            exposure[row.worldID, default: []].append((row.strategyID, row.key, (row.quantity * row.mark).magnitude))
        }
    }

    /// The global scope's mark (all rows) of a key, with the same fallbacks as every scope.
    public func globalMark(_ key: SymbolKey) -> Rational? { all.mark(key) }
}

/// Where an order is attributed: a world's plan, one strategy of a world, or the shared account.
public enum OrderScope: Sendable, Equatable {
    case world(String)
    case strategy(world: String, strategy: String)
    case global
}

/// One signed quantity at a key → orders and violations, never an error.
public struct OrderBuilder: Sendable {
    public let config: GatewayConfig
    public let options: OrderOptions
    public let index: ExposureIndex

    public init(config: GatewayConfig, options: OrderOptions, index: ExposureIndex) {
        self.config = config
        self.options = options
        self.index = index
    }

    public struct Result: Sendable {
        public var orders: [VenueOrder] = []
        public var violations: [OrderViolation] = []

        public init() {}
    }

    /// The lot of a key after policy lookup (the configuration's lot wins), and its canonical symbol.
    public func lot(venue: String, symbol: String) -> (lot: ExactDecimal?, canonical: String) {
        let lookup = Lookup(config: config, venue: venue, symbol: symbol)
        return (lookup.lot(options: options), lookup.canonical)
    }

    public func build(_ quantity: ExactDecimal, at key: SymbolKey, scope: OrderScope, into result: inout Result) {
        if quantity.isZero { return }
        let lookup = Lookup(config: config, venue: key.venue, symbol: key.symbol)
        let (worldID, strategyID): (String, String) = switch scope {
        case .world(let w): (w, "")
        case .strategy(let w, let s): (w, s)
        case .global: ("global", "")
        }
        func violation(_ reason: Keel_Gateway_V1_ViolationReason, _ fill: (inout OrderViolation) -> Void) {
            var v = OrderViolation()
            v.worldID = worldID
            v.strategyID = strategyID
            v.venue = key.venue
            v.symbol = lookup.canonical
            v.reason = reason
            fill(&v)
            result.violations.append(v)
        }

        let lot = lookup.lot(options: options)
        let q = lot.map { quantity.roundedToLot($0) } ?? quantity
        if q.isZero {
            violation(.lotSize) {
                $0.requestedQty = quantity.description
                $0.lotSize = lot?.description ?? ""
            }
            return
        }
        let minimum = max(options.minTradeNotional, lookup.chain(\.minNotional, \.minNotional) ?? .zero)
        let mark = self.mark(of: key, scope: scope)
        if minimum.signum > 0 {
            guard let mark else {
                violation(.missingMark) { $0.minNotional = minimum.description }
                return
            }
            if q.magnitude.rational * mark < minimum.rational {
                violation(.minNotional) {
                    $0.minNotional = minimum.description
                    $0.mark = mark.outputString
                    $0.quantity = q.description
                }
                return
            }
        }

        // Legs with the scope's position (docs/architecture.md#reduce-only-legs).
        let position = self.position(of: key, scope: scope)
        var legs: [(quantity: ExactDecimal, reduceOnly: Bool, leg: Keel_Gateway_V1_OrderLeg)] = []
        let opposite = !position.isZero && position.signum != q.signum
        if options.disableReduceOnly {
            legs = [(q, false, .single)]
        } else if opposite, q.magnitude <= position.magnitude {
            legs = [(q, true, .single)]
        } else if opposite {
            switch options.flipPolicy {
            case .directFlip:
                legs = [(q, false, .single)]
            case .flattenThenOpen:
                legs = [(-position, true, .close)]
                let rest = position + q
                let open = lot.map { rest.roundedToLot($0) } ?? rest
                if open.isZero {
                    violation(.lotSize) {
                        $0.requestedQty = rest.description
                        $0.lotSize = lot?.description ?? ""
                    }
                } else if minimum.signum > 0, let mark, open.magnitude.rational * mark < minimum.rational {
                    violation(.minNotional) {
                        $0.minNotional = minimum.description
                        $0.mark = mark.outputString
                        $0.quantity = open.description
                    }
                } else {
                    legs.append((open, false, .open))
                }
            }
        } else {
            legs = [(q, false, .single)]
        }

        for leg in legs {
            var order = VenueOrder()
            order.worldID = worldID
            order.strategyID = strategyID
            order.venue = key.venue
            order.symbol = lookup.canonical
            order.side = leg.quantity.signum > 0 ? .buy : .sell
            order.quantity = leg.quantity.magnitude.description
            order.reduceOnly = leg.reduceOnly && (lookup.policy?.supportsReduceOnly ?? true)
            if order.reduceOnly, lookup.policy?.reduceOnlyRequiresIOC == true {
                order.timeInForce = .ioc
            } else {
                order.timeInForce = (lookup.policy?.defaultTimeInForce ?? options.timeInForce).proto
            }
            order.leg = leg.leg
            order.referenceMark = mark?.outputString ?? ""
            result.orders.append(order)
        }
    }

    /// Marks: the mark scope's mean at the key, else by symbol at any venue, else the overlay price.
    func mark(of key: SymbolKey, scope: OrderScope) -> Rational? {
        let found: Rational?
        switch scope {
        case .world(let w), .strategy(let w, _): found = index.worlds[w]?.mark(key)
        case .global: found = index.all.mark(key)
        }
        if let found { return found }
        if let price = options.overlayPrices[key.symbol], price.signum > 0 { return price.rational }
        return nil
    }

    func position(of key: SymbolKey, scope: OrderScope) -> ExactDecimal {
        switch scope {
        case .world(let w): index.worlds[w]?.position[key] ?? .zero
        case .strategy(let w, let s): index.strategies[w]?[s]?[key] ?? .zero
        case .global: index.all.position[key] ?? .zero
        }
    }
}

/// Policy and instrument lookup for one (venue, symbol) (docs/architecture.md#venue-policy).
struct Lookup {
    let policy: VenuePolicy?
    let wildcard: VenuePolicy?
    let instrument: InstrumentConstraint?
    let wildcardInstrument: InstrumentConstraint?
    let canonical: String
    let symbol: String

    init(config: GatewayConfig, venue: String, symbol: String) {
        self.symbol = symbol
        policy = config.policy(for: venue)
        // The `*` entries count only when the venue has a policy of its own.
        let isWildcard = policy?.name == "*"
        wildcard = isWildcard ? nil : config.wildcard
        instrument = policy?.instrument(for: symbol)
        wildcardInstrument = wildcard?.instrument(for: symbol)
        canonical = instrument?.key ?? wildcardInstrument?.key ?? symbol
    }

    /// The field chain: venue instrument, venue, `*` instrument, `*`.
    func chain(_ instrumentField: KeyPath<InstrumentConstraint, ExactDecimal?>, _ policyField: KeyPath<VenuePolicy, ExactDecimal?>) -> ExactDecimal? {
        instrument?[keyPath: instrumentField] ?? policy?[keyPath: policyField]
            ?? wildcardInstrument?[keyPath: instrumentField] ?? wildcard?[keyPath: policyField]
    }

    /// The configuration's lot wins; else the request's, by canonical then written symbol.
    func lot(options: OrderOptions) -> ExactDecimal? {
        if let lot = chain(\.lotSize, \.lotSize), lot.signum > 0 { return lot }
        if let lot = options.lotSizeBySymbol[canonical], lot.signum > 0 { return lot }
        if let lot = options.lotSizeBySymbol[symbol], lot.signum > 0 { return lot }
        return nil
    }
}

extension TimeInForce {
    var proto: Keel_Gateway_V1_TimeInForce {
        switch self {
        case .gtc: .gtc
        case .ioc: .ioc
        case .fok: .fok
        case .gtx: .gtx
        case .day: .day
        }
    }
}

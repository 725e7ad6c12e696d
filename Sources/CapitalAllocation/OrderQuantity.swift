import Contracts
import ExactNumbers

/// The quantity of an order from the strategy's allocated capital (entry) or from its position
/// (close), with price selection, leverage for futures only, step flooring and the symbol's limits.
public enum OrderQuantity {
    public enum OrderType: Sendable, Equatable {
        case market, limit, stopMarket, stopLimit, conditionalLimit, preMarket, afterMarket

        var isLimit: Bool { [.limit, .stopLimit, .conditionalLimit, .preMarket, .afterMarket].contains(self) }
        var isStop: Bool { [.stopMarket, .stopLimit, .conditionalLimit].contains(self) }
    }

    public enum Side: Sendable { case buy, sell }
    public enum PriceSource: Sendable { case marketData, requestPriceIfPresent }
    public enum SkipReason: Sendable, Equatable { case zeroQtyPer, belowMinQuantity, aboveMaxQuantity, belowMinNotional, roundedToZero, nonPositiveCapital }

    public struct SymbolRules: Sendable {
        public var minQty = ExactDecimal.zero
        public var maxQty = ExactDecimal.zero
        public var stepSize = ExactDecimal.zero
        public var minPrice = ExactDecimal.zero
        public var maxPrice = ExactDecimal.zero
        public var tickSize = ExactDecimal.zero
        public var minNotional = ExactDecimal.zero
        public var amountPrecision: Int?

        public init() {}
    }

    public struct Input: Sendable {
        public var qtyPer: ExactDecimal
        public var orderType: OrderType = .market
        public var price: ExactDecimal?
        public var stopPrice: ExactDecimal?
        public var marketPrice: ExactDecimal?
        public var side: Side?
        /// The position to close (close branch); nil = none.
        public var positionQty: ExactDecimal?
        public var rules: SymbolRules
        /// nil = no StrategyCapital row.
        public var allocatedCapital: ExactDecimal?
        public var leverage: ExactDecimal = .one
        public var isFutures = false
        /// nil = no cap (setting `max_qty_per: null`).
        public var maxQtyPer: ExactDecimal? = ExactDecimal(100)
        public var priceSource: PriceSource = .marketData

        public init(qtyPer: ExactDecimal, rules: SymbolRules) {
            self.qtyPer = qtyPer
            self.rules = rules
        }
    }

    public struct Result: Sendable, Equatable {
        public var quantity: ExactDecimal
        public var skip: SkipReason?
        public var priceUsed: ExactDecimal?
        public var leverageApplied: ExactDecimal?
        public var closePercentClamped = false
    }

    /// `qty_per > max_qty_per` is refused (a close's negative percentage is clamped to 100 instead).
    public static func checkQtyPer(_ qtyPer: ExactDecimal, maxQtyPer: ExactDecimal?) throws(FieldError) {
        if let cap = maxQtyPer, qtyPer.signum > 0, qtyPer > cap {
            throw FieldError(.qtyPerOutOfRange, field: "qty_per", message: "qty_per \(qtyPer) is above max_qty_per \(cap)")
        }
    }

    public static func calculate(_ input: Input) throws(FieldError) -> Result {
        try checkQtyPer(input.qtyPer, maxQtyPer: input.maxQtyPer)
        if let price = input.price, price.signum <= 0 {
            throw FieldError(.invalidPrice, field: "price", message: "price must be > 0")
        }
        if let stop = input.stopPrice, stop.signum <= 0 {
            throw FieldError(.invalidPrice, field: "stop_price", message: "stop_price must be > 0")
        }
        return input.qtyPer.isNegative ? try close(input) : try entry(input)
    }

    /// The price: limit price, stop price, the request price for MARKET when configured, market data.
    static func selectPrice(_ input: Input) throws(FieldError) -> (price: ExactDecimal, field: String) {
        if input.orderType.isLimit, let price = input.price { return (price, "price") }
        if input.orderType.isStop, let stop = input.stopPrice { return (stop, "stop_price") }
        if input.orderType == .market, input.priceSource == .requestPriceIfPresent, let price = input.price { return (price, "price") }
        if let market = input.marketPrice, market.signum > 0 { return (market, "market_price") }
        throw FieldError(.noPrice, field: "market_price", message: "no price to size the order with")
    }

    static func entry(_ input: Input) throws(FieldError) -> Result {
        if input.qtyPer.isZero { return Result(quantity: .zero, skip: .zeroQtyPer) }
        let (price, field) = try selectPrice(input)
        guard let allocated = input.allocatedCapital else {
            throw FieldError(.noAllocatedCapital, field: "strategy_account_id", message: "the strategy account has no allocated capital yet")
        }
        let leverage = input.isFutures ? input.leverage : .one
        if allocated.signum <= 0 { return Result(quantity: .zero, skip: .nonPositiveCapital, priceUsed: price, leverageApplied: leverage) }
        // One quotient: allocated × qty_per × L / (100 × price).
        let raw = (allocated * input.qtyPer * leverage).rational / (ExactDecimal(100) * price).rational
        return try filter(raw, price: price, priceField: field, input: input, isClose: false, leverage: leverage)
    }

    static func close(_ input: Input) throws(FieldError) -> Result {
        var percent = input.qtyPer.magnitude
        var clamped = false
        if percent > ExactDecimal(100) {
            percent = ExactDecimal(100)
            clamped = true
        }
        guard let side = input.side else {
            throw FieldError(.missingSide, field: "side", message: "a close (negative qty_per) needs a side")
        }
        let position = input.positionQty ?? .zero
        switch side {
        case .buy where position.signum >= 0:
            throw FieldError(.noShortPosition, field: "position_qty", message: "BUY closes a short; the position is \(position)")
        case .sell where position.signum <= 0:
            throw FieldError(.noLongPosition, field: "position_qty", message: "SELL closes a long; the position is \(position)")
        default:
            break
        }
        let raw = (position.magnitude * percent).rational / Rational(100)
        let (price, field) = try selectPrice(input)
        var result = try filter(raw, price: price, priceField: field, input: input, isClose: true, leverage: nil)
        result.closePercentClamped = clamped
        return result
    }

    /// The filters, in order: floor to the step (or precision), quantity limits, price limits, notional.
    static func filter(_ raw: Rational, price: ExactDecimal, priceField: String, input: Input, isClose: Bool, leverage: ExactDecimal?) throws(FieldError) -> Result {
        let rules = input.rules
        var quantity: ExactDecimal
        if rules.stepSize.signum > 0 {
            quantity = raw.roundedToLot(rules.stepSize).roundedToSignificantDigits(34)
        } else if let precision = rules.amountPrecision {
            quantity = CapitalAllocator.truncate(raw, scale: precision)
        } else {
            quantity = raw.roundedToSignificantDigits(34)
        }
        func skip(_ reason: SkipReason, _ error: ErrorReason, _ message: String) throws(FieldError) -> Result {
            if isClose { throw FieldError(error, field: "qty_per", message: message) }
            return Result(quantity: .zero, skip: reason, priceUsed: price, leverageApplied: leverage)
        }
        if rules.minQty.signum > 0, quantity < rules.minQty {
            return try skip(.belowMinQuantity, .belowMinQuantity, "quantity \(quantity) is below min_qty \(rules.minQty)")
        }
        if quantity.signum <= 0 {
            return try skip(.roundedToZero, .zeroCloseQuantity, "the quantity rounds to 0")
        }
        if rules.maxQty.signum > 0, quantity > rules.maxQty {
            return try skip(.aboveMaxQuantity, .aboveMaxQuantity, "quantity \(quantity) is above max_qty \(rules.maxQty)")
        }
        if price < rules.minPrice {
            throw FieldError(.belowMinPrice, field: priceField, message: "price \(price) is below min_price \(rules.minPrice)")
        }
        if rules.maxPrice.signum > 0, price > rules.maxPrice {
            throw FieldError(.aboveMaxPrice, field: priceField, message: "price \(price) is above max_price \(rules.maxPrice)")
        }
        let tickPrice = rules.tickSize.signum > 0 ? price.roundedToLot(rules.tickSize) : price
        if quantity * tickPrice < rules.minNotional {
            return try skip(.belowMinNotional, .belowMinNotional, "notional \(quantity * tickPrice) is below min_notional \(rules.minNotional); a remainder this small cannot be closed this way")
        }
        return Result(quantity: quantity, skip: nil, priceUsed: price, leverageApplied: leverage)
    }
}

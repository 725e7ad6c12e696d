import Contracts
import ExactNumbers

/// A (venue, symbol) pair. The absent venue is `""`, a key of its own; strings compare byte for byte.
public struct SymbolKey: Hashable, Sendable {
    public var venue: String
    public var symbol: String

    public init(venue: String, symbol: String) {
        self.venue = venue
        self.symbol = symbol
    }
}

/// One (world, strategy, venue, symbol) holding: signed quantity (negative = short) and mark
/// (0 = unknown).
public struct PositionRow: Sendable, Equatable {
    public var worldID: String
    public var strategyID: String
    public var key: SymbolKey
    public var quantity: ExactDecimal
    public var mark: ExactDecimal

    public init(worldID: String, strategyID: String, venue: String, symbol: String, quantity: ExactDecimal, mark: ExactDecimal) {
        self.worldID = worldID
        self.strategyID = strategyID
        self.key = SymbolKey(venue: venue, symbol: symbol)
        self.quantity = quantity
        self.mark = mark
    }
}

public enum ScaleCombination: Sendable {
    /// The strategy's own scale replaces the world scale (the default).
    case strategyScale
    /// min(gw, gs) when the world shrinks, max(gw, gs) when it grows.
    case capped
}

/// The hedge instruments that carry a world's change in OVERLAY and HYBRID modes.
public struct OverlaySettings: Sendable {
    public var instrumentByWorld: [String: String]
    public var priceBySymbol: [String: ExactDecimal]
    public var minOrderNotional: ExactDecimal

    public init(instrumentByWorld: [String: String], priceBySymbol: [String: ExactDecimal], minOrderNotional: ExactDecimal) {
        self.instrumentByWorld = instrumentByWorld
        self.priceBySymbol = priceBySymbol
        self.minOrderNotional = minOrderNotional
    }
}

public enum RebalanceMode: Sendable {
    case scaling
    case overlay(OverlaySettings)
    /// `ratio` h of each world's change goes to the overlay, the rest to scaling.
    case hybrid(OverlaySettings, ratio: ExactDecimal)
}

/// Everything a proportional rebalance needs, validated.
public struct RebalanceContext: Sendable {
    public var totalEquity: ExactDecimal
    public var worldAllocBefore: [String: ExactDecimal]
    public var worldAllocAfter: [String: ExactDecimal]
    /// world → strategy → allocation; a present world entry (even empty) is explicit.
    public var strategyAllocBefore: [String: [String: ExactDecimal]]
    public var strategyAllocAfter: [String: [String: ExactDecimal]]
    /// The positions, interned (see `PositionBook`).
    public var book: PositionBook
    public var positions: [PositionRow] {
        get { book.positionRows }
        set { book = PositionBook(newValue) }
    }
    public var minTradeNotional: ExactDecimal
    /// symbol → lot (0 = no rounding), for every venue.
    public var lotSizeBySymbol: [String: ExactDecimal]
    public var mode: RebalanceMode
    public var scaleCombination: ScaleCombination

    public init(
        totalEquity: ExactDecimal, worldAllocBefore: [String: ExactDecimal], worldAllocAfter: [String: ExactDecimal],
        strategyAllocBefore: [String: [String: ExactDecimal]] = [:], strategyAllocAfter: [String: [String: ExactDecimal]] = [:],
        positions: [PositionRow], minTradeNotional: ExactDecimal = .zero, lotSizeBySymbol: [String: ExactDecimal] = [:],
        mode: RebalanceMode = .scaling, scaleCombination: ScaleCombination = .strategyScale
    ) {
        self.init(
            totalEquity: totalEquity, worldAllocBefore: worldAllocBefore, worldAllocAfter: worldAllocAfter,
            strategyAllocBefore: strategyAllocBefore, strategyAllocAfter: strategyAllocAfter, book: PositionBook(positions),
            minTradeNotional: minTradeNotional, lotSizeBySymbol: lotSizeBySymbol, mode: mode, scaleCombination: scaleCombination)
    }

    public init(
        totalEquity: ExactDecimal, worldAllocBefore: [String: ExactDecimal], worldAllocAfter: [String: ExactDecimal],
        strategyAllocBefore: [String: [String: ExactDecimal]] = [:], strategyAllocAfter: [String: [String: ExactDecimal]] = [:],
        book: PositionBook, minTradeNotional: ExactDecimal = .zero, lotSizeBySymbol: [String: ExactDecimal] = [:],
        mode: RebalanceMode = .scaling, scaleCombination: ScaleCombination = .strategyScale
    ) {
        self.totalEquity = totalEquity
        self.worldAllocBefore = worldAllocBefore
        self.worldAllocAfter = worldAllocAfter
        self.strategyAllocBefore = strategyAllocBefore
        self.strategyAllocAfter = strategyAllocAfter
        self.book = book
        self.minTradeNotional = minTradeNotional
        self.lotSizeBySymbol = lotSizeBySymbol
        self.mode = mode
        self.scaleCombination = scaleCombination
    }
}

/// A signed quantity change at a key, as written (positive = buy).
public struct SymbolDelta: Sendable, Equatable {
    public var key: SymbolKey
    public var quantity: ExactDecimal

    public init(key: SymbolKey, quantity: ExactDecimal) {
        self.key = key
        self.quantity = quantity
    }
}

public enum SkipReason: Sendable, Equatable {
    case missingMark, belowMinNotional, roundedToZero
}

/// A key with a change that produced no delta, and why.
public struct SkippedDelta: Sendable, Equatable {
    public var worldID: String
    public var key: SymbolKey
    public var reason: SkipReason
    public var notional: Rational
    /// The unrounded quantity (ROUNDED_TO_ZERO only).
    public var rawQuantity: Rational?
}

/// A world's hedge leg: the instrument quantity that carries its change.
public struct OverlayDelta: Sendable, Equatable {
    public var worldID: String
    public var instrument: String
    public var quantity: ExactDecimal
    public var notional: Rational
}

public struct WorldPlan: Sendable {
    public var worldID: String
    public var scaleWorld: Rational
    /// The factor actually applied, per strategy of the after map.
    public var scaleByStrategy: [String: Rational]
    public var deltas: [SymbolDelta]
    public var skipped: [SkippedDelta]
}

public struct RebalancePlan: Sendable {
    public var perWorld: [WorldPlan] = []
    public var globalDeltas: [SymbolDelta] = []
    public var globalSkipped: [SkippedDelta] = []
    public var overlayDeltas: [OverlayDelta] = []
    public var overlaySkipped: [SkippedDelta] = []
}

/// A planner: one context in, one plan out, so another algorithm can replace the default.
public protocol Rebalancer: Sendable {
    func plan(_ context: RebalanceContext) throws(PlanningFailure) -> RebalancePlan
}

/// A configuration problem found while planning (a missing overlay instrument or price).
public struct PlanningFailure: Error, Sendable, Equatable {
    public var reason: ErrorReason
    public var field: String
    public var message: String
    public var metadata: [String: String]
}

import Contracts
import ExactNumbers
import Planning

/// A world's delta at a key split over the strategies that hold it, by exposure, with
/// largest-remainder lots so the parts add up to the world quantity. Attributed by key, never by
/// list position.
public enum StrategySplit {
    public struct Part: Sendable, Equatable {
        public var strategyID: String
        public var quantity: ExactDecimal
    }

    /// `fallbackWeights`: the world's after-allocations, used when no strategy has exposure and the
    /// delta buys. Returns the parts, or a NO_EXPOSURE / LOT_SIZE violation.
    public static func split(
        _ quantity: ExactDecimal, at key: SymbolKey, world: String, index: ExposureIndex,
        lot: ExactDecimal?, fallbackWeights: [String: ExactDecimal]
    ) -> (parts: [Part], violation: OrderViolation?) {
        // Exposure per strategy at the key, strategies in first-appearance order.
        var order: [String] = []
        var exposure: [String: ExactDecimal] = [:]
        for entry in index.exposure[world] ?? [] where entry.key == key {
            if exposure[entry.strategy] == nil { order.append(entry.strategy) }
            exposure[entry.strategy, default: .zero] += entry.exposure
        }
        var total = ExactDecimal.zero
        for strategy in order { total += exposure[strategy]! }

        var shares: [(strategy: String, share: Rational)] = []
        if total.signum > 0 {
            for strategy in order where exposure[strategy]!.signum > 0 {
                shares.append((strategy, exposure[strategy]!.rational / total.rational))
            }
        } else if quantity.signum > 0, fallbackWeights.values.contains(where: { $0.signum > 0 }) {
            let positive = fallbackWeights.filter { $0.value.signum > 0 }
            let sum = positive.values.reduce(ExactDecimal.zero, +)
            for strategy in positive.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                shares.append((strategy, positive[strategy]!.rational / sum.rational))
            }
        } else {
            var v = OrderViolation()
            v.worldID = world
            v.venue = key.venue
            v.symbol = key.symbol
            v.reason = .noExposure
            v.requestedQty = quantity.description
            return ([], v)
        }

        guard let lot, lot.signum > 0 else {
            // No lot: exact shares written with output rounding; the last takes the remainder.
            var parts: [Part] = []
            var assigned = ExactDecimal.zero
            for (i, entry) in shares.enumerated() {
                let part = i == shares.count - 1
                    ? quantity - assigned
                    : (quantity.rational * entry.share).roundedToSignificantDigits(34)
                assigned += part
                parts.append(Part(strategyID: entry.strategy, quantity: part))
            }
            return (parts, nil)
        }
        let units = (quantity.rational / lot.rational).truncated()
        if units.isZero {
            var v = OrderViolation()
            v.worldID = world
            v.venue = key.venue
            v.symbol = key.symbol
            v.reason = .lotSize
            v.requestedQty = quantity.description
            v.lotSize = lot.description
            return ([], v)
        }
        // Largest remainder: truncate every exact share, then hand out the missing lots one each.
        var whole: [BigInt] = []
        var remainders: [(index: Int, remainder: Rational)] = []
        for (i, entry) in shares.enumerated() {
            let exact = Rational(units) * entry.share
            let truncated = exact.truncated()
            whole.append(truncated)
            remainders.append((i, (exact - Rational(truncated)).magnitude))
        }
        var missing = units - whole.reduce(BigInt.zero, +)
        let step = BigInt(missing.signum)
        remainders.sort { $0.remainder > $1.remainder || ($0.remainder == $1.remainder && $0.index < $1.index) }
        var cursor = 0
        while !missing.isZero, !remainders.isEmpty {
            whole[remainders[cursor % remainders.count].index] += step
            missing -= step
            cursor += 1
        }
        let parts = zip(shares, whole).map { entry, lots in
            Part(strategyID: entry.strategy, quantity: ExactDecimal(significand: lots * lot.significand, exponent: lot.exponent))
        }
        return (parts, nil)
    }
}

import Contracts
import ExactNumbers
import Planning

public typealias SharedAccountContext = Keel_Gateway_V1_SharedAccountContext

/// The shared account's exposure after the global orders, checked against the policy.
public enum SharedAccountPolicyCheck {
    public struct Leg: Sendable {
        public var key: SymbolKey
        public var isBuy: Bool
        public var quantity: ExactDecimal
        /// The global mark (all rows) of the order's delta; nil = none found.
        public var mark: Rational?

        public init(key: SymbolKey, isBuy: Bool, quantity: ExactDecimal, mark: Rational?) {
            self.key = key
            self.isBuy = isBuy
            self.quantity = quantity
            self.mark = mark
        }
    }

    /// `current` = Σ qty × mark over all request rows (signed).
    public static func evaluate(
        policy: SharedAccountPolicy, orders: [Leg], totalEquity: ExactDecimal, current: Rational
    ) -> SharedAccountContext {
        var gross = Rational.zero
        var net = Rational.zero
        var missing: [SymbolKey] = []
        for order in orders {
            let signed = order.isBuy ? order.quantity.rational : -order.quantity.rational
            guard let m = order.mark else {
                missing.append(order.key)
                continue
            }
            gross += signed.magnitude * m
            net += signed * m
        }
        let projected = current + net
        let headroom: Rational
        if totalEquity.signum <= 0 {
            headroom = .zero
        } else {
            let free = Rational.one - projected.magnitude / totalEquity.rational
            headroom = free.signum > 0 ? free : .zero
        }
        var context = SharedAccountContext()
        context.totalEquity = totalEquity.description
        context.currentNetNotional = current.magnitude.outputString
        context.grossNotional = gross.outputString
        context.netNotionalDelta = net.magnitude.outputString
        context.netNotional = projected.magnitude.outputString
        context.marginHeadroom = headroom.outputString
        context.missingMarks = missing.map { key in .with { $0.venue = key.venue; $0.symbol = key.symbol } }

        func reject(_ violation: Keel_Gateway_V1_SharedAccountViolation, _ message: String) -> SharedAccountContext {
            var rejected = context
            rejected.allowed = false
            rejected.violation = violation
            rejected.message = message
            return rejected
        }
        if !missing.isEmpty {
            return reject(.missingMarks, "missing mark data for shared-account exposure evaluation")
        }
        if let limit = policy.maxGrossNotional, gross > limit.rational {
            return reject(.grossNotional, "gross notional \(fixed(gross, 2)) exceeds limit \(fixed(limit.rational, 2))")
        }
        if let limit = policy.maxNetNotional, projected.magnitude > limit.rational {
            return reject(.netNotional, "net notional \(fixed(projected.magnitude, 2)) exceeds limit \(fixed(limit.rational, 2))")
        }
        if let minimum = policy.minMarginHeadroom {
            if totalEquity.signum <= 0 {
                return reject(.equityRequired, "margin headroom check requires positive total_equity")
            }
            if headroom < minimum.rational {
                return reject(.marginHeadroom, "margin headroom \(fixed(headroom, 4)) below minimum \(fixed(minimum.rational, 4))")
            }
        }
        context.allowed = true
        context.violation = .unspecified
        return context
    }

    /// `value` with exactly `places` decimals, rounded half-even (for messages).
    static func fixed(_ value: Rational, _ places: Int) -> String {
        let scaled = value * Rational(BigInt.pow10(places))
        var (q, r) = scaled.numerator.quotientAndRemainder(dividingBy: scaled.denominator)
        let twice = r.magnitude + r.magnitude
        if twice > scaled.denominator || (twice == scaled.denominator && q.magnitude % BigInt(2) == BigInt(1)) {
            q += value.isNegative ? BigInt(-1) : BigInt(1)
        }
        var digits = q.magnitude.description
        if digits.count <= places { digits = String(repeating: "0", count: places - digits.count + 1) + digits }
        let cut = digits.index(digits.endIndex, offsetBy: -places)
        let text = places == 0 ? digits : digits[..<cut] + "." + digits[cut...]
        return (q.isNegative ? "-" : "") + text
    }
}

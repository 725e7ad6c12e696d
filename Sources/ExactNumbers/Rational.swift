/// An exact rational number `numerator / denominator` (denominator > 0). Keel evaluates every
/// formula exactly and rounds only where docs/architecture.md#exact-arithmetic says so.
public struct Rational: Sendable, Comparable, CustomStringConvertible {
    public private(set) var numerator: BigInt
    public private(set) var denominator: BigInt

    public init(numerator: BigInt, denominator: BigInt) {
        precondition(!denominator.isZero, "zero denominator")
        if denominator.isNegative {
            self.numerator = -numerator
            self.denominator = -denominator
        } else {
            self.numerator = numerator
            self.denominator = denominator
        }
    }

    public init(_ integer: BigInt) {
        numerator = integer
        denominator = .one
    }

    public init(_ integer: Int) { self.init(BigInt(integer)) }

    public init(_ decimal: ExactDecimal) { self = decimal.rational }

    public static let zero = Rational(0)
    public static let one = Rational(1)

    public var isZero: Bool { numerator.isZero }
    public var signum: Int { numerator.signum }
    public var isNegative: Bool { numerator.isNegative }
    public var magnitude: Rational { Rational(numerator: numerator.magnitude, denominator: denominator) }

    /// Divides out the common factor (keeps numbers small across chains of operations).
    public func reduced() -> Rational {
        let g = BigInt.gcd(numerator, denominator)
        if g == .one || g.isZero { return self }
        return Rational(numerator: numerator / g, denominator: denominator / g)
    }

    public static func + (a: Rational, b: Rational) -> Rational {
        if a.isZero { return b }
        if b.isZero { return a }
        if a.denominator == b.denominator { return Rational(numerator: a.numerator + b.numerator, denominator: a.denominator) }
        return Rational(numerator: a.numerator * b.denominator + b.numerator * a.denominator, denominator: a.denominator * b.denominator)
    }

    public static prefix func - (a: Rational) -> Rational { Rational(numerator: -a.numerator, denominator: a.denominator) }
    public static func - (a: Rational, b: Rational) -> Rational { a + (-b) }

    public static func * (a: Rational, b: Rational) -> Rational {
        Rational(numerator: a.numerator * b.numerator, denominator: a.denominator * b.denominator)
    }

    public static func / (a: Rational, b: Rational) -> Rational {
        precondition(!b.isZero, "division by zero")
        return Rational(numerator: a.numerator * b.denominator, denominator: a.denominator * b.numerator)
    }

    public static func += (a: inout Rational, b: Rational) { a = a + b }

    public static func == (a: Rational, b: Rational) -> Bool {
        a.numerator * b.denominator == b.numerator * a.denominator
    }

    public static func < (a: Rational, b: Rational) -> Bool {
        a.numerator * b.denominator < b.numerator * a.denominator
    }

    /// The integer part, rounded toward zero.
    public func truncated() -> BigInt { numerator / denominator }

    /// `round_lot(x, L) = trunc(x / L) × L`, toward zero; `L` zero = `x` exactly.
    public func roundedToLot(_ lot: ExactDecimal) -> Rational {
        lot.isZero ? self : lotMultiple(lot).rational
    }

    /// `round_lot(x, L)` as an exact decimal, for a non-zero lot: the one computation of it.
    public func lotMultiple(_ lot: ExactDecimal) -> ExactDecimal {
        precondition(!lot.isZero, "zero lot")
        let units = (self / lot.rational).truncated()
        return ExactDecimal(significand: units * lot.significand, exponent: lot.exponent)
    }

    /// Rounded half-even to `digits` significant digits, as an exact decimal. Values that already
    /// are decimals of at most `digits` significant digits come back unchanged.
    public func roundedToSignificantDigits(_ digits: Int = 34) -> ExactDecimal {
        if numerator.isZero { return .zero }
        let p = numerator.magnitude
        let q = denominator
        // Choose k so that 10^(digits-1) ≤ p·10^k / q < 10^digits.
        let estimate = Int((Double(p.bitWidth) - Double(q.bitWidth)) * 0.30102999566398120)
        var k = digits - 1 - estimate
        let low = BigInt.pow10(digits - 1)
        let high = BigInt.pow10(digits)
        var quotient = BigInt.zero
        var remainder = BigInt.zero
        for _ in 0..<8 {
            let (n, d) = k >= 0 ? (p * BigInt.pow10(k), q) : (p, q * BigInt.pow10(-k))
            (quotient, remainder) = n.quotientAndRemainder(dividingBy: d)
            if quotient < low { k += 1; continue }
            if quotient >= high { k -= 1; continue }
            // half-even on 2r against d
            let twice = remainder + remainder
            if twice > d || (twice == d && quotient.lastDigitIsOdd) {
                quotient = quotient + .one
                if quotient == high {
                    quotient = low
                    k -= 1
                }
            }
            break
        }
        let signed = numerator.isNegative ? -quotient : quotient
        return ExactDecimal(significand: signed, exponent: -k)
    }

    /// The output form (docs/architecture.md#output-rounding): canonical text, rounded half-even to 34
    /// significant digits when the value is not already such a decimal.
    public var outputString: String { roundedToSignificantDigits(34).description }

    public var description: String { outputString }
}

extension BigInt {
    var lastDigitIsOdd: Bool {
        switch storage {
        case .small(let value): value & 1 != 0
        case .large(_, let limbs): (limbs.first ?? 0) & 1 == 1
        }
    }
}

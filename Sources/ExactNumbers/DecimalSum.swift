/// An exact running sum of decimals, kept as one Int128 at a common exponent while it fits (no
/// allocation, no enum payload to copy) and as an `ExactDecimal` once it does not.
public struct DecimalSum: Sendable {
    @usableFromInline var small: Int128 = 0
    @usableFromInline var exponent: Int = 0
    /// Boxed so that a sum stays 32 bytes: planning keeps one per (strategy, key) and per row.
    @usableFromInline var large: LargeValue?

    /// An immutable box: a sum that changes gets a new one, so copies of a sum stay independent.
    @usableFromInline final class LargeValue: Sendable {
        @usableFromInline let value: ExactDecimal
        @usableFromInline init(_ value: ExactDecimal) { self.value = value }
    }

    public init() {}

    /// Adds `significand × 10^exponent`. The common cases (first term, same exponent) stay inline.
    @inlinable @inline(__always)
    public mutating func add(significand: Int128, exponent e: Int) {
        if large == nil {
            if small == 0 {
                small = significand
                exponent = e
                return
            }
            if e == exponent {
                let (sum, overflow) = small.addingReportingOverflow(significand)
                if !overflow {
                    small = sum
                    return
                }
            }
        }
        addAligning(significand: significand, exponent: e)
    }

    /// Different exponents: both at the smaller one, or the exact `ExactDecimal` once Int128 overflows.
    @usableFromInline mutating func addAligning(significand: Int128, exponent e: Int) {
        guard large == nil else { return addLarge(significand: significand, exponent: e) }
        if significand == 0 { return }
        var a = small
        var b = significand
        var target = exponent
        if e < exponent {
            guard let scaled = Self.scaled(a, by: exponent - e) else { return addLarge(significand: significand, exponent: e) }
            a = scaled
            target = e
        } else if e > exponent {
            guard let scaled = Self.scaled(b, by: e - exponent) else { return addLarge(significand: significand, exponent: e) }
            b = scaled
        }
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow { return addLarge(significand: significand, exponent: e) }
        small = sum
        exponent = target
    }

    /// `value × 10^shift`, or nil when it does not fit.
    @usableFromInline static func scaled(_ value: Int128, by shift: Int) -> Int128? {
        guard shift < powersOfTen.count else { return nil }
        let (result, overflow) = value.multipliedReportingOverflow(by: powersOfTen[shift])
        return overflow ? nil : result
    }

    /// 10^0 … 10^38, every power of ten an Int128 holds.
    static let powersOfTen: [Int128] = {
        var powers: [Int128] = [1]
        for _ in 1...38 { powers.append(powers.last! * 10) }
        return powers
    }()

    /// Adds `value` exactly.
    @inlinable
    public mutating func add(_ value: ExactDecimal) {
        if let s = value.significand.int128 {
            add(significand: s, exponent: value.exponent)
        } else {
            addLarge(value)
        }
    }

    /// Adds the product `a × b` exactly.
    @inlinable
    public mutating func add(product a: ExactDecimal, _ b: ExactDecimal) {
        if let x = a.significand.int128, let y = b.significand.int128 {
            return add(productOf: x, exponent: a.exponent, y, exponent: b.exponent)
        }
        addLarge(a * b)
    }

    /// Adds `(a × 10^ae) × (b × 10^be)` exactly, from significands already at hand.
    @inlinable
    public mutating func add(productOf a: Int128, exponent ae: Int, _ b: Int128, exponent be: Int) {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        if !overflow { return add(significand: product, exponent: ae + be) }
        addLarge(ExactDecimal(significand: BigInt(a), exponent: ae) * ExactDecimal(significand: BigInt(b), exponent: be))
    }

    /// Adds another sum's value exactly.
    @inlinable
    public mutating func add(_ other: DecimalSum) {
        if let large = other.large {
            addLarge(large.value)
        } else {
            add(significand: other.small, exponent: other.exponent)
        }
    }

    @usableFromInline mutating func addLarge(significand: Int128, exponent e: Int) {
        addLarge(ExactDecimal(significand: BigInt(significand), exponent: e))
    }

    @usableFromInline mutating func addLarge(_ value: ExactDecimal) {
        let current = large?.value ?? ExactDecimal(significand: BigInt(small), exponent: exponent)
        large = LargeValue(current + value)
    }

    public var value: ExactDecimal {
        large?.value ?? ExactDecimal(significand: BigInt(small), exponent: exponent)
    }

    public var isZero: Bool { large.map(\.value.isZero) ?? (small == 0) }
}

/// An exact running sum of decimals, kept as one Int128 at a common exponent while it fits (no
/// allocation, no enum payload to copy) and as an `ExactDecimal` once it does not.
public struct DecimalSum: Sendable {
    @usableFromInline var small: Int128 = 0
    @usableFromInline var exponent: Int = 0
    @usableFromInline var large: ExactDecimal?

    public init() {}

    @usableFromInline static let powers: [Int128] = (0...38).map { n in (0..<n).reduce(Int128(1)) { acc, _ in acc * 10 } }

    /// Adds `significand × 10^exponent`.
    @inlinable
    public mutating func add(significand: Int128, exponent e: Int) {
        guard large == nil else { return addLarge(significand: significand, exponent: e) }
        if significand == 0 { return }
        if small == 0 { small = significand; exponent = e; return }
        var a = small
        var b = significand
        var target = exponent
        if e < exponent {
            let shift = exponent - e
            guard shift < 39 else { return addLarge(significand: significand, exponent: e) }
            let (scaled, overflow) = a.multipliedReportingOverflow(by: Self.powers[shift])
            if overflow { return addLarge(significand: significand, exponent: e) }
            a = scaled
            target = e
        } else if e > exponent {
            let shift = e - exponent
            guard shift < 39 else { return addLarge(significand: significand, exponent: e) }
            let (scaled, overflow) = b.multipliedReportingOverflow(by: Self.powers[shift])
            if overflow { return addLarge(significand: significand, exponent: e) }
            b = scaled
        }
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow { return addLarge(significand: significand, exponent: e) }
        small = sum
        exponent = target
    }

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
            let (product, overflow) = x.multipliedReportingOverflow(by: y)
            if !overflow { return add(significand: product, exponent: a.exponent + b.exponent) }
        }
        addLarge(a * b)
    }

    @usableFromInline mutating func addLarge(significand: Int128, exponent e: Int) {
        addLarge(ExactDecimal(significand: BigInt(significand), exponent: e))
    }

    @usableFromInline mutating func addLarge(_ value: ExactDecimal) {
        let current = large ?? ExactDecimal(significand: BigInt(small), exponent: exponent)
        large = current + value
    }

    public var value: ExactDecimal {
        large ?? ExactDecimal(significand: BigInt(small), exponent: exponent)
    }

    public var isZero: Bool { large.map(\.isZero) ?? (small == 0) }
}

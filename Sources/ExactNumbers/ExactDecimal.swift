/// An exact decimal: `significand × 10^exponent`. Every valid Keel decimal string is one, and sums,
/// differences and products of them stay exact.
public struct ExactDecimal: Sendable, Comparable, CustomStringConvertible {
    public var significand: BigInt
    public var exponent: Int

    public init(significand: BigInt, exponent: Int) {
        self.significand = significand
        self.exponent = exponent
    }

    public init(_ integer: BigInt) { self.init(significand: integer, exponent: 0) }
    public init(_ integer: Int) { self.init(significand: BigInt(integer), exponent: 0) }

    public static let zero = ExactDecimal(0)
    public static let one = ExactDecimal(1)

    public var isZero: Bool { significand.isZero }
    public var isNegative: Bool { significand.isNegative }
    public var signum: Int { significand.signum }
    public var magnitude: ExactDecimal { ExactDecimal(significand: significand.magnitude, exponent: exponent) }

    /// Both values with the smaller exponent.
    static func aligned(_ a: ExactDecimal, _ b: ExactDecimal) -> (BigInt, BigInt, Int) {
        if a.exponent == b.exponent { return (a.significand, b.significand, a.exponent) }
        if a.exponent < b.exponent {
            return (a.significand, b.significand * BigInt.pow10(b.exponent - a.exponent), a.exponent)
        }
        return (a.significand * BigInt.pow10(a.exponent - b.exponent), b.significand, b.exponent)
    }

    public static func + (a: ExactDecimal, b: ExactDecimal) -> ExactDecimal {
        if a.isZero { return b }
        if b.isZero { return a }
        let (x, y, e) = aligned(a, b)
        return ExactDecimal(significand: x + y, exponent: e)
    }

    public static prefix func - (a: ExactDecimal) -> ExactDecimal { ExactDecimal(significand: -a.significand, exponent: a.exponent) }
    public static func - (a: ExactDecimal, b: ExactDecimal) -> ExactDecimal { a + (-b) }
    public static func * (a: ExactDecimal, b: ExactDecimal) -> ExactDecimal {
        ExactDecimal(significand: a.significand * b.significand, exponent: a.exponent + b.exponent)
    }
    public static func += (a: inout ExactDecimal, b: ExactDecimal) { a = a + b }
    public static func -= (a: inout ExactDecimal, b: ExactDecimal) { a = a - b }

    public static func == (a: ExactDecimal, b: ExactDecimal) -> Bool {
        let (x, y, _) = aligned(a, b)
        return x == y
    }

    public static func < (a: ExactDecimal, b: ExactDecimal) -> Bool {
        let (x, y, _) = aligned(a, b)
        return x < y
    }

    public var rational: Rational {
        exponent >= 0
            ? Rational(significand * BigInt.pow10(exponent))
            : Rational(numerator: significand, denominator: BigInt.pow10(-exponent))
    }

    /// Canonical text: plain notation, no exponent, no trailing fraction
    /// zeros, `0` for zero.
    public var description: String {
        if significand.isZero { return "0" }
        if case .small(let value) = significand.storage, let magnitude = UInt64(exactly: value.magnitude) {
            return Self.text(negative: value < 0, magnitude: magnitude, exponent: exponent)
        }
        return wideDescription
    }

    /// The canonical text of ±magnitude × 10^exponent, written straight into the string's storage
    /// (the planner writes one per delta).
    static func text(negative: Bool, magnitude: UInt64, exponent: Int) -> String {
        var m = magnitude
        var exp = exponent
        while exp < 0, m % 10 == 0 {
            m /= 10
            exp += 1
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for UInt64's 20 digits
        let count = withUnsafeMutableBytes(of: &digits) { buffer -> Int in
            var n = 0
            repeat {
                buffer[19 - n] = UInt8(truncatingIfNeeded: m % 10) &+ 48
                m /= 10
                n += 1
            } while m > 0
            return n
        }
        let fraction = max(0, -exp)
        let integerDigits = count - fraction
        let length = (negative ? 1 : 0) + (exp >= 0 ? count + exp : (integerDigits > 0 ? count + 1 : 2 + fraction))
        return withUnsafeBytes(of: &digits) { raw in
            let digit = UnsafeRawBufferPointer(rebasing: raw[(20 - count)..<20])
            return String(unsafeUninitializedCapacity: length) { out in
                var i = 0
                if negative { out[0] = UInt8(ascii: "-"); i = 1 }
                if exp >= 0 {
                    for d in digit { out[i] = d; i += 1 }
                    for _ in 0..<exp { out[i] = UInt8(ascii: "0"); i += 1 }
                } else if integerDigits > 0 {
                    for (j, d) in digit.enumerated() {
                        if j == integerDigits { out[i] = UInt8(ascii: "."); i += 1 }
                        out[i] = d
                        i += 1
                    }
                } else {
                    out[i] = UInt8(ascii: "0"); out[i + 1] = UInt8(ascii: "."); i += 2
                    for _ in 0..<(fraction - count) { out[i] = UInt8(ascii: "0"); i += 1 }
                    for d in digit { out[i] = d; i += 1 }
                }
                return i
            }
        }
    }

    /// Any significand, through its decimal digits.
    var wideDescription: String {
        var digits = Array(significand.magnitudeDigits.utf8)
        var exp = exponent
        while digits.count > 1, digits.last == UInt8(ascii: "0"), exp < 0 {
            digits.removeLast()
            exp += 1
        }
        var text: [UInt8]
        if exp >= 0 {
            text = digits + [UInt8](repeating: UInt8(ascii: "0"), count: exp)
        } else {
            let fraction = -exp
            if digits.count > fraction {
                text = Array(digits[..<(digits.count - fraction)]) + [UInt8(ascii: ".")] + Array(digits[(digits.count - fraction)...])
            } else {
                text = [UInt8(ascii: "0"), UInt8(ascii: ".")] + [UInt8](repeating: UInt8(ascii: "0"), count: fraction - digits.count) + digits
            }
        }
        if significand.isNegative { text.insert(UInt8(ascii: "-"), at: 0) }
        return String(decoding: text, as: UTF8.self)
    }

    /// `round_lot(x, L) = trunc(x / L) × L`, toward zero; `L` zero = `x`.
    public func roundedToLot(_ lot: ExactDecimal) -> ExactDecimal {
        lot.isZero ? self : rational.lotMultiple(lot)
    }

    /// Rounded half-even to `digits` significant digits; itself when it has no more than that.
    public func roundedToSignificantDigits(_ digits: Int = 34) -> ExactDecimal {
        if significand.magnitude < BigInt.pow10(digits) { return self }
        return rational.roundedToSignificantDigits(digits)
    }

    /// Truncated toward zero to `scale` fraction digits.
    public func truncated(toScale scale: Int) -> ExactDecimal {
        if -exponent <= scale { return self }
        let drop = -exponent - scale
        return ExactDecimal(significand: significand / BigInt.pow10(drop), exponent: -scale)
    }
}

/// The one decimal grammar of Keel: `-?(D+(.D*)?|.D+)`, at most 34 significant digits,
/// at most 60 digits on either side of the point (after removing leading integer zeros and
/// trailing fraction zeros).
public enum DecimalGrammar {
    public static let maxSignificantDigits = 34
    public static let maxDigitsPerSide = 60

    /// A value the grammar accepts, in fixed width: 34 significant digits always fit an Int128 and
    /// the exponent lies within ±60. Trailing zeros are moved into the exponent, as in
    /// `ExactDecimal`, so equal values have equal parts.
    public struct Parts: Sendable, Equatable {
        public var significand: Int128
        public var exponent: Int

        public static let zero = Parts(significand: 0, exponent: 0)

        public var exact: ExactDecimal { ExactDecimal(significand: BigInt(significand), exponent: exponent) }
    }

    public static func parse(_ text: String) -> ExactDecimal? {
        parseParts(text)?.exact
    }

    public static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) -> ExactDecimal? {
        parseParts(utf8: bytes)?.exact
    }

    /// As `parse`, without building a `BigInt`: for loops that keep values in fixed width.
    @inline(__always)
    public static func parseParts(_ text: String) -> Parts? {
        // Borrowing the bytes (no copy of the string) for native strings, which is all of them here.
        if let parsed = text.utf8.withContiguousStorageIfAvailable({ parseParts(utf8: $0) }) { return parsed }
        var text = text
        return text.withUTF8 { parseParts(utf8: $0) }
    }

    @inline(__always)
    public static func parseParts(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Parts? {
        if let fast = parseShort(bytes) { return fast }
        return parseLong(bytes)
    }

    /// The common case in two tight loops (integer digits, fraction digits): at most 19 digits in
    /// all, so the value fits a UInt64. Answers nil for anything else, valid or not, and the full
    /// parser decides.
    @inline(__always)
    static func parseShort(_ bytes: UnsafeBufferPointer<UInt8>) -> Parts? {
        let n = bytes.count
        var i = 0
        let negative = n > 0 && bytes[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        var value: UInt64 = 0
        let integerStart = i
        while i < n {
            let d = bytes[i] &- 48
            if d > 9 { break }
            value = value &* 10 &+ UInt64(d)
            i += 1
        }
        let integerDigits = i - integerStart
        var fractionDigits = 0
        if i < n {
            guard bytes[i] == UInt8(ascii: ".") else { return nil }
            i += 1
            let fractionStart = i
            while i < n {
                let d = bytes[i] &- 48
                if d > 9 { return nil }
                value = value &* 10 &+ UInt64(d)
                i += 1
            }
            fractionDigits = i - fractionStart
        }
        // (wrapped arithmetic above is discarded here: more than 19 digits go to the full parser)
        guard integerDigits + fractionDigits > 0, integerDigits + fractionDigits <= 19 else { return nil }
        if value == 0 { return .zero }
        var exponent = -fractionDigits
        while value % 10 == 0 {
            value /= 10
            exponent += 1
        }
        return Parts(significand: negative ? -Int128(value) : Int128(value), exponent: exponent)
    }

    static func parseLong(_ bytes: UnsafeBufferPointer<UInt8>) -> Parts? {
        let n = bytes.count
        var i = 0
        var negative = false
        if i < n, bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        let intStart = i
        while i < n, isDigit(bytes[i]) { i += 1 }
        let intEnd = i
        var fracStart = i, fracEnd = i
        if i < n, bytes[i] == UInt8(ascii: ".") {
            i += 1
            fracStart = i
            while i < n, isDigit(bytes[i]) { i += 1 }
            fracEnd = i
        }
        guard i == n, intEnd > intStart || fracEnd > fracStart else { return nil }

        var firstInt = intStart
        while firstInt < intEnd, bytes[firstInt] == UInt8(ascii: "0") { firstInt += 1 }
        var lastFrac = fracEnd
        while lastFrac > fracStart, bytes[lastFrac - 1] == UInt8(ascii: "0") { lastFrac -= 1 }
        let fractionDigits = lastFrac - fracStart
        guard intEnd - firstInt <= maxDigitsPerSide, fractionDigits <= maxDigitsPerSide else { return nil }

        // The significant digits run from the first to the last non-zero digit across the point:
        // positions 0..<count over the integer digits [firstInt, intEnd) then [fracStart, lastFrac).
        let integerDigits = intEnd - firstInt
        let count = integerDigits + fractionDigits
        @inline(__always) func digit(_ position: Int) -> UInt8 {
            position < integerDigits ? bytes[firstInt + position] &- 48 : bytes[fracStart + position - integerDigits] &- 48
        }
        var lo = 0
        while lo < count, digit(lo) == 0 { lo += 1 }
        if lo == count { return .zero }
        var hi = count
        while digit(hi - 1) == 0 { hi -= 1 }
        guard hi - lo <= maxSignificantDigits else { return nil }
        let exponent = (count - hi) - fractionDigits
        var significand: Int128 = 0
        for position in lo..<hi { significand = significand * 10 + Int128(digit(position)) }
        return Parts(significand: negative ? -significand : significand, exponent: exponent)
    }

    /// The canonical text of a valid decimal: `text` itself when it already is canonical (checked
    /// on its bytes, without converting), else the reformatted value; nil when `text` is invalid.
    public static func canonical(_ text: String) -> String? {
        if hasCanonicalForm(text), parse(text) != nil { return text }
        return parse(text)?.description
    }

    /// Whether `text` is written the canonical way (plain notation, no leading integer zeros, no
    /// trailing fraction zeros, no "-0"), looking at its bytes only: for text already known to be a
    /// valid decimal this decides `canonical(text) == text` without parsing it.
    public static func hasCanonicalForm(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { hasCanonicalForm(utf8: $0) }
    }

    /// `hasCanonicalForm` of UTF-8 bytes.
    public static func hasCanonicalForm(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return false }
        var i = 0
        if bytes[0] == UInt8(ascii: "-") { i = 1 }
        guard i < bytes.count, isDigit(bytes[i]) else { return false }
        // no leading zero unless "0" or "0.x"; "-0" is not canonical
        if bytes[i] == UInt8(ascii: "0") {
            if i + 1 == bytes.count { return i == 0 }
            guard bytes[i + 1] == UInt8(ascii: ".") else { return false }
        }
        var point = -1
        for j in i..<bytes.count {
            if bytes[j] == UInt8(ascii: ".") {
                guard point < 0 else { return false }
                point = j
            } else if !isDigit(bytes[j]) {
                return false
            }
        }
        if point >= 0 {
            // digits after the point, the last one not zero; "-0.0…" has a non-zero digit somewhere
            guard point < bytes.count - 1, bytes[bytes.count - 1] != UInt8(ascii: "0") else { return false }
        }
        return true
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
}

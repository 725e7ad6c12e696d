/// An arbitrary-precision signed integer: just enough arithmetic for Keel's exact decimal and
/// rational maths (add, subtract, multiply, truncating division, comparison, decimal text).
/// Magnitudes are little-endian base-2^32 limbs without leading zero limbs; zero has no limbs.
public struct BigInt: Sendable, Hashable, Comparable, CustomStringConvertible {
    @usableFromInline var negative: Bool
    @usableFromInline var limbs: [UInt32]

    public static let zero = BigInt(negative: false, limbs: [])
    public static let one = BigInt(1)

    @inlinable init(negative: Bool, limbs: [UInt32]) {
        self.negative = negative
        self.limbs = limbs
        normalize()
    }

    public init(_ value: Int) { self.init(Int64(value)) }

    public init(_ value: Int64) {
        self.init(negative: value < 0, magnitude: value.magnitude)
    }

    public init(_ value: UInt64) { self.init(negative: false, magnitude: value) }

    public init(_ value: Int128) {
        let magnitude = value.magnitude
        var limbs: [UInt32] = []
        var rest = magnitude
        while rest > 0 {
            limbs.append(UInt32(truncatingIfNeeded: rest))
            rest >>= 32
        }
        self.init(negative: value < 0, limbs: limbs)
    }

    init(negative: Bool, magnitude: UInt64) {
        var limbs: [UInt32] = []
        if magnitude > 0 {
            limbs.append(UInt32(truncatingIfNeeded: magnitude))
            if magnitude >> 32 > 0 { limbs.append(UInt32(truncatingIfNeeded: magnitude >> 32)) }
        }
        self.init(negative: negative, limbs: limbs)
    }

    /// From ASCII decimal digits (no sign).
    public init<C: Collection>(asciiDigits digits: C, negative: Bool = false) where C.Element == UInt8 {
        var value = BigInt.zero
        var chunk: UInt64 = 0
        var chunkDigits = 0
        for d in digits {
            chunk = chunk * 10 + UInt64(d &- 48)
            chunkDigits += 1
            if chunkDigits == 9 {
                value = value.multipliedAdding(UInt32(1_000_000_000), UInt32(chunk))
                chunk = 0
                chunkDigits = 0
            }
        }
        if chunkDigits > 0 {
            value = value.multipliedAdding(UInt32(BigInt.smallPowersOf10[chunkDigits]), UInt32(chunk))
        }
        value.negative = negative && !value.limbs.isEmpty
        self = value
    }

    @inlinable mutating func normalize() {
        while let last = limbs.last, last == 0 { limbs.removeLast() }
        if limbs.isEmpty { negative = false }
    }

    public var isZero: Bool { limbs.isEmpty }
    public var isNegative: Bool { negative }
    /// -1, 0 or 1.
    public var signum: Int { limbs.isEmpty ? 0 : (negative ? -1 : 1) }
    public var magnitude: BigInt { BigInt(negative: false, limbs: limbs) }

    /// The value as Int128 when it fits.
    public var int128: Int128? {
        guard limbs.count <= 4 else { return nil }
        var magnitude: UInt128 = 0
        for limb in limbs.reversed() { magnitude = magnitude << 32 | UInt128(limb) }
        if negative {
            guard magnitude <= UInt128(Int128.max) + 1 else { return nil }
            return magnitude == UInt128(Int128.max) + 1 ? Int128.min : -Int128(magnitude)
        }
        guard magnitude <= UInt128(Int128.max) else { return nil }
        return Int128(magnitude)
    }

    public var bitWidth: Int {
        guard let last = limbs.last else { return 0 }
        return (limbs.count - 1) * 32 + (32 - last.leadingZeroBitCount)
    }

    // MARK: magnitude helpers

    static func compareMagnitudes(_ a: [UInt32], _ b: [UInt32]) -> Int {
        if a.count != b.count { return a.count < b.count ? -1 : 1 }
        var i = a.count - 1
        while i >= 0 {
            if a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
            i -= 1
        }
        return 0
    }

    static func addMagnitudes(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        let (long, short) = a.count >= b.count ? (a, b) : (b, a)
        var result = [UInt32]()
        result.reserveCapacity(long.count + 1)
        var carry: UInt64 = 0
        for i in 0..<long.count {
            let sum = UInt64(long[i]) + (i < short.count ? UInt64(short[i]) : 0) + carry
            result.append(UInt32(truncatingIfNeeded: sum))
            carry = sum >> 32
        }
        if carry > 0 { result.append(UInt32(carry)) }
        return result
    }

    /// a − b for |a| ≥ |b|.
    static func subtractMagnitudes(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        var result = [UInt32]()
        result.reserveCapacity(a.count)
        var borrow: Int64 = 0
        for i in 0..<a.count {
            var diff = Int64(a[i]) - (i < b.count ? Int64(b[i]) : 0) - borrow
            if diff < 0 {
                diff += 1 << 32
                borrow = 1
            } else {
                borrow = 0
            }
            result.append(UInt32(diff))
        }
        return result
    }

    static func multiplyMagnitudes(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        if a.isEmpty || b.isEmpty { return [] }
        var result = [UInt32](repeating: 0, count: a.count + b.count)
        for i in 0..<a.count {
            var carry: UInt64 = 0
            let ai = UInt64(a[i])
            if ai == 0 { continue }
            for j in 0..<b.count {
                let t = ai * UInt64(b[j]) + UInt64(result[i + j]) + carry
                result[i + j] = UInt32(truncatingIfNeeded: t)
                carry = t >> 32
            }
            var k = i + b.count
            while carry > 0 {
                let t = UInt64(result[k]) + carry
                result[k] = UInt32(truncatingIfNeeded: t)
                carry = t >> 32
                k += 1
            }
        }
        return result
    }

    /// self × m + a for small m and a (used when reading decimal digits).
    func multipliedAdding(_ m: UInt32, _ a: UInt32) -> BigInt {
        var result = [UInt32]()
        result.reserveCapacity(limbs.count + 1)
        var carry = UInt64(a)
        for limb in limbs {
            let t = UInt64(limb) * UInt64(m) + carry
            result.append(UInt32(truncatingIfNeeded: t))
            carry = t >> 32
        }
        if carry > 0 { result.append(UInt32(carry)) }
        return BigInt(negative: negative, limbs: result)
    }

    /// Divides a magnitude by a one-limb divisor: (quotient, remainder).
    static func divideMagnitude(_ a: [UInt32], by d: UInt32) -> ([UInt32], UInt32) {
        var quotient = [UInt32](repeating: 0, count: a.count)
        var remainder: UInt64 = 0
        var i = a.count - 1
        while i >= 0 {
            let current = remainder << 32 | UInt64(a[i])
            quotient[i] = UInt32(current / UInt64(d))
            remainder = current % UInt64(d)
            i -= 1
        }
        return (quotient, UInt32(remainder))
    }

    /// Knuth's algorithm D (TAOCP 4.3.1) on magnitudes, divisor with at least two limbs.
    static func divideMagnitudes(_ a: [UInt32], _ b: [UInt32]) -> ([UInt32], [UInt32]) {
        if compareMagnitudes(a, b) < 0 { return ([], a) }
        if b.count == 1 {
            let (q, r) = divideMagnitude(a, by: b[0])
            return (q, r == 0 ? [] : [r])
        }
        let shift = b.last!.leadingZeroBitCount
        let v = shiftLeft(b, shift)
        var u = shiftLeft(a, shift)
        if u.count == a.count { u.append(0) }
        let n = v.count
        let m = u.count - n
        var q = [UInt32](repeating: 0, count: m)
        let vTop = UInt64(v[n - 1])
        let vNext = UInt64(v[n - 2])
        var j = m - 1
        while j >= 0 {
            let numerator = UInt64(u[j + n]) << 32 | UInt64(u[j + n - 1])
            var qhat = numerator / vTop
            var rhat = numerator % vTop
            while qhat > 0xFFFF_FFFF || qhat * vNext > (rhat << 32 | UInt64(u[j + n - 2])) {
                qhat -= 1
                rhat += vTop
                if rhat > 0xFFFF_FFFF { break }
            }
            // u[j..j+n] -= qhat × v
            var borrow: Int64 = 0
            var carry: UInt64 = 0
            for i in 0..<n {
                let product = qhat * UInt64(v[i]) + carry
                carry = product >> 32
                let t = Int64(u[i + j]) - borrow - Int64(product & 0xFFFF_FFFF)
                u[i + j] = UInt32(truncatingIfNeeded: t)
                borrow = t < 0 ? 1 : 0
            }
            let t = Int64(u[j + n]) - borrow - Int64(carry)
            u[j + n] = UInt32(truncatingIfNeeded: t)
            if t < 0 {
                // qhat was one too large: add v back.
                qhat -= 1
                var c: UInt64 = 0
                for i in 0..<n {
                    let s = UInt64(u[i + j]) + UInt64(v[i]) + c
                    u[i + j] = UInt32(truncatingIfNeeded: s)
                    c = s >> 32
                }
                u[j + n] = UInt32(truncatingIfNeeded: UInt64(u[j + n]) + c)
            }
            q[j] = UInt32(qhat)
            j -= 1
        }
        let remainder = shiftRight(Array(u[0..<n]), shift)
        return (q, remainder)
    }

    static func shiftLeft(_ a: [UInt32], _ bits: Int) -> [UInt32] {
        guard bits > 0 else { return a }
        var result = [UInt32]()
        result.reserveCapacity(a.count + 1)
        var carry: UInt32 = 0
        for limb in a {
            result.append(limb << UInt32(bits) | carry)
            carry = limb >> UInt32(32 - bits)
        }
        if carry > 0 { result.append(carry) }
        return result
    }

    static func shiftRight(_ a: [UInt32], _ bits: Int) -> [UInt32] {
        guard bits > 0 else { return a }
        var result = [UInt32](repeating: 0, count: a.count)
        for i in 0..<a.count {
            let high = i + 1 < a.count ? a[i + 1] << UInt32(32 - bits) : 0
            result[i] = a[i] >> UInt32(bits) | high
        }
        return result
    }

    // MARK: arithmetic

    public static func + (a: BigInt, b: BigInt) -> BigInt {
        if a.negative == b.negative { return BigInt(negative: a.negative, limbs: addMagnitudes(a.limbs, b.limbs)) }
        let c = compareMagnitudes(a.limbs, b.limbs)
        if c == 0 { return .zero }
        return c > 0
            ? BigInt(negative: a.negative, limbs: subtractMagnitudes(a.limbs, b.limbs))
            : BigInt(negative: b.negative, limbs: subtractMagnitudes(b.limbs, a.limbs))
    }

    public static prefix func - (a: BigInt) -> BigInt { BigInt(negative: !a.negative, limbs: a.limbs) }

    public static func - (a: BigInt, b: BigInt) -> BigInt { a + (-b) }

    public static func * (a: BigInt, b: BigInt) -> BigInt {
        BigInt(negative: a.negative != b.negative, limbs: multiplyMagnitudes(a.limbs, b.limbs))
    }

    public static func += (a: inout BigInt, b: BigInt) { a = a + b }
    public static func -= (a: inout BigInt, b: BigInt) { a = a - b }
    public static func *= (a: inout BigInt, b: BigInt) { a = a * b }

    /// Truncating division: the quotient rounds toward zero, the remainder has the dividend's sign.
    public func quotientAndRemainder(dividingBy divisor: BigInt) -> (quotient: BigInt, remainder: BigInt) {
        precondition(!divisor.isZero, "division by zero")
        let (q, r) = BigInt.divideMagnitudes(limbs, divisor.limbs)
        return (BigInt(negative: negative != divisor.negative, limbs: q), BigInt(negative: negative, limbs: r))
    }

    public static func / (a: BigInt, b: BigInt) -> BigInt { a.quotientAndRemainder(dividingBy: b).quotient }
    public static func % (a: BigInt, b: BigInt) -> BigInt { a.quotientAndRemainder(dividingBy: b).remainder }

    public static func < (a: BigInt, b: BigInt) -> Bool {
        if a.negative != b.negative { return a.negative }
        let c = compareMagnitudes(a.limbs, b.limbs)
        return a.negative ? c > 0 : c < 0
    }

    public static func gcd(_ a: BigInt, _ b: BigInt) -> BigInt {
        var x = a.magnitude
        var y = b.magnitude
        while !y.isZero { (x, y) = (y, x % y) }
        return x
    }

    // MARK: powers of ten and text

    static let smallPowersOf10: [UInt64] = (0...19).map { n in (0..<n).reduce(UInt64(1)) { acc, _ in acc * 10 } }

    private static let powerCache: [BigInt] = {
        var powers = [BigInt.one]
        let ten = BigInt(10)
        for _ in 1...160 { powers.append(powers.last! * ten) }
        return powers
    }()

    public static func pow10(_ n: Int) -> BigInt {
        precondition(n >= 0)
        if n < powerCache.count { return powerCache[n] }
        return powerCache[powerCache.count - 1] * pow10(n - (powerCache.count - 1))
    }

    /// Decimal digits of the magnitude (no sign).
    public var magnitudeDigits: String {
        if limbs.isEmpty { return "0" }
        var chunks: [UInt32] = []
        var rest = limbs
        while !rest.isEmpty {
            let (q, r) = BigInt.divideMagnitude(rest, by: 1_000_000_000)
            chunks.append(r)
            rest = q
            while let last = rest.last, last == 0 { rest.removeLast() }
        }
        var text = String(chunks.last!)
        for chunk in chunks.dropLast().reversed() {
            let digits = String(chunk)
            text += String(repeating: "0", count: 9 - digits.count) + digits
        }
        return text
    }

    public var description: String { (negative ? "-" : "") + magnitudeDigits }
}

/// An arbitrary-precision signed integer: just enough arithmetic for Keel's exact decimal and
/// rational maths (add, subtract, multiply, truncating division, comparison, decimal text).
/// Values that fit in Int128 — nearly all of them — live inline without allocating; larger ones use
/// little-endian base-2^32 limbs. The representation is unique (a value that fits is always small).
public struct BigInt: Sendable, Hashable, Comparable, CustomStringConvertible {
    @usableFromInline enum Storage: Sendable, Hashable {
        case small(Int128)
        /// |value| > Int128 range; limbs without leading zeros.
        case large(negative: Bool, limbs: [UInt32])
    }

    @usableFromInline var storage: Storage

    public static let zero = BigInt(Int128(0))
    public static let one = BigInt(Int128(1))

    @inlinable public init(_ value: Int128) { storage = .small(value) }
    public init(_ value: Int) { storage = .small(Int128(value)) }
    public init(_ value: Int64) { storage = .small(Int128(value)) }
    public init(_ value: UInt64) { storage = .small(Int128(value)) }

    /// From sign and magnitude limbs, normalised.
    init(negative: Bool, limbs: [UInt32]) {
        var limbs = limbs
        while let last = limbs.last, last == 0 { limbs.removeLast() }
        if limbs.count <= 4 {
            var magnitude: UInt128 = 0
            for limb in limbs.reversed() { magnitude = magnitude << 32 | UInt128(limb) }
            if magnitude <= UInt128(Int128.max) {
                storage = .small(negative ? -Int128(magnitude) : Int128(magnitude))
                return
            }
            if negative, magnitude == UInt128(Int128.max) + 1 {
                storage = .small(Int128.min)
                return
            }
        }
        storage = .large(negative: negative, limbs: limbs)
    }

    /// Sign and magnitude limbs, whatever the storage.
    var parts: (negative: Bool, limbs: [UInt32]) {
        switch storage {
        case .small(let value):
            var magnitude = value.magnitude
            var limbs: [UInt32] = []
            while magnitude > 0 {
                limbs.append(UInt32(truncatingIfNeeded: magnitude))
                magnitude >>= 32
            }
            return (value < 0, limbs)
        case .large(let negative, let limbs):
            return (negative, limbs)
        }
    }

    /// From ASCII decimal digits (no sign).
    public init<C: Collection>(asciiDigits digits: C, negative: Bool = false) where C.Element == UInt8 {
        var value = BigInt.zero
        var chunk: Int128 = 0
        var chunkDigits = 0
        let billion = BigInt(Int128(1_000_000_000))
        for d in digits {
            chunk = chunk * 10 + Int128(d &- 48)
            chunkDigits += 1
            if chunkDigits == 9 {
                value = value * billion + BigInt(chunk)
                chunk = 0
                chunkDigits = 0
            }
        }
        if chunkDigits > 0 {
            value = value * BigInt(Int128(BigInt.smallPowersOf10[chunkDigits])) + BigInt(chunk)
        }
        self = negative ? -value : value
    }

    public var isZero: Bool {
        if case .small(let value) = storage { return value == 0 }
        return false
    }

    public var isNegative: Bool {
        switch storage {
        case .small(let value): value < 0
        case .large(let negative, _): negative
        }
    }

    /// -1, 0 or 1.
    public var signum: Int {
        switch storage {
        case .small(let value): value == 0 ? 0 : (value < 0 ? -1 : 1)
        case .large(let negative, _): negative ? -1 : 1
        }
    }

    public var magnitude: BigInt {
        switch storage {
        case .small(let value):
            return value == Int128.min ? BigInt(negative: false, limbs: parts.limbs) : BigInt(value.magnitude == 0 ? 0 : Int128(value.magnitude))
        case .large(_, let limbs):
            return BigInt(negative: false, limbs: limbs)
        }
    }

    /// The value as Int128 when it fits.
    public var int128: Int128? {
        if case .small(let value) = storage { return value }
        return nil
    }

    public var bitWidth: Int {
        switch storage {
        case .small(let value): 128 - value.magnitude.leadingZeroBitCount
        case .large(_, let limbs): (limbs.count - 1) * 32 + (32 - limbs.last!.leadingZeroBitCount)
        }
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
        if case .small(let x) = a.storage, case .small(let y) = b.storage {
            let (sum, overflow) = x.addingReportingOverflow(y)
            if !overflow { return BigInt(sum) }
        }
        let (an, al) = a.parts
        let (bn, bl) = b.parts
        if an == bn { return BigInt(negative: an, limbs: addMagnitudes(al, bl)) }
        let c = compareMagnitudes(al, bl)
        if c == 0 { return .zero }
        return c > 0
            ? BigInt(negative: an, limbs: subtractMagnitudes(al, bl))
            : BigInt(negative: bn, limbs: subtractMagnitudes(bl, al))
    }

    public static prefix func - (a: BigInt) -> BigInt {
        switch a.storage {
        case .small(let value):
            if value != Int128.min { return BigInt(-value) }
            return BigInt(negative: false, limbs: a.parts.limbs)
        case .large(let negative, let limbs):
            return BigInt(negative: !negative, limbs: limbs)
        }
    }

    public static func - (a: BigInt, b: BigInt) -> BigInt {
        if case .small(let x) = a.storage, case .small(let y) = b.storage {
            let (difference, overflow) = x.subtractingReportingOverflow(y)
            if !overflow { return BigInt(difference) }
        }
        return a + (-b)
    }

    public static func * (a: BigInt, b: BigInt) -> BigInt {
        if case .small(let x) = a.storage, case .small(let y) = b.storage {
            let (product, overflow) = x.multipliedReportingOverflow(by: y)
            if !overflow { return BigInt(product) }
        }
        let (an, al) = a.parts
        let (bn, bl) = b.parts
        return BigInt(negative: an != bn, limbs: multiplyMagnitudes(al, bl))
    }

    public static func += (a: inout BigInt, b: BigInt) { a = a + b }
    public static func -= (a: inout BigInt, b: BigInt) { a = a - b }
    public static func *= (a: inout BigInt, b: BigInt) { a = a * b }

    /// Truncating division: the quotient rounds toward zero, the remainder has the dividend's sign.
    public func quotientAndRemainder(dividingBy divisor: BigInt) -> (quotient: BigInt, remainder: BigInt) {
        precondition(!divisor.isZero, "division by zero")
        if case .small(let x) = storage, case .small(let y) = divisor.storage, !(x == Int128.min && y == -1) {
            return (BigInt(x / y), BigInt(x % y))
        }
        let (n, nl) = parts
        let (d, dl) = divisor.parts
        let (q, r) = BigInt.divideMagnitudes(nl, dl)
        return (BigInt(negative: n != d, limbs: q), BigInt(negative: n, limbs: r))
    }

    public static func / (a: BigInt, b: BigInt) -> BigInt { a.quotientAndRemainder(dividingBy: b).quotient }
    public static func % (a: BigInt, b: BigInt) -> BigInt { a.quotientAndRemainder(dividingBy: b).remainder }

    public static func < (a: BigInt, b: BigInt) -> Bool {
        switch (a.storage, b.storage) {
        case (.small(let x), .small(let y)):
            return x < y
        case (.small, .large(let negative, _)):
            return !negative
        case (.large(let negative, _), .small):
            return negative
        case (.large(let an, let al), .large(let bn, let bl)):
            if an != bn { return an }
            let c = compareMagnitudes(al, bl)
            return an ? c > 0 : c < 0
        }
    }

    public static func gcd(_ a: BigInt, _ b: BigInt) -> BigInt {
        if case .small(let x) = a.storage, case .small(let y) = b.storage {
            var u = x.magnitude, v = y.magnitude
            while v != 0 { (u, v) = (v, u % v) }
            return u <= UInt128(Int128.max) ? BigInt(Int128(u)) : BigInt(negative: false, limbs: [0, 0, 0, 0x8000_0000])
        }
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
        let limbs: [UInt32]
        switch storage {
        case .small(let value): return String(value.magnitude)
        case .large(_, let l): limbs = l
        }
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

    public var description: String { (isNegative ? "-" : "") + magnitudeDigits }
}

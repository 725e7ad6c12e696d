@testable import ExactNumbers
import KeelTestSupport
import Testing

@Suite struct BigIntTests {
    typealias Generator = SeededGenerator

    static func randomInt128(_ g: inout Generator, bits: Int) -> Int128 {
        let raw = Int128(truncatingIfNeeded: UInt128(g.next()) << 64 | UInt128(g.next()))
        let shift = 127 - bits
        return raw >> shift
    }

    @Test func arithmeticAgreesWithInt128() {
        var g = Generator(seed: 11)
        for _ in 0..<20_000 {
            let a = Self.randomInt128(&g, bits: Int.random(in: 1...62, using: &g))
            let b = Self.randomInt128(&g, bits: Int.random(in: 1...62, using: &g))
            let x = BigInt(a), y = BigInt(b)
            #expect((x + y).int128 == a + b)
            #expect((x - y).int128 == a - b)
            #expect((x * y).int128 == a * b)
            #expect((x < y) == (a < b))
            #expect((x == y) == (a == b))
            if b != 0 {
                let (q, r) = x.quotientAndRemainder(dividingBy: y)
                #expect(q.int128 == a / b, "\(a) / \(b)")
                #expect(r.int128 == a % b, "\(a) % \(b)")
            }
        }
    }

    @Test func multiLimbDivisionReconstructsTheDividend() {
        var g = Generator(seed: 5)
        for _ in 0..<3_000 {
            var a = BigInt(Int64(bitPattern: g.next()))
            var b = BigInt(Int64(bitPattern: g.next() >> UInt64.random(in: 0...60, using: &g)))
            for _ in 0..<Int.random(in: 0...6, using: &g) { a = a * BigInt(Int64(bitPattern: g.next() | 1)) }
            for _ in 0..<Int.random(in: 0...3, using: &g) { b = b * BigInt(Int64(bitPattern: g.next() | 1)) }
            if b.isZero { continue }
            let (q, r) = a.quotientAndRemainder(dividingBy: b)
            #expect(q * b + r == a)
            #expect(r.magnitude < b.magnitude)
            #expect(r.isZero || r.isNegative == a.isNegative)
        }
    }

    @Test func largeValuesAgreeWithTheInlineOnes() {
        // Scaling by 10^50 forces the limb representation; scaling back must give the inline value.
        var g = Generator(seed: 23)
        let big = BigInt.pow10(50)
        for _ in 0..<5_000 {
            let a = Self.randomInt128(&g, bits: Int.random(in: 1...120, using: &g))
            let b = Self.randomInt128(&g, bits: Int.random(in: 1...120, using: &g))
            let x = BigInt(a) * big, y = BigInt(b) * big
            #expect((x + y) / big == BigInt(a) + BigInt(b))
            #expect((x - y) / big == BigInt(a) - BigInt(b))
            #expect((x < y) == (a < b))
            #expect((x * y) / big / big == BigInt(a) * BigInt(b))
            #expect(x / big == BigInt(a))
            #expect(BigInt.gcd(x, big) == BigInt.gcd(BigInt(a), BigInt(1)) * big || a == 0)
        }
        // Int128.min edge
        let minimum = BigInt(Int128.min)
        #expect(-(-minimum) == minimum)
        #expect((minimum / BigInt(-1)).description == "170141183460469231731687303715884105728")
        #expect(minimum.magnitude.description == "170141183460469231731687303715884105728")
        #expect(BigInt.gcd(minimum, minimum).description == "170141183460469231731687303715884105728")
    }

    @Test func decimalTextRoundTrips() {
        let digits = "123456789012345678901234567890123456789012345678901234567890"
        let value = BigInt(asciiDigits: Array(digits.utf8))
        #expect(value.description == digits)
        #expect((-value).description == "-" + digits)
        #expect(BigInt.pow10(40).description == "1" + String(repeating: "0", count: 40))
        #expect(BigInt.zero.description == "0")
        #expect(BigInt(asciiDigits: Array("000123".utf8)).description == "123")
    }

    @Test func gcd() {
        #expect(BigInt.gcd(BigInt(84), BigInt(-36)) == BigInt(12))
        #expect(BigInt.gcd(BigInt.pow10(30), BigInt.pow10(20) * BigInt(7)) == BigInt.pow10(20))
    }
}

@Suite struct RationalAndDecimalTests {
    func d(_ text: String) -> ExactDecimal { DecimalGrammar.parse(text)! }

    @Test func outputRoundingIsHalfEvenAt34SignificantDigits() {
        #expect((Rational(2) / Rational(3)).outputString == "0.6666666666666666666666666666666667")
        #expect((Rational(1) / Rational(3)).outputString == "0.3333333333333333333333333333333333")
        #expect((Rational(-2) / Rational(3)).outputString == "-0.6666666666666666666666666666666667")
        #expect((d("0.2").rational / d("0.3").rational).outputString == "0.6666666666666666666666666666666667")
        #expect((Rational(1) / Rational(8)).outputString == "0.125")
        #expect(Rational(0).outputString == "0")
        #expect(Rational(d("-0")).outputString == "0")
        // exactly representable values are written unchanged
        #expect(d("1234567890123456789012345678901234").rational.outputString == "1234567890123456789012345678901234")
        #expect(d("0.0000000000000000000000000000001").rational.outputString == "0.0000000000000000000000000000001")
        // 35 digits ending in 5: ties to even
        let tieDown = d("1234567890123456789012345678901234").rational + Rational(1) / Rational(2)
        #expect(tieDown.outputString == "1234567890123456789012345678901234")
        let tieUp = d("1234567890123456789012345678901233").rational + Rational(1) / Rational(2)
        #expect(tieUp.outputString == "1234567890123456789012345678901234")
        // rounding up across a power of ten
        let nines = d("9999999999999999999999999999999999").rational + Rational(6) / Rational(10)
        #expect(nines.outputString == "10000000000000000000000000000000000")
        #expect((Rational(10).rational(powerOfTen: 50)).outputString == "1" + String(repeating: "0", count: 51))
    }

    @Test func lotRoundingTruncatesTheExactQuotient() {
        // 3 × (2/3 − 1) = −1 exactly: one whole lot.
        let n = Rational(3) * (Rational(2) / Rational(3) - Rational(1))
        #expect(n.roundedToLot(d("1")).outputString == "-1")
        #expect(d("0.3").rational.roundedToLot(d("0.1")).outputString == "0.3")
        #expect(d("-0.3333333333333333").rational.roundedToLot(d("0.001")).outputString == "-0.333")
        #expect(d("2.9").roundedToLot(d("0.5")).description == "2.5")
        #expect(d("5").roundedToLot(d("0")).description == "5")
        // the exact-decimal form agrees with the rational one, sign and truncation included
        #expect(n.lotMultiple(d("1")).description == "-1")
        #expect(d("-0.3333333333333333").rational.lotMultiple(d("0.001")).description == "-0.333")
        #expect((Rational(7) / Rational(3)).lotMultiple(d("0.5")).description == "2")
        #expect((Rational(1) / Rational(3)).lotMultiple(d("0.5")).isZero)
    }

    /// The direct text of small significands is the same as the general digit-by-digit one.
    @Test func shortTextAgreesWithTheGeneralText() {
        var g = SeededGenerator(seed: 21)
        for i in 0..<20_000 {
            let magnitude: UInt64 = i % 10 == 0 ? UInt64.max - UInt64(i) : g.next() >> UInt64(Int.random(in: 0...63, using: &g))
            let value = Int128(magnitude) * (Bool.random(using: &g) ? -1 : 1) * (i % 7 == 0 ? 1000 : 1)
            let decimal = ExactDecimal(significand: BigInt(value), exponent: Int.random(in: -30...30, using: &g))
            #expect(decimal.description == decimal.wideDescription || decimal.isZero)
        }
        #expect(ExactDecimal(significand: BigInt(-5), exponent: -3).description == "-0.005")
        #expect(ExactDecimal(significand: BigInt(1200), exponent: -2).description == "12")
        #expect(ExactDecimal(significand: BigInt(1234), exponent: -2).description == "12.34")
        #expect(ExactDecimal(significand: BigInt(7), exponent: 3).description == "7000")
        #expect(ExactDecimal(significand: BigInt(Int128(UInt64.max)), exponent: -20).description == "0.18446744073709551615")
    }

    @Test func decimalsRoundToSignificantDigitsOnlyWhenLonger() {
        let short = d("123.456")
        #expect(short.roundedToSignificantDigits(34) == short)
        #expect(short.roundedToSignificantDigits(4).description == "123.5")
        // 35 digits, half-even at 34: the same as the rational rounding
        let long = ExactDecimal(significand: BigInt(asciiDigits: Array("12345678901234567890123456789012345".utf8)), exponent: -1)
        #expect(long.roundedToSignificantDigits(34).description == "1234567890123456789012345678901234")
        #expect(long.roundedToSignificantDigits(34) == long.rational.roundedToSignificantDigits(34))
        #expect(d("-9.99").roundedToSignificantDigits(2).description == "-10")
    }

    @Test func decimalsAddExactly() {
        #expect((d("0.1") + d("0.2")).description == "0.3")
        #expect((d("-1.5") + d("1.5")).description == "0")
        #expect((d("1.25") * d("-4")).description == "-5")
        #expect(d("0.10") == d("0.1"))
        #expect(d("-0.1") < d("0"))
        #expect(d("1234.5678").truncated(toScale: 2).description == "1234.56")
        #expect(d("-1234.5678").truncated(toScale: 0).description == "-1234")
    }
}

extension Rational {
    func rational(powerOfTen n: Int) -> Rational { self * Rational(BigInt.pow10(n)) }
}

@Suite struct CanonicalTextTests {
    @Test(arguments: [
        ("0", "0"), ("-0", "0"), ("0.10", "0.1"), ("1.", "1"), (".5", "0.5"), ("007", "7"), ("-0.50", "-0.5"),
        ("12.34", "12.34"), ("-12.34", "-12.34"), ("0.001", "0.001"), ("100", "100"), ("-0.0", "0"), ("1.0", "1"),
    ])
    func canonicalTextMatchesTheParsedValue(input: String, canonical: String) {
        #expect(DecimalGrammar.canonical(input) == canonical)
        #expect(DecimalGrammar.canonical(input) == DecimalGrammar.parse(input)?.description)
    }

    @Test func invalidTextHasNoCanonicalForm() {
        for text in ["", "-", "1e5", "+1", "1.2.3", " 1"] { #expect(DecimalGrammar.canonical(text) == nil) }
    }
}

@Suite struct DecimalGrammarTests {
    /// The one-pass parser for short inputs and the general one agree on every input.
    @Test func shortAndLongParsersAgree() {
        var g = SeededGenerator(seed: 99)
        let alphabet = Array("0123456789.-+e ".utf8)
        for _ in 0..<50_000 {
            let length = Int.random(in: 0...24, using: &g)
            var bytes = (0..<length).map { _ in alphabet[Int.random(in: 0..<11, using: &g)] }
            if Bool.random(using: &g) { bytes = bytes.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "0") : $0 } }
            if Int.random(in: 0..<10, using: &g) == 0 { bytes.insert(alphabet[Int.random(in: 0..<alphabet.count, using: &g)], at: 0) }
            let text = String(decoding: bytes, as: UTF8.self)
            let short = bytes.withUnsafeBufferPointer { DecimalGrammar.parseShort($0) }
            let long = bytes.withUnsafeBufferPointer { DecimalGrammar.parseLong($0) }
            if let short {
                #expect(long != nil && short == long!, "\(text)")
                #expect(short.exact.description == long?.exact.description, "\(text)")
            }
            #expect(DecimalGrammar.parse(text)?.description == long?.exact.description, "\(text)")
        }
        // Well-formed numbers around the short parser's 19-digit bound: it takes every one that
        // fits and agrees with the general parser.
        for _ in 0..<50_000 {
            let digits = Int.random(in: 1...22, using: &g)
            var bytes = (0..<digits).map { _ in UInt8(ascii: "0") + UInt8(Int.random(in: 0...9, using: &g)) }
            if Int.random(in: 0..<4, using: &g) == 0 { bytes.insert(contentsOf: [UInt8](repeating: UInt8(ascii: "0"), count: Int.random(in: 1...3, using: &g)), at: 0) }
            let total = bytes.count
            if Bool.random(using: &g) { bytes.insert(UInt8(ascii: "."), at: Int.random(in: 0...bytes.count, using: &g)) }
            if Bool.random(using: &g) { bytes.insert(UInt8(ascii: "-"), at: 0) }
            let text = String(decoding: bytes, as: UTF8.self)
            let short = bytes.withUnsafeBufferPointer { DecimalGrammar.parseShort($0) }
            let long = bytes.withUnsafeBufferPointer { DecimalGrammar.parseLong($0) }
            #expect(long != nil, "\(text)")
            if total <= 19 { #expect(short != nil, "\(text)") }
            if let short { #expect(short == long! && short.exact.description == long!.exact.description, "\(text)") }
        }
    }
}

@Suite struct DecimalSumTests {
    /// DecimalSum equals the plain exact sum, also across exponents and past Int128.
    @Test func agreesWithExactDecimalArithmetic() {
        var g = SeededGenerator(seed: 5)
        for round in 0..<200 {
            var fast = DecimalSum()
            var exact = ExactDecimal.zero
            for _ in 0..<50 {
                let bits = round % 3 == 0 ? 120 : 40
                let a = ExactDecimal(significand: BigInt(Int128(truncatingIfNeeded: Int64(bitPattern: g.next())) << Int128(Int.random(in: 0...(bits - 64 > 0 ? bits - 64 : 0), using: &g))), exponent: Int.random(in: -20...20, using: &g))
                let b = ExactDecimal(significand: BigInt(Int64(bitPattern: g.next()) >> 20), exponent: Int.random(in: -10...5, using: &g))
                if Bool.random(using: &g) {
                    fast.add(a)
                    exact += a
                } else {
                    fast.add(product: a, b)
                    exact += a * b
                }
            }
            #expect(fast.value == exact)
            #expect(fast.value.description == exact.description)
        }
        #expect(DecimalSum().isZero && DecimalSum().value == .zero)
    }

    /// Sums of sums are exact, and a copy taken before a sum leaves Int128 does not change with it.
    @Test func sumsAddAndCopiesStayIndependent() {
        var g = SeededGenerator(seed: 9)
        var total = DecimalSum()
        var exact = ExactDecimal.zero
        for _ in 0..<100 {
            var part = DecimalSum()
            for _ in 0..<5 {
                let x = ExactDecimal(significand: BigInt(Int128(truncatingIfNeeded: Int64(bitPattern: g.next())) << 60), exponent: Int.random(in: -8...8, using: &g))
                part.add(x)
                exact += x
            }
            total.add(part)
        }
        #expect(total.value == exact)

        var big = DecimalSum()
        big.add(significand: Int128.max, exponent: 0)
        let before = big
        big.add(significand: Int128.max, exponent: 0)
        #expect(before.value == ExactDecimal(BigInt(Int128.max)))
        #expect(big.value == ExactDecimal(BigInt(Int128.max)) + ExactDecimal(BigInt(Int128.max)))
        var copy = big
        copy.add(ExactDecimal.one)
        #expect(big.value + .one == copy.value)
        #expect(copy.value != big.value)
    }
}

import Contracts
import KeelTestSupport
import Foundation
import Testing

@Suite struct DecimalTextTests {
    @Test(arguments: [
        ("0.10", "0.1"), (".5", "0.5"), ("2.", "2"), ("-0", "0"), ("007", "7"), ("0", "0"),
        ("-12.500", "-12.5"), ("1000000", "1000000"), ("0.000001", "0.000001"), ("-.25", "-0.25"),
        ("0.6666666666666666666666666666666667", "0.6666666666666666666666666666666667"),
        ("1234567890123456789012345678901234", "1234567890123456789012345678901234"),
        ("100000000000000000000000000000000000000000000000000000000000", "100000000000000000000000000000000000000000000000000000000000"),
        ("0.000000000000000000000000000000000000000000000000000000000001", "0.000000000000000000000000000000000000000000000000000000000001"),
    ])
    func acceptsTheGrammarAndWritesCanonically(input: String, canonical: String) throws {
        let value = try DecimalText.parse(input, field: "x")
        #expect(DecimalText.canonical(value) == canonical)
    }

    @Test(arguments: [
        "", "-", ".", "-.", "+1", "1e5", "1E5", " 1", "1 ", "1,5", "NaN", "Infinity", "-Infinity", "0x10",
        "1.2.3", "--1", "١", "1_000",
        // 35 significant digits
        "12345678901234567890123456789012345",
        "0.12345678901234567890123456789012345",
        // 61 digits on one side
        "1000000000000000000000000000000000000000000000000000000000000",
        "0.0000000000000000000000000000000000000000000000000000000000001",
    ])
    func rejectsEverythingElseNamingTheField(input: String) {
        #expect(throws: FieldError.self) { try DecimalText.parse(input, field: "positions[3].mark") }
        do {
            _ = try DecimalText.parse(input, field: "positions[3].mark")
        } catch {
            #expect(error.reason == "E_INVALID_DECIMAL")
            #expect(error.field == "positions[3].mark")
        }
    }

    @Test func leadingAndTrailingZerosDoNotCountAsSignificant() throws {
        // 34 significant digits surrounded by zeros is still valid.
        let text = "000" + "1234567890123456789012345678901234" + ".000"
        #expect(DecimalText.canonical(try DecimalText.parse(text, field: "x")) == "1234567890123456789012345678901234")
        #expect(DecimalText.canonical(try DecimalText.parse("0.0001200", field: "x")) == "0.00012")
    }

    @Test func parsesExactly() throws {
        let third = try DecimalText.parse("0.3333333333333333333333333333333333", field: "x")
        #expect(third * 3 == (try DecimalText.parse("0.9999999999999999999999999999999999", field: "x")))
        #expect((try DecimalText.parse("0.1", field: "x")) + (try DecimalText.parse("0.2", field: "x")) == (try DecimalText.parse("0.3", field: "x")))
    }

    @Test func nonNegativeAndOptional() throws {
        #expect(try DecimalText.parseOptional("", field: "min_trade_notional") == nil)
        #expect(try DecimalText.parseOptional("5", field: "min_trade_notional") == 5)
        do {
            _ = try DecimalText.parseNonNegative("-1", field: "total_equity")
            Issue.record("expected E_NEGATIVE_VALUE")
        } catch {
            #expect(error == FieldError(.negativeValue, field: "total_equity", message: error.message))
        }
        #expect(try DecimalText.parseNonNegative("-0", field: "total_equity") == 0)
    }

    @Test func canonicalFormRoundTripsForGeneratedValues() throws {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<2_000 {
            let digits = Int.random(in: 1...34, using: &generator)
            var text = String((0..<digits).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
            let point = Int.random(in: 0...digits, using: &generator)
            if point < digits { text.insert(".", at: text.index(text.startIndex, offsetBy: point)) }
            if Bool.random(using: &generator) { text = "-" + text }
            let value = try DecimalText.parse(text, field: "x")
            let canonical = DecimalText.canonical(value)
            #expect(try DecimalText.parse(canonical, field: "x") == value, "\(text) → \(canonical)")
            #expect(!canonical.contains("e") && !canonical.hasPrefix("+") && canonical != "-0")
            if canonical.contains(".") { #expect(!canonical.hasSuffix("0") && !canonical.hasSuffix(".")) }
        }
    }
}

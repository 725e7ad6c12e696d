import ExactNumbers
import Foundation

/// The one decimal grammar of Keel (docs/architecture.md#decimal-grammar), shared by every service and
/// the CLI: `-?(D+(.D*)?|.D+)`, no `+`, no exponent, no blanks; at most 34 significant digits and at
/// most 60 digits on either side of the point once leading integer zeros and trailing fraction zeros
/// are removed. The grammar itself is `ExactNumbers.DecimalGrammar`; this names the field on failure.
public enum DecimalText {
    public static let maxSignificantDigits = DecimalGrammar.maxSignificantDigits
    public static let maxDigitsPerSide = DecimalGrammar.maxDigitsPerSide

    /// Parses `text` exactly or throws `E_INVALID_DECIMAL` naming `field`.
    public static func parseExact(_ text: String, field: @autoclosure () -> String) throws(FieldError) -> ExactDecimal {
        try parseParts(text, field: field()).exact
    }

    /// Parses `text` exactly as a value that must be ≥ 0 (`E_NEGATIVE_VALUE` otherwise).
    public static func parseExactNonNegative(_ text: String, field: @autoclosure () -> String) throws(FieldError) -> ExactDecimal {
        try parsePartsNonNegative(text, field: field()).exact
    }

    /// As `parseExact`, in fixed width (what a loop over many values keeps).
    @inline(__always)
    public static func parseParts(_ text: String, field: @autoclosure () -> String) throws(FieldError) -> DecimalGrammar.Parts {
        guard let value = DecimalGrammar.parseParts(text) else { throw invalid(text, field: field()) }
        return value
    }

    /// As `parseParts`, of UTF-8 bytes (the text is only made a string for the error).
    @inline(__always)
    public static func parseParts(utf8 bytes: UnsafeBufferPointer<UInt8>, field: @autoclosure () -> String) throws(FieldError) -> DecimalGrammar.Parts {
        guard let value = DecimalGrammar.parseParts(utf8: bytes) else { throw invalid(String(decoding: bytes, as: UTF8.self), field: field()) }
        return value
    }

    /// As `parsePartsNonNegative`, of UTF-8 bytes.
    @inline(__always)
    public static func parsePartsNonNegative(utf8 bytes: UnsafeBufferPointer<UInt8>, field: @autoclosure () -> String) throws(FieldError) -> DecimalGrammar.Parts {
        let value = try parseParts(utf8: bytes, field: field())
        if value.significand < 0 { throw negative(String(decoding: bytes, as: UTF8.self), field: field()) }
        return value
    }

    /// As `parseExactNonNegative`, in fixed width.
    @inline(__always)
    public static func parsePartsNonNegative(_ text: String, field: @autoclosure () -> String) throws(FieldError) -> DecimalGrammar.Parts {
        let value = try parseParts(text, field: field())
        if value.significand < 0 { throw negative(text, field: field()) }
        return value
    }

    static func invalid(_ text: String, field: String) -> FieldError {
        FieldError(
            .invalidDecimal, field: field,
            message: "\(field) is not a decimal: \(quoted(text)) (plain notation such as \"0.1\" or \"-12.5\", at most 34 significant digits)")
    }

    static func negative(_ text: String, field: String) -> FieldError {
        FieldError(.negativeValue, field: field, message: "\(field) must be ≥ 0, got \(text)")
    }

    /// Parses `text` or throws `E_INVALID_DECIMAL` naming `field`.
    public static func parse(_ text: String, field: String) throws(FieldError) -> Decimal {
        decimal(try parseExact(text, field: field))
    }

    /// Parses an optional decimal: `""` is `nil` (absent), anything else as `parse`.
    public static func parseOptional(_ text: String, field: String) throws(FieldError) -> Decimal? {
        text.isEmpty ? nil : try parse(text, field: field)
    }

    /// Parses `text` as a decimal that must be ≥ 0 (`E_NEGATIVE_VALUE` otherwise).
    public static func parseNonNegative(_ text: String, field: String) throws(FieldError) -> Decimal {
        decimal(try parseExactNonNegative(text, field: field))
    }

    /// The grammar check and exact conversion; `nil` when `text` is not a valid Keel decimal.
    public static func parseOrNil(_ text: String) -> Decimal? {
        DecimalGrammar.parse(text).map(decimal)
    }

    /// A grammar-valid decimal (≤ 34 significant digits) as `Foundation.Decimal`, exactly.
    public static func decimal(_ value: ExactDecimal) -> Decimal {
        if value.isZero { return 0 }
        let digits = Array(value.significand.magnitudeDigits.utf8).map { $0 &- 48 }
        return Decimal(sign: value.isNegative ? .minus : .plus, exponent: value.exponent, significand: integerDecimal(digits[...]))
    }

    /// An integer of at most 34 digits, exactly, built from 18-digit chunks (each fits UInt64).
    private static func integerDecimal(_ digits: ArraySlice<UInt8>) -> Decimal {
        var result = Decimal(0)
        var index = digits.startIndex
        while index < digits.endIndex {
            let end = min(index + 18, digits.endIndex)
            var chunk: UInt64 = 0
            for d in digits[index..<end] { chunk = chunk * 10 + UInt64(d) }
            let width = end - index
            result = result == 0
                ? Decimal(chunk)
                : Decimal(sign: .plus, exponent: width, significand: result) + Decimal(chunk)
            index = end
        }
        return result
    }

    /// Canonical output: plain notation, no exponent, no `+`, one `0` before
    /// the point below 1, no trailing fraction zeros or point, `"0"` for zero (never `"-0"`).
    public static func canonical(_ value: Decimal) -> String {
        if value.isZero { return "0" }
        var exp = value.exponent
        // Normalise trailing zeros of the significand into the exponent.
        var digits = integerDigits(of: value.significand.magnitude)
        while digits.count > 1, digits.last == "0" { digits.removeLast(); exp += 1 }
        let text: String
        if exp >= 0 {
            text = digits + String(repeating: "0", count: exp)
        } else {
            let frac = -exp
            if digits.count > frac {
                let cut = digits.index(digits.endIndex, offsetBy: -frac)
                text = String(digits[..<cut]) + "." + String(digits[cut...])
            } else {
                text = "0." + String(repeating: "0", count: frac - digits.count) + digits
            }
        }
        return value < 0 ? "-" + text : text
    }

    private static func integerDigits(of integer: Decimal) -> String {
        // An integral Decimal prints as plain digits; normalise any formatting to be safe.
        let text = integer.description
        return text.hasPrefix("-") ? String(text.dropFirst()) : text
    }

    private static func quoted(_ text: String) -> String {
        let shown = text.count > 80 ? String(text.prefix(80)) + "…" : text
        return "\"" + shown + "\""
    }
}

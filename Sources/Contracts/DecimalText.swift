import Foundation

/// The one decimal grammar of Keel (spec/planner.md §1, amendment 7a), shared by every service and
/// the CLI: `-?(D+(.D*)?|.D+)`, no `+`, no exponent, no blanks; at most 34 significant digits and at
/// most 60 digits on either side of the point once leading integer zeros and trailing fraction zeros
/// are removed. Values parse exactly into `Foundation.Decimal` (38 digits of mantissa).
public enum DecimalText {
    public static let maxSignificantDigits = 34
    public static let maxDigitsPerSide = 60

    /// Parses `text` or throws `E_INVALID_DECIMAL` naming `field`.
    public static func parse(_ text: String, field: String) throws(FieldError) -> Decimal {
        guard let value = parseOrNil(text) else {
            throw FieldError(
                reason: "E_INVALID_DECIMAL", field: field,
                message: "\(field) is not a decimal: \(quoted(text)) (expected plain notation such as \"0.1\" or \"-12.5\")")
        }
        return value
    }

    /// Parses an optional decimal: `""` is `nil` (absent), anything else as `parse`.
    public static func parseOptional(_ text: String, field: String) throws(FieldError) -> Decimal? {
        text.isEmpty ? nil : try parse(text, field: field)
    }

    /// Parses `text` as a decimal that must be ≥ 0 (`E_NEGATIVE_VALUE` otherwise).
    public static func parseNonNegative(_ text: String, field: String) throws(FieldError) -> Decimal {
        let value = try parse(text, field: field)
        if value < 0 {
            throw FieldError(reason: "E_NEGATIVE_VALUE", field: field, message: "\(field) must be ≥ 0, got \(text)")
        }
        return value
    }

    /// The grammar check and exact conversion; `nil` when `text` is not a valid Keel decimal.
    public static func parseOrNil(_ text: String) -> Decimal? {
        var text = text
        return text.withUTF8 { parse(bytes: UnsafeRawBufferPointer($0)) }
    }

    static func parse(bytes: UnsafeRawBufferPointer) -> Decimal? {
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
        // Something must follow, all of it digits: "-", ".", "-." and "" are not decimals.
        guard i == n, intEnd > intStart || fracEnd > fracStart else { return nil }

        var firstInt = intStart
        while firstInt < intEnd, bytes[firstInt] == UInt8(ascii: "0") { firstInt += 1 }
        var lastFrac = fracEnd
        while lastFrac > fracStart, bytes[lastFrac - 1] == UInt8(ascii: "0") { lastFrac -= 1 }
        let intDigits = intEnd - firstInt
        let fracDigits = lastFrac - fracStart
        guard intDigits <= maxDigitsPerSide, fracDigits <= maxDigitsPerSide else { return nil }

        // Significant digits: from the first to the last non-zero digit across the point.
        var digits: [UInt8] = []
        digits.reserveCapacity(intDigits + fracDigits)
        for j in firstInt..<intEnd { digits.append(bytes[j] &- 48) }
        for j in fracStart..<lastFrac { digits.append(bytes[j] &- 48) }
        var lo = 0
        while lo < digits.count, digits[lo] == 0 { lo += 1 }
        if lo == digits.count { return Decimal(0) }
        var hi = digits.count
        while digits[hi - 1] == 0 { hi -= 1 }
        guard hi - lo <= maxSignificantDigits else { return nil }
        // value = digits[lo..<hi] × 10^(trailing zeros dropped − fraction digits)
        let exponent = (digits.count - hi) - fracDigits
        let significand = integerDecimal(digits[lo..<hi])
        return Decimal(sign: negative ? .minus : .plus, exponent: exponent, significand: significand)
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

    @inline(__always) private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    /// Canonical output (spec/planner.md §1): plain notation, no exponent, no `+`, one `0` before
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

import ExactNumbers
import Foundation
import SwiftProtobuf

/// The example cases (Fixtures/, each with the number of cases per kind in `counts`), and a comparison that
/// follows their conventions: lists ordered, maps unordered, fields absent from our output are
/// protobuf defaults, lot-rounded quantities and amounts exact, other decimals within 1e-12 relative.
public enum Cases {
    /// A fixture that cannot be read, or whose cases do not add up to its `counts`: a suite that
    /// would otherwise run zero cases and pass fails instead.
    public struct FixtureError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func load(_ file: String) throws -> [[String: Any]] {
        try root(file).cases
    }

    static func root(_ file: String) throws -> (cases: [[String: Any]], counts: [String: Int]) {
        guard let url = Bundle.module.url(forResource: "Fixtures/\(file)", withExtension: "json") else {
            throw FixtureError(description: "no fixture Fixtures/\(file).json in the test bundle")
        }
        guard let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
              let cases = root["cases"] as? [[String: Any]] else {
            throw FixtureError(description: "Fixtures/\(file).json has no list `cases`")
        }
        guard let counts = root["counts"] as? [String: Int] else {
            throw FixtureError(description: "Fixtures/\(file).json has no object `counts` (cases per kind)")
        }
        return (cases, counts)
    }

    /// The names of the fixture's cases of `kind`, in file order. Throws when the fixture cannot be
    /// read, when `counts` has no entry for `kind`, or when the cases found differ from it.
    public static func named(_ file: String, kind: String) throws -> [String] {
        let (cases, counts) = try root(file)
        let names = try cases.filter { $0["kind"] as? String == kind }.map { testCase in
            guard let name = testCase["name"] as? String else { throw FixtureError(description: "\(file): a \(kind) case has no name") }
            return name
        }
        guard let expected = counts[kind], expected > 0 else {
            throw FixtureError(description: "\(file): `counts` has no entry for \(kind)")
        }
        guard names.count == expected else {
            throw FixtureError(description: "\(file): \(names.count) cases of kind \(kind), `counts` says \(expected)")
        }
        return names
    }

    /// How many cases of `kind` the fixture's `counts` promises (a suite that loops over the cases
    /// itself checks that it ran this many).
    public static func count(_ file: String, kind: String) throws -> Int {
        try named(file, kind: kind).count
    }

    public static func `case`(_ file: String, _ name: String) throws -> [String: Any] {
        guard let found = try load(file).first(where: { $0["name"] as? String == name }) else {
            throw FixtureError(description: "\(file): no case named \(name)")
        }
        return found
    }

    public static func message<M: SwiftProtobuf.Message>(_ type: M.Type, from json: Any) throws -> M {
        let data = try JSONSerialization.data(withJSONObject: json)
        return try M(jsonUTF8Data: data)
    }

    public static func json<M: SwiftProtobuf.Message>(_ message: M) throws -> Any {
        let data = try message.jsonUTF8Data(options: .init())
        return try JSONSerialization.jsonObject(with: data)
    }

    /// Fields whose values are lot-rounded quantities or amounts: compared exactly.
    public static let exactFields: Set<String> = [
        "delta_qty", "quantity", "total_qty", "round_qtys", "total_amount", "round_amounts", "estimated_round_qtys",
        "target_amount", "total_eval", "available", "required", "shortfall", "eval_amount", "price", "lot_size",
    ]

    /// Differences between `expected` and `actual`, as readable paths.
    public static func differences(expected: Any, actual: Any?, path: String = "", field: String = "") -> [String] {
        switch expected {
        case let object as [String: Any]:
            let other = actual as? [String: Any] ?? [:]
            var out: [String] = []
            for (key, value) in object {
                // Placeholders stand for values assigned at run time.
                if let text = value as? String, text.hasPrefix("<"), text.hasSuffix(">") { continue }
                let isMap = ["scale_by_strategy", "intent", "metadata", "by_strategy"].contains(field)
                out += differences(expected: value, actual: other[protoJSONName(key)] ?? other[key], path: "\(path).\(key)", field: isMap ? field : key)
            }
            return out
        case let list as [Any]:
            let other = actual as? [Any] ?? []
            if list.count != other.count { return ["\(path): expected \(list.count) items, got \(other.count): \(other)"] }
            return zip(list, other).enumerated().flatMap { i, pair in differences(expected: pair.0, actual: pair.1, path: "\(path)[\(i)]", field: field) }
        case let text as String:
            let got = actual as? String ?? ""
            if text == got { return [] }
            if text.contains("<"), matchesPlaceholders(text, got) { return [] }
            if let a = DecimalGrammar.parse(text), let b = DecimalGrammar.parse(got) {
                if exactFields.contains(field) { return a == b ? [] : ["\(path): expected \(text), got \(got)"] }
                return closeEnough(a, b) ? [] : ["\(path): expected \(text), got \(got) (beyond 1e-12)"]
            }
            // Enum defaults are omitted from our JSON.
            if got.isEmpty, text.hasSuffix("_UNSPECIFIED") { return [] }
            return ["\(path): expected \(text), got \(got.isEmpty ? "(absent)" : got)"]
        case let number as NSNumber:
            if String(cString: number.objCType) == "c" {
                let got = (actual as? NSNumber)?.boolValue ?? false
                return got == number.boolValue ? [] : ["\(path): expected \(number.boolValue), got \(got)"]
            }
            let got = (actual as? NSNumber)?.int64Value ?? (actual as? String).flatMap { Int64($0) } ?? 0
            return got == number.int64Value ? [] : ["\(path): expected \(number), got \(got)"]
        default:
            return actual == nil ? [] : ["\(path): expected null, got \(String(describing: actual))"]
        }
    }

    /// `<plan_id>:a` matches `pln_…:a`: each `<…>` stands for a non-empty run-time value.
    public static func matchesPlaceholders(_ pattern: String, _ text: String) -> Bool {
        var regex = "^"
        var rest = Substring(pattern)
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            regex += NSRegularExpression.escapedPattern(for: String(rest[..<open])) + ".+"
            rest = rest[rest.index(after: close)...]
        }
        regex += NSRegularExpression.escapedPattern(for: String(rest)) + "$"
        return text.range(of: regex, options: .regularExpression) != nil
    }

    public static func closeEnough(_ a: ExactDecimal, _ b: ExactDecimal) -> Bool {
        if a == b { return true }
        let difference = (a - b).magnitude.rational
        let scale = max(a.magnitude, b.magnitude).rational
        return difference * Rational(BigInt.pow10(12)) <= scale
    }

    /// protobuf JSON uses lowerCamelCase names; the cases use the proto field names.
    public static func protoJSONName(_ name: String) -> String {
        var out = ""
        var upper = false
        for ch in name {
            if ch == "_" { upper = true; continue }
            out.append(upper ? Character(ch.uppercased()) : ch)
            upper = false
        }
        return out
    }
}


import ExactNumbers
import Foundation
import SwiftProtobuf

/// Every decimal Keel writes must be one Keel reads back: another service sends it as it is.
/// The check walks a message's protobuf JSON and reads every string that looks like a number
/// (digits, with a sign, a point or an exponent) with the input grammar.
public enum WrittenDecimals {
    /// The `path: value` of each written number the input grammar refuses (empty when all parse).
    public static func unreadable<M: SwiftProtobuf.Message>(in message: M) throws -> [String] {
        var out: [String] = []
        walk(try Cases.json(message), path: M.protoMessageName, into: &out)
        return out
    }

    static func walk(_ value: Any, path: String, into out: inout [String]) {
        switch value {
        case let object as [String: Any]:
            for (key, item) in object { walk(item, path: "\(path).\(key)", into: &out) }
        case let list as [Any]:
            for (i, item) in list.enumerated() { walk(item, path: "\(path)[\(i)]", into: &out) }
        case let text as String where looksNumeric(text):
            if DecimalGrammar.parse(text) == nil { out.append("\(path): \(text)") }
        default:
            break
        }
    }

    /// Digits with points, an exponent and signs only in front of a number or its exponent: what a
    /// reader would take for a number (a date such as 2026-03-01 is not one).
    public static func looksNumeric(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.contains(where: { $0 >= 48 && $0 <= 57 }) else { return false }
        for (i, byte) in bytes.enumerated() {
            switch byte {
            case 48...57, UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): continue
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                if i == 0 || bytes[i - 1] == UInt8(ascii: "e") || bytes[i - 1] == UInt8(ascii: "E") { continue }
                return false
            default: return false
            }
        }
        return true
    }
}

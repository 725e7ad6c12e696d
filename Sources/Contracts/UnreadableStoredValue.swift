import ExactNumbers
import SwiftProtobuf

/// A value a store holds that cannot be read back: a decimal that does not parse, a message that
/// does not decode, a status number no version wrote. It is never replaced by a zero or an empty
/// message; the call that met it answers INTERNAL `E_STORED_VALUE_UNREADABLE` naming the row, and
/// a background loop that met it logs the row and fails what it was working on.
public struct UnreadableStoredValue: Error, Equatable, Sendable, CustomStringConvertible {
    public var table: String
    /// The row's key (an order's client order id, a schedule id, a log offset).
    public var row: String
    public var column: String
    public var detail: String

    public init(table: String, row: String, column: String, detail: String) {
        self.table = table
        self.row = row
        self.column = column
        self.detail = detail
    }

    public var description: String { "\(table) row \(row): \(column) cannot be read (\(detail))" }

    /// The stored decimal `text`, or this error naming where it is.
    public static func decimal(_ text: String, table: String, row: String, column: String) throws(UnreadableStoredValue) -> ExactDecimal {
        guard let value = DecimalGrammar.parse(text) else {
            throw UnreadableStoredValue(table: table, row: row, column: column, detail: "\"\(text)\" is not a decimal")
        }
        return value
    }

    /// The same for a column that may hold no value: none stays none.
    public static func decimal(ifAny text: String?, table: String, row: String, column: String) throws(UnreadableStoredValue) -> ExactDecimal? {
        guard let text else { return nil }
        return try decimal(text, table: table, row: row, column: column)
    }

    /// What `read` returns, or this error (with the reader's error as its detail).
    public static func reading<T>(table: String, row: String, column: String, _ read: () throws -> T) throws(UnreadableStoredValue) -> T {
        do {
            return try read()
        } catch {
            throw UnreadableStoredValue(table: table, row: row, column: column, detail: "\(error)")
        }
    }

    /// The enum case stored as `raw`, or this error.
    public static func enumCase<E: RawRepresentable>(_ type: E.Type, _ raw: E.RawValue, table: String, row: String, column: String) throws(UnreadableStoredValue) -> E {
        guard let value = E(rawValue: raw) else {
            throw UnreadableStoredValue(table: table, row: row, column: column, detail: "\(raw) is not a \(E.self)")
        }
        return value
    }

    /// The protobuf enum case stored as `raw`, or this error. A protobuf enum reads any number (an
    /// unknown one as `UNRECOGNIZED`), so only a number of a case it declares is a stored value.
    public static func enumCase<E: SwiftProtobuf.Enum & CaseIterable>(_ type: E.Type, _ raw: Int, table: String, row: String, column: String) throws(UnreadableStoredValue) -> E {
        guard let value = E.allCases.first(where: { $0.rawValue == raw }) else {
            throw UnreadableStoredValue(table: table, row: row, column: column, detail: "\(raw) is not a \(E.self)")
        }
        return value
    }
}

import ExactNumbers
import Foundation

/// A configuration file a service refuses to start with: the JSON path of the first bad value
/// (`venues.binance.lot_size`, `schedule.slots[3]`) and what is wrong with it.
public struct ConfigInvalid: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// Reads the values of a JSON configuration, naming the path of the first bad one. Every service's
/// config file is read with it, so they all report errors the same way.
public struct ConfigReader: Sendable {
    public var path: String

    public init(path: String = "") { self.path = path }

    /// The parsed JSON document.
    public static func document(_ data: Data) throws(ConfigInvalid) -> Any {
        do {
            return try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ConfigInvalid(path: "$", message: "not JSON: \(error.localizedDescription)")
        }
    }

    public func child(_ name: String) -> ConfigReader {
        ConfigReader(path: path.isEmpty ? name : (name.hasPrefix("[") ? path + name : "\(path).\(name)"))
    }

    public func object(_ value: Any) throws(ConfigInvalid) -> [String: Any] {
        guard let object = value as? [String: Any] else { throw .init(path: path.isEmpty ? "$" : path, message: "must be an object") }
        return object
    }

    /// An object whose keys must all be among `known` (a misspelt key is an error, not ignored).
    public func object(_ value: Any, keys known: Set<String>) throws(ConfigInvalid) -> [String: Any] {
        let object = try object(value)
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw .init(path: child(unknown).path, message: "unknown key (known: \(known.sorted().joined(separator: ", ")))")
        }
        return object
    }

    public func bool(_ value: Any) throws(ConfigInvalid) -> Bool {
        guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else {
            throw .init(path: path, message: "must be true or false")
        }
        return number.boolValue
    }

    public func string(_ value: Any) throws(ConfigInvalid) -> String {
        guard let text = value as? String else { throw .init(path: path, message: "must be a string") }
        return text
    }

    public func optionalString(_ value: Any?) throws(ConfigInvalid) -> String? {
        guard let value, !(value is NSNull) else { return nil }
        return try string(value)
    }

    public func nonNegativeInt(_ value: Any) throws(ConfigInvalid) -> Int {
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c", let int = Int(exactly: number.doubleValue), int >= 0 else {
            throw .init(path: path, message: "must be a whole number ≥ 0")
        }
        return int
    }

    /// A decimal string ≥ 0; JSON null or absent = unset.
    public func optionalDecimal(_ value: Any?) throws(ConfigInvalid) -> ExactDecimal? {
        guard let value, !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw .init(path: path, message: "must be a decimal string such as \"0.001\"") }
        guard let decimal = DecimalGrammar.parse(text) else { throw .init(path: path, message: "\"\(text)\" is not a decimal") }
        guard !decimal.isNegative else { throw .init(path: path, message: "must be ≥ 0, got \(text)") }
        return decimal
    }

    /// A decimal string of either sign (a short position's quantity).
    public func signedDecimal(_ value: Any?) throws(ConfigInvalid) -> ExactDecimal {
        guard let text = value as? String else { throw .init(path: path, message: "must be a decimal string such as \"-0.5\"") }
        guard let decimal = DecimalGrammar.parse(text) else { throw .init(path: path, message: "\"\(text)\" is not a decimal") }
        return decimal
    }

    /// A list of values.
    public func list(_ value: Any) throws(ConfigInvalid) -> [Any] {
        guard let items = value as? [Any] else { throw .init(path: path, message: "must be a list") }
        return items
    }
}

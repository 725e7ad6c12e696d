/// A request that failed validation or a domain rule: its reason from the registry (`ErrorReason`)
/// with the status that reason answers with, the protobuf field path (`positions[3].mark`,
/// `world_alloc_after[w1]`) that KWP/1 puts in `ErrorInfo.metadata["field"]`, and any other facts.
/// Pure modules throw it; the transport turns it into a Status.
public struct FieldError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    /// The reason's name as the wire carries it (`E_INVALID_DECIMAL`).
    public var reason: String
    public var field: String
    public var message: String
    /// Facts besides `field` (e.g. `world_id`).
    public var metadata: [String: String]

    /// An error of `reason`, answered with the reason's status.
    public init(_ reason: ErrorReason, field: String, message: String, metadata: [String: String] = [:]) {
        self.code = reason.status
        self.reason = reason.name
        self.field = field
        self.message = message
        self.metadata = metadata
    }

    /// INVALID_ARGUMENT `E_MISSING_FIELD`: a required field is empty or unset.
    public static func missing(_ field: String) -> FieldError {
        FieldError(.missingField, field: field, message: "\(field) is required")
    }

    /// Whether this is an error of `reason`.
    public func has(_ reason: ErrorReason) -> Bool { self.reason == reason.name }

    /// `field` plus the other facts, as `ErrorInfo.metadata`.
    public var allMetadata: [String: String] {
        var all = metadata
        all["field"] = field
        return all
    }

    public var description: String { "\(reason) at \(field): \(message)" }
}

/// Field paths as errors name them: protobuf field names, `[i]` for list indexes and
/// `[<key>]` for map keys.
public enum FieldPath {
    public static func index(_ base: String, _ i: Int) -> String { "\(base)[\(i)]" }
    public static func key(_ base: String, _ key: String) -> String { "\(base)[\(key)]" }

    /// Map keys in byte order (the order validation reports them in).
    public static func sortedKeys<V>(_ map: [String: V]) -> [String] {
        map.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}

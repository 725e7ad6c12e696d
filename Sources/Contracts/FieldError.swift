/// A request that failed validation or a domain rule: the gRPC status number (INVALID_ARGUMENT by
/// default), the stable `reason` (`E_INVALID_DECIMAL`, …), the protobuf field path (`positions[3].mark`,
/// `world_alloc_after[w1]`) that KWP/1 puts in `ErrorInfo.metadata["field"]`, and any other facts.
/// Pure modules throw it; the transport turns it into a Status.
public struct FieldError: Error, Equatable, Sendable, CustomStringConvertible {
    /// gRPC canonical status numbers used by domain errors.
    public enum Code: Int32, Sendable {
        case invalidArgument = 3
        case notFound = 5
        case alreadyExists = 6
        case permissionDenied = 7
        case failedPrecondition = 9
        case outOfRange = 11
        case internalError = 13
        case unavailable = 14

        /// The canonical gRPC name (`INVALID_ARGUMENT`).
        public var name: String {
            switch self {
            case .invalidArgument: "INVALID_ARGUMENT"
            case .notFound: "NOT_FOUND"
            case .alreadyExists: "ALREADY_EXISTS"
            case .permissionDenied: "PERMISSION_DENIED"
            case .failedPrecondition: "FAILED_PRECONDITION"
            case .outOfRange: "OUT_OF_RANGE"
            case .internalError: "INTERNAL"
            case .unavailable: "UNAVAILABLE"
            }
        }
    }

    public var code: Code
    public var reason: String
    public var field: String
    public var message: String
    /// Facts besides `field` (e.g. `world_id`).
    public var metadata: [String: String]

    public init(_ code: Code = .invalidArgument, reason: String, field: String, message: String, metadata: [String: String] = [:]) {
        self.code = code
        self.reason = reason
        self.field = field
        self.message = message
        self.metadata = metadata
    }

    public init(reason: String, field: String, message: String) {
        self.init(.invalidArgument, reason: reason, field: field, message: message)
    }

    /// INVALID_ARGUMENT `E_MISSING_FIELD`: a required field is empty or unset.
    public static func missing(_ field: String) -> FieldError {
        FieldError(reason: "E_MISSING_FIELD", field: field, message: "\(field) is required")
    }

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

import Contracts

/// A call that ended with a non-OK status: the code, a message for people, and the machine-readable
/// `ErrorInfo` (a stable `reason` and facts in `metadata`, `field` naming the offending field).
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var reason: String
    public var metadata: [String: String]

    public init(_ code: StatusCode, _ message: String, reason: String = "", metadata: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = metadata
    }

    /// The status of a domain error: its code, reason, field and facts.
    public init(_ error: FieldError) {
        self.init(StatusCode(number: error.code.rawValue), error.message, reason: error.reason, metadata: error.allMetadata)
    }

    /// A domain error naming the offending field (`metadata["field"]`).
    public static func field(
        _ code: StatusCode, reason: String, field: String, _ message: String, metadata: [String: String] = [:]
    ) -> RPCError {
        var all = metadata
        all["field"] = field
        return RPCError(code, message, reason: reason, metadata: all)
    }

    /// A stored value that cannot be read back: INTERNAL, naming where it is.
    public init(_ error: UnreadableStoredValue) {
        self.init(.internal, error.description, reason: "E_STORED_VALUE_UNREADABLE",
                  metadata: ["table": error.table, "row": error.row, "column": error.column])
    }

    public init(status: Keel_Wire_V1_Status) {
        self.init(
            StatusCode(number: status.code), status.message,
            reason: status.details.reason, metadata: status.details.metadata)
    }

    public var status: Keel_Wire_V1_Status {
        var status = Keel_Wire_V1_Status()
        status.code = code.rawValue
        status.message = message
        if !reason.isEmpty || !metadata.isEmpty {
            status.details.reason = reason
            status.details.metadata = metadata
        }
        return status
    }

    public var field: String? { metadata["field"] }

    public var description: String {
        var text = "\(code.name)"
        if !reason.isEmpty { text += " \(reason)" }
        if let field { text += " [\(field)]" }
        if !message.isEmpty { text += ": \(message)" }
        return text
    }
}

import Contracts
import Logging

/// A call that ended with a non-OK status: the code, a message for people, and the machine-readable
/// `ErrorInfo` (a stable `reason` and facts in `metadata`, `field` naming the offending field).
/// Services raise it with a reason of the registry (`ErrorReason`); the string form is what a
/// client reads off the wire. `cause` keeps the error it was made from, for logs; it never leaves
/// the process and does not take part in `==`.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var reason: String
    public var metadata: [String: String]
    public var cause: (any Error & Sendable)?

    public init(_ code: StatusCode, _ message: String, reason: String = "", metadata: [String: String] = [:], cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = metadata
        self.cause = cause
    }

    /// An error of `reason`, answered with the reason's status.
    public init(_ reason: ErrorReason, _ message: String, metadata: [String: String] = [:], cause: (any Error & Sendable)? = nil) {
        self.init(reason.status, message, reason: reason.name, metadata: metadata, cause: cause)
    }

    /// The status of a domain error: its code, reason, field and facts.
    public init(_ error: FieldError) {
        self.init(error.code, error.message, reason: error.reason, metadata: error.allMetadata, cause: error)
    }

    /// A domain error of `reason` naming the offending field (`metadata["field"]`).
    public static func field(
        _ reason: ErrorReason, field: String, _ message: String, metadata: [String: String] = [:]
    ) -> RPCError {
        var all = metadata
        all["field"] = field
        return RPCError(reason, message, metadata: all)
    }

    /// A stored value that cannot be read back: INTERNAL, naming where it is.
    public init(_ error: UnreadableStoredValue) {
        self.init(.storedValueUnreadable, error.description, metadata: ["table": error.table, "row": error.row, "column": error.column], cause: error)
    }

    /// Whether the call ended with `reason`.
    public func has(_ reason: ErrorReason) -> Bool { self.reason == reason.name }

    public static func == (a: RPCError, b: RPCError) -> Bool {
        a.code == b.code && a.message == b.message && a.reason == b.reason && a.metadata == b.metadata
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

extension Logger {
    /// A stored value that cannot be read, logged with where it is wherever a call meets one.
    public func storedValueUnreadable(_ error: UnreadableStoredValue) {
        self.error("stored value unreadable", metadata: [
            "table": "\(error.table)", "row": "\(error.row)", "column": "\(error.column)", "detail": "\(error.detail)",
        ])
    }
}

import Logging
import NIOCore

/// What a handler knows about the call it serves.
public struct ServerContext: Sendable {
    /// `/keel.planner.v1.Planner/Plan`
    public let method: String
    public let metadata: [String: String]
    /// The caller's `x-request-id`, or one generated for this call.
    public let requestID: String
    /// When the caller stops waiting; `nil` without `timeout_ms`.
    public let deadline: NIODeadline?
    /// The service's logger, without the call's metadata.
    let baseLogger: Logger

    /// `baseLogger` is the service's logger; `logger` adds the call's metadata to it.
    public init(method: String, metadata: [String: String], requestID: String, deadline: NIODeadline?, logger baseLogger: Logger) {
        self.method = method
        self.metadata = metadata
        self.requestID = requestID
        self.deadline = deadline
        self.baseLogger = baseLogger
    }

    /// Carries `request_id` and `method`, so every line of the call can be found. Made when asked
    /// for: most calls never log, and a log handler may format its metadata on every change.
    public var logger: Logger {
        var logger = baseLogger
        var metadata = logger.handler.metadata
        metadata["request_id"] = .string(requestID)
        metadata["method"] = .string(method)
        logger.handler.metadata = metadata
        return logger
    }

    /// The time left before the deadline (for passing on to calls made while serving this one).
    public var remainingTime: TimeAmount? {
        deadline.map { $0 - NIODeadline.now() }
    }

    public var idempotencyKey: String? { metadata[MetadataKey.idempotencyKey] }

    /// The `idempotency-key`, checked: 1–128 printable ASCII characters, else INVALID_ARGUMENT
    /// `E_INVALID_IDEMPOTENCY_KEY`; nil when the call has none.
    public func validatedIdempotencyKey() throws(RPCError) -> String? {
        guard let key = idempotencyKey else { return nil }
        guard !key.isEmpty, key.utf8.count <= 128, key.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7e }) else {
            throw RPCError.field(
                .invalidIdempotencyKey, field: MetadataKey.idempotencyKey,
                "idempotency-key must be 1–128 printable ASCII characters")
        }
        return key
    }
}

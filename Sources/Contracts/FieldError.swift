/// A request field that failed validation: the stable `reason` (`E_INVALID_DECIMAL`, …) and the
/// protobuf field path (`positions[3].mark`, `world_alloc_after[w1]`) that spec/wire.md puts in
/// `ErrorInfo.metadata["field"]`. The transport turns it into INVALID_ARGUMENT.
public struct FieldError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    public var field: String
    public var message: String

    public init(reason: String, field: String, message: String) {
        self.reason = reason
        self.field = field
        self.message = message
    }

    public var description: String { "\(reason) at \(field): \(message)" }
}

/// Another call committed a row under the same idempotency key first: the store's unique
/// constraint on the key refused this one. The call answers with that row instead.
public struct IdempotencyKeyTaken: Error, Sendable {
    public init() {}
}

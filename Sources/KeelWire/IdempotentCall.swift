import Contracts
import Logging

/// What a store holds under an idempotency key: the digest of the request that was answered, the
/// answer, and the id of what that call made (named when another request reuses the key).
public struct KeyedAnswer<Answer: Sendable>: Sendable {
    public var digest: String
    /// The stored answer, read only once the digest matched (an answer of another method under
    /// the key need not even decode as this one's).
    public var answer: @Sendable () throws -> Answer
    /// `("plan_id", "pln_…")`; nil when the answer has no id of its own.
    public var madeID: (name: String, value: String)?

    public init(digest: String, answer: @escaping @Sendable () throws -> Answer, madeID: (name: String, value: String)? = nil) {
        self.digest = digest
        self.answer = answer
        self.madeID = madeID
    }
}

/// A mutating call that honours `idempotency-key`, written once for every such call: the key is
/// validated, the stored answer looked up; the same request under the key answers it again
/// (marked replayed), another request is ALREADY_EXISTS `E_IDEMPOTENCY_KEY_REUSED`; otherwise the
/// call runs and writes its answer under the key in its own transaction. When two calls race,
/// the store's unique constraint refuses the second (`IdempotencyKeyTaken`), which re-reads the
/// winner's answer and replays it.
public struct IdempotentCall<Answer: Sendable>: Sendable {
    /// The validated key; nil when the call has none (then nothing is looked up or replayed).
    public let key: String?
    /// The request's digest (its normalized encoding hashed), stored with the answer.
    public let digest: String
    let lookup: @Sendable (String) async throws -> KeyedAnswer<Answer>?
    let replayed: @Sendable (Answer) -> Answer

    /// - Parameters:
    ///   - lookup: the answer stored under a key, if any.
    ///   - replayed: the stored answer as a replay answers it (its `replayed` flag set).
    public init(
        context: ServerContext, digest: String,
        lookup: @escaping @Sendable (String) async throws -> KeyedAnswer<Answer>?,
        replayed: @escaping @Sendable (Answer) -> Answer
    ) throws(RPCError) {
        self.key = try context.validatedIdempotencyKey()
        self.digest = digest
        self.lookup = lookup
        self.replayed = replayed
    }

    /// The stored answer when this request was answered under the key; nil without a key or an
    /// answer; ALREADY_EXISTS when the key answered another request.
    public func storedAnswer() async throws -> Answer? {
        guard let key, let stored = try await lookup(key) else { return nil }
        guard stored.digest == digest else {
            let made = stored.madeID.map { " (\($0.name) \($0.value))" } ?? ""
            throw RPCError.field(
                .idempotencyKeyReused, field: MetadataKey.idempotencyKey,
                "idempotency-key was used for a different request\(made)",
                metadata: stored.madeID.map { [$0.name: $0.value] } ?? [:])
        }
        return replayed(try stored.answer())
    }

    /// The stored answer, or `perform`'s, which writes it under `key`. A call that lost the race
    /// for the key answers the winner's.
    public func run(_ perform: () async throws -> Answer) async throws -> Answer {
        if let answer = try await storedAnswer() { return answer }
        return try await answerOnce(perform)
    }

    /// `perform` (the lookup already done by the caller); a lost race for the key answers the winner's.
    public func answerOnce(_ perform: () async throws -> Answer) async throws -> Answer {
        do {
            return try await perform()
        } catch is IdempotencyKeyTaken {
            if let answer = try await storedAnswer() { return answer }
            // The key's row was refused as taken, yet is not there: the store is not consistent.
            throw RPCError(.storeUnavailable, "the answer stored under the idempotency key cannot be read")
        }
    }
}

/// The write of what an idempotent call made (its answer under the key, with what goes with it).
public enum KeyedWrite {
    /// `write`, whose refusal as taken passes (so that `IdempotentCall` replays the winner's
    /// answer); any other failure is UNAVAILABLE `E_STORE_UNAVAILABLE` — `failure` says what was not
    /// written — and is logged with its cause.
    public static func perform<T>(_ failure: String, logger: Logger, _ write: () async throws -> T) async throws -> T {
        do {
            return try await write()
        } catch let taken as IdempotencyKeyTaken {
            throw taken
        } catch {
            logger.error("store failed", metadata: ["error": "\(error)"])
            throw RPCError(.storeUnavailable, "\(failure); nothing was written")
        }
    }
}

/// An answer that says whether it is the replay of a stored one (its `replayed` field).
public protocol ReplayableAnswer: Sendable {
    var replayed: Bool { get set }
}

extension IdempotentCall where Answer: ReplayableAnswer {
    /// A call whose stored answer is replayed with its `replayed` flag set.
    public init(context: ServerContext, digest: String, lookup: @escaping @Sendable (String) async throws -> KeyedAnswer<Answer>?) throws(RPCError) {
        try self.init(context: context, digest: digest, lookup: lookup, replayed: { answer in
            var answer = answer
            answer.replayed = true
            return answer
        })
    }
}

extension Keel_Gateway_V1_ExecuteResponse: ReplayableAnswer {}
extension Keel_Gateway_V1_Schedule: ReplayableAnswer {}
extension Keel_Planner_V1_EvaluateRiskResponse: ReplayableAnswer {}
extension Keel_Capital_V1_ReallocateResponse: ReplayableAnswer {}
extension Keel_Capital_V1_BulkRebalanceResponse: ReplayableAnswer {}

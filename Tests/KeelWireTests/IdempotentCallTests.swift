import Contracts
import KeelTestSupport
import KeelWire
import Logging
import Synchronization
import Testing

/// The one idempotency component every mutating call uses, against a store kept in memory.
@Suite struct IdempotentCallTests {
    /// Answers kept by key, with a unique constraint on the key as a store has.
    final class Answers: Sendable {
        let rows = Mutex<[String: (digest: String, answer: String)]>([:])

        func insert(key: String?, digest: String, answer: String) throws {
            guard let key else { return }
            try rows.withLock { rows in
                if rows[key] != nil { throw IdempotencyKeyTaken() }
                rows[key] = (digest, answer)
            }
        }

        func call(key: String?, digest: String) throws -> IdempotentCall<String> {
            let context = ServerContext(method: "/t.T/M", metadata: key.map { [MetadataKey.idempotencyKey: $0] } ?? [:], requestID: "r",
                                        deadline: nil, logger: Logger(label: "test"))
            return try IdempotentCall(context: context, digest: digest, lookup: { key in
                self.rows.withLock { $0[key] }.map { row in KeyedAnswer(digest: row.digest, answer: { row.answer }, madeID: ("thing_id", row.answer)) }
            }, replayed: { "replayed " + $0 })
        }
    }

    @Test func theSameRequestUnderAKeyIsAnsweredOnceAndReplayed() async throws {
        let answers = Answers()
        let ran = Mutex(0)
        var got: [String] = []
        for _ in 0..<3 {
            let call = try answers.call(key: "k1", digest: "d1")
            got.append(try await call.run {
                ran.withLock { $0 += 1 }
                try answers.insert(key: call.key, digest: call.digest, answer: "a1")
                return "a1"
            })
        }
        #expect(got == ["a1", "replayed a1", "replayed a1"])
        #expect(ran.withLock { $0 } == 1)
    }

    @Test func anotherRequestUnderTheKeyIsAlreadyExistsNamingWhatTheKeyMade() async throws {
        let answers = Answers()
        try answers.insert(key: "k1", digest: "d1", answer: "thing-1")
        let error = await expectStatus(.alreadyExists, reason: "E_IDEMPOTENCY_KEY_REUSED", field: MetadataKey.idempotencyKey) {
            _ = try await answers.call(key: "k1", digest: "d2").run { Issue.record("ran"); return "" }
        }
        #expect(error?.metadata["thing_id"] == "thing-1")
    }

    @Test func aCallWithoutAKeyAlwaysRuns() async throws {
        let answers = Answers()
        for n in 0..<2 {
            #expect(try await answers.call(key: nil, digest: "d").run { "fresh \(n)" } == "fresh \(n)")
        }
    }

    /// Two calls race for one key: the store refuses the second writer, which answers the first's answer.
    @Test func theLoserOfARaceForTheKeyAnswersTheWinnersAnswer() async throws {
        let answers = Answers()
        let call = try answers.call(key: "k", digest: "d")
        let answer = try await call.run {
            // The other call commits between this one's lookup and its write.
            try answers.insert(key: "k", digest: "d", answer: "winner")
            try answers.insert(key: call.key, digest: call.digest, answer: "loser")
            return "loser"
        }
        #expect(answer == "replayed winner")
    }

    @Test func aTakenKeyWithNoAnswerIsUnavailableNotAGuess() async throws {
        let answers = Answers()
        await expectStatus(.unavailable, reason: "E_STORE_UNAVAILABLE") {
            _ = try await answers.call(key: "k", digest: "d").run { throw IdempotencyKeyTaken() }
        }
    }

    @Test func anInvalidKeyIsRefusedBeforeAnythingRuns() async throws {
        let answers = Answers()
        await expectStatus(.invalidArgument, reason: "E_INVALID_IDEMPOTENCY_KEY", field: MetadataKey.idempotencyKey) {
            _ = try await answers.call(key: String(repeating: "k", count: 129), digest: "d").run { Issue.record("ran"); return "" }
        }
    }
}

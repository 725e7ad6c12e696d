import Contracts
import Foundation
import KeelWire
import NIOCore
import Testing

@Suite struct KWPCallTests {
    @Test func thousandConcurrentUnaryCallsOnOneConnectionAreMatchedByCallID() async throws {
        try await withServer(.init(maxConcurrentCalls: 1_024)) { _, port in
            try await withClient(port: port) { client in
                let results = try await withThrowingTaskGroup(of: (UInt64, UInt64).self) { group in
                    for n in 0..<UInt64(1_000) {
                        group.addTask {
                            let pong = try await client.unary(TestMethod.echo, Ping.with { $0.nonce = n }, as: Pong.self, timeout: .seconds(30))
                            return (n, pong.nonce)
                        }
                    }
                    var all: [(UInt64, UInt64)] = []
                    for try await pair in group { all.append(pair) }
                    return all
                }
                #expect(results.count == 1_000)
                for (n, answer) in results { #expect(answer == n * 2 + 1, "call \(n)") }
                #expect(Set(results.map(\.0)).count == 1_000)
            }
        }
    }

    @Test func serverEnforcesTheDeadlineAndCancelsTheHandler() async throws {
        let probe = Probe()
        try await withServer(probe: probe) { _, port in
            // A raw connection shows the server's own DEADLINE_EXCEEDED (the client would also time out locally).
            try await RawSession.run(port: port) { session in
                _ = try await session.handshake()
                try await session.sendRequest(callID: 1, method: TestMethod.awaitCancel, timeoutMs: 150)
                let frame = try await session.nextFrame()
                #expect(frame?.callID == 1)
                #expect(frame?.status.code == StatusCode.deadlineExceeded.rawValue)
                try await probe.cancelled.wait(timeout: .seconds(5), "the handler to observe cancellation")
            }
        }
    }

    @Test func clientDeadlineFailsTheCallAndTheServerHandlerIsCancelled() async throws {
        let probe = Probe()
        try await withServer(probe: probe) { _, port in
            try await withClient(port: port) { client in
                let started = ContinuousClock.now
                await expectRPCError(.deadlineExceeded) {
                    _ = try await client.unary(TestMethod.awaitCancel, Ping(), as: Pong.self, timeout: .milliseconds(200))
                }
                #expect(ContinuousClock.now - started < .seconds(5))
                try await probe.cancelled.wait(timeout: .seconds(5), "the handler to observe cancellation")
            }
        }
    }

    @Test func cancellingTheCallingTaskSendsCancelAndStopsTheHandler() async throws {
        let probe = Probe()
        try await withServer(probe: probe) { _, port in
            try await withClient(port: port) { client in
                let call = Task {
                    try await client.unary(TestMethod.awaitCancel, Ping(), as: Pong.self)
                }
                try await probe.started.wait(timeout: .seconds(5), "the handler to start")
                call.cancel()
                await expectRPCError(.cancelled) { _ = try await call.value }
                try await probe.cancelled.wait(timeout: .seconds(5), "the handler to observe the Cancel frame")
                // The connection is still good.
                let pong = try await client.unary(TestMethod.echo, Ping.with { $0.nonce = 5 }, as: Pong.self)
                #expect(pong.nonce == 11)
            }
        }
    }

    @Test func unknownMethodIsUnimplemented() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let error = await expectRPCError(.unimplemented) {
                    _ = try await client.unary("/keel.nope.v1.Nope/Nope", Ping(), as: Pong.self)
                }
                #expect(error?.reason == "E_UNKNOWN_METHOD")
            }
        }
    }

    @Test func undecodableBodyIsInvalidArgument() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let error = await expectRPCError(.invalidArgument) {
                    // field 1 declared length-delimited with 255 bytes that never come
                    _ = try await client.unaryBytes(TestMethod.echo, body: Data([0x0A, 0xFF, 0x01]))
                }
                #expect(error?.reason == "E_UNDECODABLE_BODY")
                #expect(error?.field == "body")
            }
        }
    }

    @Test func domainErrorsCarryReasonFieldAndMetadata() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let error = await expectRPCError(.failedPrecondition) {
                    _ = try await client.unary(TestMethod.fail, Ping(), as: Pong.self)
                }
                #expect(error?.reason == "E_TEST")
                #expect(error?.field == "positions[3].mark")
                #expect(error?.metadata["world_id"] == "w1")
                #expect(error?.message == "mark is bad")
            }
        }
    }

    @Test func tokenIsRequiredExceptForHealth() async throws {
        let health = HealthService()
        health.setStatus(.serving)
        try await withServer(.init(token: "s3cret"), health: health) { _, port in
            try await withClient(port: port) { anonymous in
                let error = await expectRPCError(.unauthenticated) {
                    _ = try await anonymous.unary(TestMethod.echo, Ping(), as: Pong.self)
                }
                #expect(error?.reason == "E_UNAUTHENTICATED")
                let status = try await anonymous.unary(KeelRPC.healthCheck, Keel_Health_V1_HealthCheckRequest(), as: Keel_Health_V1_HealthCheckResponse.self)
                #expect(status.status == .serving)
            }
            _ = try await withClient(port: port, configuration: .init(token: "s3cre")) { wrong in
                await expectRPCError(.unauthenticated) { _ = try await wrong.unary(TestMethod.echo, Ping(), as: Pong.self) }
            }
            try await withClient(port: port, configuration: .init(token: "s3cret")) { right in
                let pong = try await right.unary(TestMethod.echo, Ping.with { $0.nonce = 1 }, as: Pong.self)
                #expect(pong.nonce == 3)
            }
        }
    }

    @Test func tooManyConcurrentCallsAreRefusedAndTheConnectionStaysUp() async throws {
        let probe = Probe()
        try await withServer(.init(maxConcurrentCalls: 4), probe: probe) { _, port in
            try await withClient(port: port) { client in
                let blocked = (0..<4).map { n in
                    Task { try await client.unary(TestMethod.block, Ping.with { $0.nonce = UInt64(n) }, as: Pong.self) }
                }
                try await probe.started.wait(times: 4, timeout: .seconds(5), "four handlers to start")
                let error = await expectRPCError(.resourceExhausted) {
                    _ = try await client.unary(TestMethod.echo, Ping(), as: Pong.self)
                }
                #expect(error?.reason == "E_TOO_MANY_CALLS")
                probe.gate.open()
                for (n, call) in blocked.enumerated() {
                    let pong = try await call.value
                    #expect(pong.nonce == UInt64(n))
                }
                let pong = try await client.unary(TestMethod.echo, Ping.with { $0.nonce = 2 }, as: Pong.self)
                #expect(pong.nonce == 5)
            }
        }
    }

    @Test func requestIDIsPassedThroughOrGenerated() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let echoed = try await client.unary(TestMethod.requestID, Ping(), as: Keel_Health_V1_HealthCheckRequest.self, metadata: ["x-request-id": "req-42"])
                #expect(echoed.service == "req-42")
                let generated = try await client.unary(TestMethod.requestID, Ping(), as: Keel_Health_V1_HealthCheckRequest.self)
                #expect(generated.service.count == 16)
                #expect(generated.service.allSatisfy { "0123456789abcdef".contains($0) })
                var seen: Set<String> = [generated.service]
                for _ in 0..<50 {
                    let next = try await client.unary(TestMethod.requestID, Ping(), as: Keel_Health_V1_HealthCheckRequest.self)
                    #expect(seen.insert(next.service).inserted)
                }
                // A handler's logger names the call.
                let logged = try await client.unary(TestMethod.logged, Ping(), as: Keel_Health_V1_HealthCheckRequest.self, metadata: ["x-request-id": "req-7"])
                #expect(logged.service == "req-7 \(TestMethod.logged)")
            }
        }
    }

    /// Handlers that answer on the event loop behave as task handlers do: answers, errors with
    /// their field, many at once on one connection.
    @Test func eventLoopHandlersAnswerLikeTaskHandlers() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let pong = try await client.unary(TestMethod.inlineEcho, Ping.with { $0.nonce = 20 }, as: Pong.self)
                #expect(pong.nonce == 41)
                let error = await expectRPCError(.failedPrecondition) {
                    _ = try await client.unary(TestMethod.inlineFail, Ping(), as: Pong.self)
                }
                #expect(error?.reason == "E_TEST" && error?.field == "positions[3].mark" && error?.message == "mark is bad")
                let answers = try await withThrowingTaskGroup(of: UInt64.self) { group in
                    for n in UInt64(0)..<200 {
                        group.addTask { try await client.unary(TestMethod.inlineEcho, Ping.with { $0.nonce = n }, as: Pong.self).nonce }
                    }
                    return try await group.reduce(into: Set<UInt64>()) { $0.insert($1) }
                }
                #expect(answers == Set((UInt64(0)..<200).map { $0 * 2 + 1 }))
            }
        }
    }

    @Test func responseLargerThanTheClientsMaxFrameIsResourceExhausted() async throws {
        try await withServer { _, port in
            try await withClient(port: port, configuration: .init(maxFrameBytes: 1_024)) { client in
                let small = try await client.unary(TestMethod.big, Ping.with { $0.nonce = 100 }, as: Keel_Health_V1_HealthCheckRequest.self)
                #expect(small.service.count == 100)
                let error = await expectRPCError(.resourceExhausted) {
                    _ = try await client.unary(TestMethod.big, Ping.with { $0.nonce = 10_000 }, as: Keel_Health_V1_HealthCheckRequest.self)
                }
                #expect(error?.reason == "E_FRAME_TOO_LARGE")
            }
        }
    }

    @Test func requestLargerThanTheServersMaxFrameFailsLocally() async throws {
        try await withServer(.init(maxFrameBytes: 2_048)) { _, port in
            try await withClient(port: port) { client in
                try await client.waitUntilReady(timeout: .seconds(5))
                let error = await expectRPCError(.resourceExhausted) {
                    _ = try await client.unary(TestMethod.echo, Keel_Health_V1_HealthCheckRequest.with { $0.service = String(repeating: "y", count: 4_000) }, as: Pong.self)
                }
                #expect(error?.reason == "E_FRAME_TOO_LARGE")
                let pong = try await client.unary(TestMethod.echo, Ping.with { $0.nonce = 0 }, as: Pong.self)
                #expect(pong.nonce == 1)
            }
        }
    }

    @Test func serverStreamDeliversTenThousandMessagesInOrder() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                var expected: UInt64 = 0
                for try await pong in client.serverStream(TestMethod.count, Ping.with { $0.nonce = 10_000 }, as: Pong.self) {
                    #expect(pong.nonce == expected)
                    expected += 1
                }
                #expect(expected == 10_000)
            }
        }
    }

    @Test func cancellingAServerStreamStopsTheHandler() async throws {
        let probe = Probe()
        try await withServer(probe: probe) { _, port in
            try await withClient(port: port) { client in
                let stream = client.serverStream(TestMethod.endless, Ping(), as: Pong.self)
                var received = 0
                do {
                    for try await _ in stream {
                        received += 1
                        if received == 100 { stream.cancel() }
                    }
                    Issue.record("a cancelled stream ends with CANCELLED")
                } catch let error as RPCError {
                    #expect(error.code == .cancelled)
                }
                #expect(received >= 100)
                try await probe.cancelled.wait(timeout: .seconds(5), "the streaming handler to be cancelled")
                let pong = try await client.unary(TestMethod.echo, Ping.with { $0.nonce = 1 }, as: Pong.self)
                #expect(pong.nonce == 3)
            }
        }
    }

    @Test func healthReportsEachServiceAndUnknownOnes() async throws {
        let health = HealthService(services: ["keel.planner.v1.Planner"])
        try await withServer(health: health) { _, port in
            try await withClient(port: port) { client in
                func check(_ service: String) async throws -> ServingStatus {
                    try await client.unary(KeelRPC.healthCheck, Keel_Health_V1_HealthCheckRequest.with { $0.service = service }, as: Keel_Health_V1_HealthCheckResponse.self).status
                }
                let before = try await check("")
                #expect(before == .notServing)
                health.setAll(.serving)
                let process = try await check("")
                let planner = try await check("keel.planner.v1.Planner")
                let unknown = try await check("keel.nope.v1.Nope")
                #expect(process == .serving)
                #expect(planner == .serving)
                #expect(unknown == .serviceUnknown)
            }
        }
    }
}

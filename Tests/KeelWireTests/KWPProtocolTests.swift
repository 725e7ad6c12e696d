import Contracts
import Foundation
import KeelWire
import NIOCore
import Testing

/// What a server does with frames a well-behaved client never sends.
@Suite struct KWPProtocolTests {
    @Test func helloIsAnsweredWithTheServersLimits() async throws {
        try await withServer(.init(maxFrameBytes: 64 * 1024 * 1024, serverName: "keel-planner")) { _, port in
            try await RawSession.run(port: port) { session in
                let hello = try await session.handshake()
                #expect(hello.protocol == "kwp/1")
                #expect(hello.maxFrameBytes == 64 * 1024 * 1024)
                #expect(hello.peer == "keel-planner")
            }
        }
    }

    @Test func aFirstFrameOtherThanHelloGetsGoAwayAndClose() async throws {
        try await withServer { _, port in
            try await RawSession.run(port: port) { session in
                try await session.sendRequest(callID: 1, method: TestMethod.echo)
                let frames = try await session.framesUntilClosed()
                #expect(frames.count == 1)
                #expect(frames.first?.goAway.code == StatusCode.invalidArgument.rawValue)
            }
        }
    }

    @Test func anotherProtocolIsFailedPrecondition() async throws {
        try await withServer { _, port in
            try await RawSession.run(port: port) { session in
                try await session.sendHello(protocol: "kwp/2")
                let frames = try await session.framesUntilClosed()
                #expect(frames.map { $0.goAway.code } == [StatusCode.failedPrecondition.rawValue])
                #expect(frames.first?.goAway.message.contains("kwp/2") == true)
            }
        }
    }

    @Test func zeroLengthFrameEndsTheConnectionWithGoAway() async throws {
        try await withServer { _, port in
            try await RawSession.run(port: port) { session in
                _ = try await session.handshake()
                try await session.send(bytes: [0, 0, 0, 0])
                let frames = try await session.framesUntilClosed()
                #expect(frames.map { $0.goAway.code } == [StatusCode.invalidArgument.rawValue])
            }
        }
    }

    @Test func oversizeLengthEndsTheConnectionWithoutWaitingForTheBody() async throws {
        try await withServer(.init(maxFrameBytes: 1_024)) { _, port in
            try await RawSession.run(port: port) { session in
                _ = try await session.handshake()
                // Announce 1 GiB and send nothing more: the server must answer now.
                try await session.send(bytes: [0x40, 0, 0, 0])
                let frames = try await session.framesUntilClosed()
                #expect(frames.map { $0.goAway.code } == [StatusCode.resourceExhausted.rawValue])
                #expect(frames.first?.goAway.message.contains("1073741824") == true)
            }
        }
    }

    @Test func bytesThatAreNotAFrameEndTheConnection() async throws {
        try await withServer { _, port in
            try await RawSession.run(port: port) { session in
                _ = try await session.handshake()
                try await session.send(bytes: [0, 0, 0, 3, 0xFF, 0xFF, 0xFF])
                let frames = try await session.framesUntilClosed()
                #expect(frames.map { $0.goAway.code } == [StatusCode.invalidArgument.rawValue])
            }
        }
    }

    @Test func pingIsAnsweredWithPongOfTheSameNonce() async throws {
        try await withServer { _, port in
            try await RawSession.run(port: port) { session in
                _ = try await session.handshake()
                var ping = Frame()
                ping.ping = .with { $0.nonce = 0xDEAD_BEEF }
                try await session.send(ping)
                let frame = try await session.nextFrame()
                #expect(frame?.pong.nonce == 0xDEAD_BEEF)
            }
        }
    }

    @Test func aSecondRequestWithAnOpenCallIDIsInvalidArgument() async throws {
        let probe = Probe()
        try await withServer(probe: probe) { _, port in
            try await RawSession.run(port: port) { session in
                _ = try await session.handshake()
                try await session.sendRequest(callID: 1, method: TestMethod.block, body: .with { $0.nonce = 9 })
                try await probe.started.wait(timeout: .seconds(5), "the first call to start")
                try await session.sendRequest(callID: 1, method: TestMethod.echo)
                let refused = try await session.nextFrame()
                #expect(refused?.callID == 1)
                #expect(refused?.status.code == StatusCode.invalidArgument.rawValue)
                #expect(refused?.status.details.reason == "E_DUPLICATE_CALL_ID")
                probe.gate.open()
                let response = try await session.nextFrame()
                let status = try await session.nextFrame()
                #expect(try Pong(serializedBytes: response?.response.body ?? Data()).nonce == 9)
                #expect(status?.status.code == 0)
            }
        }
    }

    @Test func responsesInterleaveAcrossCalls() async throws {
        let probe = Probe()
        try await withServer(probe: probe) { _, port in
            try await RawSession.run(port: port) { session in
                _ = try await session.handshake()
                try await session.sendRequest(callID: 1, method: TestMethod.block, body: .with { $0.nonce = 1 })
                try await probe.started.wait(timeout: .seconds(5), "the blocked call")
                try await session.sendRequest(callID: 3, method: TestMethod.echo, body: .with { $0.nonce = 3 })
                // Call 3 finishes while call 1 is still open.
                let first = try await session.nextFrame()
                #expect(first?.callID == 3)
                _ = try await session.nextFrame()
                probe.gate.open()
                let later = try await session.nextFrame()
                #expect(later?.callID == 1)
            }
        }
    }

    @Test func uppercaseMetadataKeysAreRejected() async throws {
        try await withServer { _, port in
            try await RawSession.run(port: port) { session in
                _ = try await session.handshake()
                try await session.sendRequest(callID: 1, method: TestMethod.echo, metadata: ["X-Request-Id": "a"])
                let frame = try await session.nextFrame()
                #expect(frame?.status.code == StatusCode.invalidArgument.rawValue)
                #expect(frame?.status.details.metadata["field"] == "metadata[X-Request-Id]")
            }
        }
    }

    @Test func idleConnectionsAreClosedWithGoAway() async throws {
        try await withServer(.init(idleTimeout: .milliseconds(200))) { _, port in
            try await RawSession.run(port: port) { session in
                _ = try await session.handshake()
                let frames = try await session.framesUntilClosed()
                #expect(frames.count == 1)
                #expect(frames.first?.goAway.message == "idle timeout")
            }
        }
    }

    @Test func aConnectionThatNeverSaysHelloIsClosed() async throws {
        try await withServer(.init(helloTimeout: .milliseconds(200))) { _, port in
            try await RawSession.run(port: port) { session in
                // Half a frame, then silence (a slow client cannot hold the connection). On a
                // loaded machine the server may have closed already: the write may fail.
                try? await session.send(bytes: [0, 0, 0, 10, 1, 2])
                let frames = try await session.framesUntilClosedOrReset()
                #expect(frames.allSatisfy { $0.goAway.code == StatusCode.deadlineExceeded.rawValue })
                #expect(frames.count <= 1)
            }
        }
    }
}

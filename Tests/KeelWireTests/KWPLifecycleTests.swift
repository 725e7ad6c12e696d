import Contracts
import Foundation
import Glibc
import NIOConcurrencyHelpers
import KeelWire
import NIOCore
import NIOPosix
import Testing

@Suite struct KWPLifecycleTests {
    @Test func goAwayDrainsInFlightCallsAndRefusesNewOnes() async throws {
        let probe = Probe()
        let server = KWPServer(configuration: .init(), router: makeTestRouter(probe))
        let port = try await server.start().port!
        do {
            try await RawSession.run(port: port) { session in
                _ = try await session.handshake()
                try await session.sendRequest(callID: 1, method: TestMethod.block, body: .with { $0.nonce = 77 })
                try await probe.started.wait(timeout: .seconds(5), "the in-flight call")
                let shutdown = Task { await server.shutdown(drainTimeout: .seconds(20)) }

                let goAway = try await session.nextFrame()
                #expect(goAway?.goAway.lastCallID == 1)
                #expect(goAway?.goAway.code == StatusCode.unavailable.rawValue)

                try await session.sendRequest(callID: 3, method: TestMethod.echo)
                let refused = try await session.nextFrame()
                #expect(refused?.callID == 3)
                #expect(refused?.status.code == StatusCode.unavailable.rawValue)

                probe.gate.open()
                let rest = try await session.framesUntilClosed()
                #expect(rest.map(\.callID) == [1, 1])
                #expect(try Pong(serializedBytes: rest[0].response.body).nonce == 77)
                #expect(rest[1].status.code == 0)
                await shutdown.value
            }
        } catch {
            probe.gate.open()
            await server.shutdown(drainTimeout: .milliseconds(100))
            throw error
        }
    }

    @Test func clientSeesInFlightCallFinishAndNewCallsRefusedDuringDrain() async throws {
        let probe = Probe()
        let server = KWPServer(configuration: .init(), router: makeTestRouter(probe))
        let port = try await server.start().port!
        let client = KWPClient(host: "127.0.0.1", port: port, configuration: .init(backoff: .init(initial: .seconds(5))))
        do {
            let inFlight = Task { try await client.unary(TestMethod.block, Ping.with { $0.nonce = 5 }, as: Pong.self) }
            try await probe.started.wait(timeout: .seconds(5), "the in-flight call")
            let shutdown = Task { await server.shutdown(drainTimeout: .seconds(20)) }
            // The listener closes before GoAway is sent; once shutdown has begun no new call gets through.
            await expectRPCError(.unavailable) {
                // Retry until the refusal is observed: the first attempts may still race the GoAway.
                for _ in 0..<100_000 {
                    _ = try await client.unary(TestMethod.echo, Ping(), as: Pong.self, timeout: .seconds(5))
                    await Task.yield()
                }
            }
            probe.gate.open()
            let pong = try await inFlight.value
            #expect(pong.nonce == 5)
            await shutdown.value
            await client.close()
        } catch {
            probe.gate.open()
            await client.close()
            await server.shutdown(drainTimeout: .milliseconds(100))
            throw error
        }
    }

    @Test func clientReconnectsAfterTheServerRestarts() async throws {
        let first = KWPServer(configuration: .init(), router: makeTestRouter(Probe()))
        let port = try await first.start().port!
        let client = KWPClient(host: "127.0.0.1", port: port, configuration: .init(backoff: .init(initial: .milliseconds(20), maximum: .milliseconds(200))))
        var second: KWPServer?
        do {
            let before = try await client.unary(TestMethod.echo, Ping.with { $0.nonce = 1 }, as: Pong.self)
            #expect(before.nonce == 3)
            await first.shutdown(drainTimeout: .seconds(2))

            // Disconnected: calls fail fast with UNAVAILABLE instead of hanging.
            let started = ContinuousClock.now
            await expectRPCError(.unavailable) {
                _ = try await client.unary(TestMethod.echo, Ping(), as: Pong.self, timeout: .seconds(30))
            }
            #expect(ContinuousClock.now - started < .seconds(5))

            let restarted = KWPServer(configuration: .init(port: port), router: makeTestRouter(Probe()))
            second = restarted
            try await restarted.start()
            try await client.waitUntilReady(timeout: .seconds(10))
            let after = try await client.unary(TestMethod.echo, Ping.with { $0.nonce = 2 }, as: Pong.self)
            #expect(after.nonce == 5)
            await client.close()
            await restarted.shutdown()
        } catch {
            await client.close()
            await first.shutdown(drainTimeout: .milliseconds(100))
            await second?.shutdown(drainTimeout: .milliseconds(100))
            throw error
        }
    }

    @Test func pingMeasuresTheRoundTrip() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let rtt = try await client.ping()
                #expect(rtt > .zero && rtt < .seconds(5))
            }
        }
        // Nobody answers a Ping on a silent server: the ping times out.
        let silent = try await SilentServer.start()
        _ = try await withClient(port: silent.port) { client in
            await expectRPCError(.deadlineExceeded) { _ = try await client.ping(timeout: .milliseconds(200)) }
        }
        try await silent.close()
    }

    @Test func backoffGrowsToItsCapWithJitter() {
        let backoff = KWPClient.Backoff(initial: .milliseconds(100), maximum: .seconds(2), multiplier: 2, jitter: 0.2)
        for attempt in 0..<20 {
            let base = min(100.0 * pow(2, Double(attempt)), 2_000)
            let delayMs = Double(backoff.delay(attempt: attempt).nanoseconds) / 1_000_000
            #expect(delayMs >= base * 0.8 - 0.001 && delayMs <= base * 1.2 + 0.001, "attempt \(attempt): \(delayMs)")
        }
    }

    @Test func callsToAnAddressWithNothingListeningFailFastWithUnavailable() async throws {
        // A port held bound but never listening: connecting is refused, and no other test's
        // server can take the port meanwhile (as it could after a probe server had shut down).
        let (socket, port) = try Self.boundButNotListening()
        defer { close(socket) }
        try await withClient(port: port) { client in
            await expectRPCError(.unavailable) { _ = try await client.unary(TestMethod.echo, Ping(), as: Pong.self) }
            // While backing off, further calls fail at once without trying to connect.
            await expectRPCError(.unavailable) { _ = try await client.unary(TestMethod.echo, Ping(), as: Pong.self) }
        }
    }

    static func boundButNotListening() throws -> (Int32, Int) {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard fd >= 0, bound else { throw POSIXError(.EADDRNOTAVAIL) }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    @Test func aServerThatBreaksTheFramingFailsTheCallAndIsToldWhy() async throws {
        let broken = try await SilentServer.start(answeringRequestsWith: [0, 0, 0, 0])  // a frame of length 0
        do {
            try await withClient(port: broken.port) { client in
                await expectRPCError(.unavailable) {
                    _ = try await client.unary(TestMethod.echo, Ping(), as: Pong.self, timeout: .seconds(10))
                }
                try await broken.goAways.wait(timeout: .seconds(5), "a GoAway from the client")
                #expect(broken.goAwayCodes == [StatusCode.invalidArgument.rawValue])
            }
            try await broken.close()
        } catch {
            try? await broken.close()
            throw error
        }
    }

    @Test func clientTimesOutLocallyAgainstASilentServerAndSendsCancel() async throws {
        let silent = try await SilentServer.start()
        do {
            try await withClient(port: silent.port) { client in
                let started = ContinuousClock.now
                await expectRPCError(.deadlineExceeded) {
                    _ = try await client.unary(TestMethod.echo, Ping(), as: Pong.self, timeout: .milliseconds(150))
                }
                #expect(ContinuousClock.now - started < .seconds(5))
                try await silent.cancels.wait(timeout: .seconds(5), "a Cancel frame at the silent server")
            }
            try await silent.close()
        } catch {
            try? await silent.close()
            throw error
        }
    }
}

/// Says Hello and then never answers a call: the client's own deadline must end the call. With
/// `answer`, it writes those raw bytes for every request instead (to break the framing on purpose).
final class SilentServer: Sendable {
    let channel: any Channel
    let cancels: Signal
    /// The codes of the GoAway frames it received, in order; `goAways` fires for each.
    let goAways: Signal
    private let goAwayCodeBox: NIOLockedValueBox<[Int32]>
    var port: Int { channel.localAddress!.port! }
    var goAwayCodes: [Int32] { goAwayCodeBox.withLockedValue { $0 } }

    private init(channel: any Channel, cancels: Signal, goAways: Signal, goAwayCodes: NIOLockedValueBox<[Int32]>) {
        self.channel = channel
        self.cancels = cancels
        self.goAways = goAways
        self.goAwayCodeBox = goAwayCodes
    }

    static func start(answeringRequestsWith answer: [UInt8]? = nil) async throws -> SilentServer {
        let cancels = Signal()
        let goAways = Signal()
        let codes = NIOLockedValueBox<[Int32]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SilentHandler(cancels: cancels, answer: answer) { code in
                        codes.withLockedValue { $0.append(code) }
                        goAways.fire()
                    })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return SilentServer(channel: channel, cancels: cancels, goAways: goAways, goAwayCodes: codes)
    }

    func close() async throws { try await channel.close() }
}

private final class SilentHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let cancels: Signal
    let answer: [UInt8]?
    let goAway: (Int32) -> Void
    private var frames = FrameReader()

    init(cancels: Signal, answer: [UInt8]?, goAway: @escaping (Int32) -> Void) {
        self.cancels = cancels
        self.answer = answer
        self.goAway = goAway
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        frames.append(unwrapInboundIn(data))
        while let frame = try? frames.next() {
            switch frame.kind {
            case .hello:
                var hello = Frame()
                hello.hello = .with { $0.protocol = KWP.protocolName; $0.maxFrameBytes = KWP.defaultMaxFrameBytes; $0.peer = "silent" }
                var out = context.channel.allocator.buffer(capacity: 64)
                try! FrameEncoder.encode(hello, into: &out)
                context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            case .request:
                if let answer { context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: answer)), promise: nil) }
            case .cancel:
                cancels.fire()
            case .goAway(let goAway):
                self.goAway(goAway.code)
            default:
                break
            }
        }
    }
}

import Contracts
import KeelTestSupport
import Foundation
import KeelWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// A one-shot or counting event a test can wait for (with a bound, so a broken test fails instead
/// of hanging).
final class Signal: Sendable {
    private let state = NIOLockedValueBox<(count: Int, waiters: [(Int, CheckedContinuation<Void, Never>)])>((0, []))

    func fire() {
        let ready = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.count += 1
            let count = state.count
            let ready = state.waiters.filter { $0.0 <= count }.map(\.1)
            state.waiters.removeAll { $0.0 <= count }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    var count: Int { state.withLockedValue { $0.count } }

    /// Waits until `fire()` has been called `times` times in all.
    func wait(times: Int = 1, timeout: Duration = .seconds(10), _ what: String = "signal") async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLockedValue { state -> Bool in
                        if state.count >= times { return true }
                        state.waiters.append((times, continuation))
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TestTimeout(what: what)
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

struct TestTimeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Holds handlers until the test opens it.
final class Gate: Sendable {
    private let state = NIOLockedValueBox<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLockedValue { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// What the test service's handlers report.
final class Probe: Sendable {
    let started = Signal()
    let cancelled = Signal()
    let gate = Gate()
}

typealias Ping = Keel_Wire_V1_Ping
typealias Pong = Keel_Wire_V1_Pong

/// A test service on the wire messages themselves (any message type would do).
enum TestMethod {
    static let echo = "/test.v1.Echo/Echo"                // Ping{n} → Pong{2n+1}
    static let block = "/test.v1.Echo/Block"              // waits for the probe's gate
    static let awaitCancel = "/test.v1.Echo/AwaitCancel"  // runs until cancelled
    static let fail = "/test.v1.Echo/Fail"                // a domain error with a field
    static let requestID = "/test.v1.Echo/RequestID"      // answers the call's x-request-id
    static let big = "/test.v1.Echo/Big"                  // Ping{n} → HealthCheckRequest of n bytes
    static let count = "/test.v1.Echo/Count"              // Ping{n} → stream Pong{0..<n}
    static let endless = "/test.v1.Echo/Endless"          // stream until cancelled
    static let inlineEcho = "/test.v1.Echo/InlineEcho"    // echo, answered on the event loop
    static let inlineFail = "/test.v1.Echo/InlineFail"    // fail, answered on the event loop
    static let logged = "/test.v1.Echo/Logged"            // the call logger's request_id and method
}

func makeTestRouter(_ probe: Probe, health: HealthService? = nil) -> RPCRouter {
    var router = RPCRouter()
    router.unary(TestMethod.echo) { (request: Ping, _: ServerContext) -> Pong in
        if request.nonce % 7 == 0 { await Task.yield() }
        return .with { $0.nonce = request.nonce &* 2 &+ 1 }
    }
    router.unary(TestMethod.block) { (request: Ping, _: ServerContext) -> Pong in
        probe.started.fire()
        await probe.gate.wait()
        return .with { $0.nonce = request.nonce }
    }
    router.unary(TestMethod.awaitCancel) { (_: Ping, _: ServerContext) -> Pong in
        probe.started.fire()
        do {
            try await Task.sleep(for: .seconds(600))
        } catch {
            probe.cancelled.fire()
            throw error
        }
        return Pong()
    }
    router.unary(TestMethod.fail) { (_: Ping, _: ServerContext) -> Pong in
        throw RPCError(.failedPrecondition, "mark is bad", reason: "E_TEST", metadata: ["field": "positions[3].mark", "world_id": "w1"])
    }
    router.unary(TestMethod.requestID) { (_: Ping, context: ServerContext) -> Keel_Health_V1_HealthCheckRequest in
        .with { $0.service = context.requestID }
    }
    router.unary(TestMethod.big) { (request: Ping, _: ServerContext) -> Keel_Health_V1_HealthCheckRequest in
        .with { $0.service = String(repeating: "x", count: Int(request.nonce)) }
    }
    router.serverStreaming(TestMethod.count) { (request: Ping, writer: ResponseStreamWriter<Pong>, _: ServerContext) in
        for i in 0..<request.nonce { try await writer.send(.with { $0.nonce = i }) }
    }
    router.serverStreaming(TestMethod.endless) { (_: Ping, writer: ResponseStreamWriter<Pong>, _: ServerContext) in
        probe.started.fire()
        var i: UInt64 = 0
        do {
            while true {
                try await writer.send(.with { $0.nonce = i })
                i += 1
            }
        } catch {
            probe.cancelled.fire()
            throw error
        }
    }
    router.unaryOnEventLoop(TestMethod.inlineEcho) { (request: Ping, _: ServerContext) -> Pong in
        .with { $0.nonce = request.nonce &* 2 &+ 1 }
    }
    router.unaryOnEventLoop(TestMethod.inlineFail) { (_: Ping, _: ServerContext) -> Pong in
        throw RPCError(.failedPrecondition, "mark is bad", reason: "E_TEST", metadata: ["field": "positions[3].mark"])
    }
    router.unary(TestMethod.logged) { (_: Ping, context: ServerContext) -> Keel_Health_V1_HealthCheckRequest in
        .with { $0.service = "\(context.logger[metadataKey: "request_id"] ?? "-") \(context.logger[metadataKey: "method"] ?? "-")" }
    }
    (health ?? HealthService()).register(into: &router)
    return router
}

/// Runs `body` against a started server and always shuts the server down.
func withServer<T>(
    _ configuration: KWPServer.Configuration = KWPServer.Configuration(),
    probe: Probe = Probe(), health: HealthService? = nil,
    _ body: (KWPServer, Int) async throws -> T
) async throws -> T {
    let server = KWPServer(configuration: configuration, router: makeTestRouter(probe, health: health))
    let address = try await server.start()
    do {
        let result = try await body(server, address.port!)
        probe.gate.open()
        await server.shutdown(drainTimeout: .seconds(2))
        return result
    } catch {
        probe.gate.open()
        await server.shutdown(drainTimeout: .milliseconds(200))
        throw error
    }
}

/// Runs `body` with a client and always closes it.
func withClient<T>(port: Int, configuration: KWPClient.Configuration = KWPClient.Configuration(), _ body: (KWPClient) async throws -> T) async throws -> T {
    try await withStarted({ KWPClient(host: "127.0.0.1", port: port, configuration: configuration) }, stop: { await $0.close() }, body)
}

/// Expects `body` to fail with an `RPCError` of `code` and answers it.
@discardableResult
func expectRPCError(_ code: StatusCode, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async -> RPCError? {
    do {
        try await body()
        Issue.record("expected \(code.name), the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as RPCError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected RPCError \(code.name), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// A connection that speaks raw bytes, for protocol tests the real client would never send.
struct RawSession {
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    var buffer = ByteBuffer()

    static func run<T: Sendable>(port: Int, _ body: (inout RawSession) async throws -> T) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var session = RawSession(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(&session)
        }
    }

    func send(bytes: [UInt8]) async throws {
        try await outbound.write(ByteBuffer(bytes: bytes))
    }

    func send(_ frame: Frame) async throws {
        var buffer = ByteBuffer()
        try FrameEncoder.encode(frame, into: &buffer)
        try await outbound.write(buffer)
    }

    func sendHello(protocol name: String = KWP.protocolName, maxFrameBytes: UInt32 = KWP.defaultMaxFrameBytes) async throws {
        var frame = Frame()
        frame.hello = .with {
            $0.protocol = name
            $0.maxFrameBytes = maxFrameBytes
            $0.peer = "raw-test"
        }
        try await send(frame)
    }

    func sendRequest(callID: UInt64, method: String, body: Ping = Ping(), timeoutMs: UInt32 = 0, metadata: [String: String] = [:]) async throws {
        var frame = Frame()
        frame.callID = callID
        frame.request = .with {
            $0.method = method
            $0.body = try! body.serializedBytes()
            $0.timeoutMs = timeoutMs
            $0.metadata = metadata
        }
        try await send(frame)
    }

    /// The next frame, or nil when the server closed the connection.
    mutating func nextFrame() async throws -> Frame? {
        while true {
            if let frame = try FrameReader.nextFrame(from: &buffer, maxFrameBytes: 64 * 1024 * 1024) { return frame }
            guard var more = try await inbound.next() else { return nil }
            buffer.writeBuffer(&more)
        }
    }

    /// Says Hello and reads the server's.
    mutating func handshake() async throws -> Keel_Wire_V1_Hello {
        try await sendHello()
        let frame = try await nextFrame()
        guard case .hello(let hello)? = frame?.kind else {
            throw TestTimeout(what: "server Hello, got \(String(describing: frame))")
        }
        return hello
    }

    /// Reads until the server closes, answering the frames it sent on the way.
    mutating func framesUntilClosed() async throws -> [Frame] {
        var frames: [Frame] = []
        while let frame = try await nextFrame() { frames.append(frame) }
        return frames
    }

    /// As `framesUntilClosed`, but a reset counts as closed: a server that closes while our
    /// bytes are still arriving makes the kernel answer with RST, which can drop its last frame.
    mutating func framesUntilClosedOrReset() async throws -> [Frame] {
        var frames: [Frame] = []
        do {
            while let frame = try await nextFrame() { frames.append(frame) }
        } catch let error as IOError where error.errnoCode == ECONNRESET {
            return frames
        }
        return frames
    }
}

import Contracts
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwiftProtobuf
import struct Foundation.Data

/// A KWP/1 client for one target. It keeps one connection, reconnects with capped exponential
/// backoff and jitter after losing it, and fails calls fast with UNAVAILABLE while disconnected.
/// It never retries a call by itself: a call that may have reached the server is the caller's
/// to retry (with an `idempotency-key` where the method is not idempotent).
public final class KWPClient: Sendable {
    public struct Backoff: Sendable {
        public var initial: TimeAmount
        public var maximum: TimeAmount
        public var multiplier: Double
        /// ± this fraction of each delay, at random, so that many clients do not reconnect in step.
        public var jitter: Double

        public init(initial: TimeAmount = .milliseconds(100), maximum: TimeAmount = .seconds(5), multiplier: Double = 2, jitter: Double = 0.2) {
            self.initial = initial
            self.maximum = maximum
            self.multiplier = multiplier
            self.jitter = jitter
        }

        /// The delay before reconnect attempt `attempt` (0-based).
        public func delay(attempt: Int) -> TimeAmount {
            let base = Double(initial.nanoseconds) * pow(multiplier, Double(min(attempt, 62)))
            let capped = min(base, Double(maximum.nanoseconds))
            let spread = capped * jitter
            let jittered = capped + Double.random(in: -spread...spread)
            return .nanoseconds(Int64(max(0, jittered)))
        }
    }

    public struct Configuration: Sendable {
        /// Sent as `authorization: Bearer <token>` on every call.
        public var token: String?
        /// Sent as `Hello.peer`.
        public var peerName: String
        /// The largest frame this client accepts (announced in its Hello).
        public var maxFrameBytes: UInt32
        public var connectTimeout: TimeAmount
        public var backoff: Backoff

        public init(token: String? = nil, peerName: String = "keel-client", maxFrameBytes: UInt32 = KWP.defaultMaxFrameBytes,
                    connectTimeout: TimeAmount = .seconds(5), backoff: Backoff = Backoff()) {
            self.token = token
            self.peerName = peerName
            self.maxFrameBytes = maxFrameBytes
            self.connectTimeout = connectTimeout
            self.backoff = backoff
        }
    }

    public let host: String
    public let port: Int
    public let configuration: Configuration
    private let manager: NIOLoopBoundBox<ConnectionManager>
    private let eventLoop: any EventLoop

    public init(host: String, port: Int, configuration: Configuration = Configuration(),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "keel.wire.client")) {
        self.host = host
        self.port = port
        self.configuration = configuration
        let eventLoop = group.next()
        self.eventLoop = eventLoop
        var logger = logger
        logger[metadataKey: "target"] = "\(host):\(port)"
        self.manager = NIOLoopBoundBox.makeBoxSendingValue(
            ConnectionManager(host: host, port: port, configuration: configuration, eventLoop: eventLoop, logger: logger), eventLoop: eventLoop)
    }

    /// `host:port` as used by the `--planner`/`--gateway` flags.
    public convenience init(target: String, configuration: Configuration = Configuration(),
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            logger: Logger = Logger(label: "keel.wire.client")) throws {
        guard let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...]), (0...65535).contains(port) else {
            throw RPCError(.invalidArgument, "target \"\(target)\" is not host:port")
        }
        var host = String(target[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.init(host: host, port: port, configuration: configuration, group: group, logger: logger)
    }

    // MARK: calls

    /// One request, one response. Throws `RPCError` for every non-OK outcome, including local ones
    /// (DEADLINE_EXCEEDED when `timeout` passes, UNAVAILABLE while disconnected, CANCELLED when the
    /// calling task is cancelled).
    public func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String, _ request: Request, as response: Response.Type = Response.self,
        metadata: [String: String] = [:], timeout: TimeAmount? = nil
    ) async throws(RPCError) -> Response {
        let body = try Self.encode(request)
        let reply = try await unaryBytes(method, body: body, metadata: metadata, timeout: timeout)
        do {
            return try Response(serializedBytes: reply)
        } catch {
            throw RPCError(.undecodableResponse, "response does not decode as \(Response.protoMessageName): \(error)")
        }
    }

    /// A unary call of one of Keel's RPCs.
    public func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ rpc: RPCDescriptor, _ request: Request, as response: Response.Type = Response.self,
        metadata: [String: String] = [:], timeout: TimeAmount? = nil
    ) async throws(RPCError) -> Response {
        try await unary(rpc.path, request, as: response, metadata: metadata, timeout: timeout)
    }

    /// A unary call with the bodies as bytes (the CLI and proxies use it).
    public func unaryBytes(_ method: String, body: Data, metadata: [String: String] = [:], timeout: TimeAmount? = nil) async throws(RPCError) -> Data {
        let metadata = withToken(metadata)
        let token = CallCancellation()
        let manager = self.manager
        let eventLoop = self.eventLoop
        do {
            return try await withTaskCancellationHandler {
                let promise = eventLoop.makePromise(of: Data.self)
                eventLoop.execute {
                    manager.value.start(method: method, metadata: metadata, timeout: timeout, body: body, sink: .unary(promise, reply: nil), cancellation: token)
                }
                return try await promise.futureResult.get()
            } onCancel: {
                token.cancel(on: eventLoop)
            }
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.unknown, "\(error)")
        }
    }

    /// A server-streaming call: the replies in order, ending with the call's status (an `RPCError`
    /// for a non-OK one). Stopping the iteration early cancels the call on the server.
    public func serverStream<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String, _ request: Request, as response: Response.Type = Response.self,
        metadata: [String: String] = [:], timeout: TimeAmount? = nil
    ) -> ResponseStream<Response> {
        do {
            return ResponseStream(raw: serverStreamBytes(method, body: try Self.encode(request), metadata: metadata, timeout: timeout))
        } catch {
            let (stream, continuation) = AsyncThrowingStream<Data, Error>.makeStream()
            continuation.finish(throwing: error)
            return ResponseStream(raw: RawResponseStream(bytes: stream, cancellation: CallCancellation(), eventLoop: eventLoop))
        }
    }

    /// A server-streaming call with the bodies as bytes (the CLI uses it).
    public func serverStreamBytes(_ method: String, body: Data, metadata: [String: String] = [:], timeout: TimeAmount? = nil) -> RawResponseStream {
        let metadata = withToken(metadata)
        let token = CallCancellation()
        let manager = self.manager
        let eventLoop = self.eventLoop
        let (stream, continuation) = AsyncThrowingStream<Data, Error>.makeStream()
        continuation.onTermination = { termination in
            if case .cancelled = termination { token.cancel(on: eventLoop) }
        }
        eventLoop.execute {
            manager.value.start(method: method, metadata: metadata, timeout: timeout, body: body, sink: .stream(continuation), cancellation: token)
        }
        return RawResponseStream(bytes: stream, cancellation: token, eventLoop: eventLoop)
    }

    public func serverStream<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ rpc: RPCDescriptor, _ request: Request, as response: Response.Type = Response.self,
        metadata: [String: String] = [:], timeout: TimeAmount? = nil
    ) -> ResponseStream<Response> {
        serverStream(rpc.path, request, as: response, metadata: metadata, timeout: timeout)
    }

    // MARK: connection

    public enum Connectivity: Sendable, Equatable {
        case idle, connecting, ready, transientFailure, shutdown
    }

    public var connectivity: Connectivity {
        get async {
            let manager = self.manager
            return (try? await eventLoop.submit { manager.value.connectivity }.get()) ?? .shutdown
        }
    }

    /// Connects now (if not connected) and waits until the connection is ready, across failed
    /// attempts and their backoff, for at most `timeout`.
    public func waitUntilReady(timeout: TimeAmount) async throws(RPCError) {
        let manager = self.manager
        let promise = eventLoop.makePromise(of: Void.self)
        eventLoop.execute { manager.value.waitUntilReady(promise, timeout: timeout) }
        do {
            try await promise.futureResult.get()
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.unavailable, "\(error)")
        }
    }

    /// Measures the round-trip time of a Ping on the connection (connecting first if needed).
    public func ping(timeout: TimeAmount = .seconds(5)) async throws(RPCError) -> TimeAmount {
        try await waitUntilReady(timeout: timeout)
        let manager = self.manager
        let promise = eventLoop.makePromise(of: TimeAmount.self)
        eventLoop.execute { manager.value.ping(promise) }
        let timer = eventLoop.scheduleTask(in: timeout) { promise.fail(RPCError(.deadlineExceeded, "no Pong within \(timeout.nanoseconds / 1_000_000) ms")) }
        defer { timer.cancel() }
        do {
            return try await promise.futureResult.get()
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.unavailable, "\(error)")
        }
    }

    /// Closes the connection; calls fail with UNAVAILABLE afterwards.
    public func close() async {
        let manager = self.manager
        let future = eventLoop.flatSubmit { manager.value.shutdown() }
        try? await future.get()
    }

    private func withToken(_ metadata: [String: String]) -> [String: String] {
        guard let token = configuration.token, metadata[MetadataKey.authorization] == nil else { return metadata }
        var all = metadata
        all[MetadataKey.authorization] = "Bearer \(token)"
        return all
    }

    private static func encode<M: SwiftProtobuf.Message>(_ message: M) throws(RPCError) -> Data {
        do {
            return try message.serializedBytes()
        } catch {
            throw RPCError(.invalidArgument, "request does not encode: \(error)")
        }
    }
}

/// The encoded replies of a server-streaming call.
public struct RawResponseStream: AsyncSequence, Sendable {
    public typealias Element = Data
    let bytes: AsyncThrowingStream<Data, Error>
    let cancellation: CallCancellation
    let eventLoop: any EventLoop

    public func makeAsyncIterator() -> AsyncThrowingStream<Data, Error>.AsyncIterator { bytes.makeAsyncIterator() }

    /// Ends the call: the server stops the handler, iteration ends with CANCELLED.
    public func cancel() { cancellation.cancel(on: eventLoop) }
}

/// The replies of a server-streaming call.
public struct ResponseStream<Response: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    public typealias Element = Response
    let raw: RawResponseStream

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<Data, Error>.AsyncIterator

        public mutating func next() async throws -> Response? {
            guard let body = try await base.next() else { return nil }
            do {
                return try Response(serializedBytes: body)
            } catch {
                throw RPCError(.undecodableResponse, "stream message does not decode as \(Response.protoMessageName): \(error)")
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: raw.makeAsyncIterator()) }

    /// Ends the call: the server stops the handler, iteration ends with CANCELLED.
    public func cancel() { raw.cancel() }
}

/// Links a call to the connection that carries it, so that cancelling the caller's task (or a
/// stream) reaches the right call, even when it happens before the call has started.
final class CallCancellation: Sendable {
    private struct State {
        var cancelled = false
        var started: (handler: NIOLoopBound<ClientConnectionHandler>, callID: UInt64)?
    }

    private let state = NIOLockedValueBox(State())

    /// Called on the event loop when the call starts; false when it was cancelled already.
    func started(handler: NIOLoopBound<ClientConnectionHandler>, callID: UInt64) -> Bool {
        state.withLockedValue { state in
            if state.cancelled { return false }
            state.started = (handler, callID)
            return true
        }
    }

    var isCancelled: Bool { state.withLockedValue { $0.cancelled } }

    func cancel(on eventLoop: any EventLoop) {
        let started = state.withLockedValue { state -> (handler: NIOLoopBound<ClientConnectionHandler>, callID: UInt64)? in
            state.cancelled = true
            return state.started
        }
        guard let started else { return }
        eventLoop.execute {
            started.handler.value.cancel(callID: started.callID, with: RPCError(.cancelled, "the call was cancelled by the caller"))
        }
    }
}

/// The connection state machine of one client, confined to its event loop:
/// idle → connecting → ready → (lost) → transientFailure → (backoff) → connecting …
final class ConnectionManager {
    private enum State {
        case idle
        case connecting
        case ready(any Channel, ClientConnectionHandler)
        case transientFailure(RPCError)
        case shutdown
    }

    private struct PendingCall {
        let method: String
        let metadata: [String: String]
        let timeout: TimeAmount?
        let body: Data
        let sink: ClientCallSink
        let cancellation: CallCancellation
    }

    private let host: String
    private let port: Int
    private let configuration: KWPClient.Configuration
    private let eventLoop: any EventLoop
    private let logger: Logger
    private var state = State.idle
    private var attempt = 0
    private var pending: [PendingCall] = []
    private var readyWaiters: [EventLoopPromise<Void>] = []
    private var reconnectTimer: Scheduled<Void>?

    init(host: String, port: Int, configuration: KWPClient.Configuration, eventLoop: any EventLoop, logger: Logger) {
        self.host = host
        self.port = port
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
    }

    var connectivity: KWPClient.Connectivity {
        switch state {
        case .idle: .idle
        case .connecting: .connecting
        case .ready: .ready
        case .transientFailure: .transientFailure
        case .shutdown: .shutdown
        }
    }

    func start(method: String, metadata: [String: String], timeout: TimeAmount?, body: Data, sink: ClientCallSink, cancellation: CallCancellation) {
        let call = PendingCall(method: method, metadata: metadata, timeout: timeout, body: body, sink: sink, cancellation: cancellation)
        switch state {
        case .ready(_, let handler) where handler.isAcceptingCalls:
            run(call, on: handler)
        case .ready:
            // The server said GoAway on this connection: new calls go to a new one.
            state = .idle
            pending.append(call)
            connect()
        case .idle:
            pending.append(call)
            connect()
        case .connecting:
            pending.append(call)
        case .transientFailure(let error):
            sink.fail(RPCError(.unavailable, "not connected to \(host):\(port): \(error.message)"))
        case .shutdown:
            sink.fail(RPCError(.unavailable, "the client is closed"))
        }
    }

    private func run(_ call: PendingCall, on handler: ClientConnectionHandler) {
        if call.cancellation.isCancelled {
            call.sink.fail(RPCError(.cancelled, "the call was cancelled by the caller"))
            return
        }
        guard let callID = handler.startCall(method: call.method, metadata: call.metadata, timeout: call.timeout, body: call.body, sink: call.sink) else { return }
        if !call.cancellation.started(handler: NIOLoopBound(handler, eventLoop: eventLoop), callID: callID) {
            handler.cancel(callID: callID, with: RPCError(.cancelled, "the call was cancelled by the caller"))
        }
    }

    func ping(_ promise: EventLoopPromise<TimeAmount>) {
        guard case .ready(_, let handler) = state else {
            promise.fail(RPCError(.unavailable, "not connected to \(host):\(port)"))
            return
        }
        handler.ping(promise)
    }

    func waitUntilReady(_ promise: EventLoopPromise<Void>, timeout: TimeAmount) {
        switch state {
        case .ready(_, let handler) where handler.isAcceptingCalls:
            promise.succeed()
            return
        case .shutdown:
            promise.fail(RPCError(.unavailable, "the client is closed"))
            return
        case .idle, .ready:
            state = .idle
            connect()
        case .connecting, .transientFailure:
            break
        }
        readyWaiters.append(promise)
        let target = "\(host):\(port)"
        let timer = eventLoop.scheduleTask(in: timeout) {
            promise.fail(RPCError(.deadlineExceeded, "not connected to \(target) within \(timeout.nanoseconds / 1_000_000) ms"))
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
    }

    func shutdown() -> EventLoopFuture<Void> {
        reconnectTimer?.cancel()
        let previous = state
        state = .shutdown
        failPending(RPCError(.unavailable, "the client is closed"))
        failReadyWaiters(RPCError(.unavailable, "the client is closed"))
        if case .ready(let channel, _) = previous {
            return channel.close().recover { _ in }
        }
        return eventLoop.makeSucceededVoidFuture()
    }

    private func connect() {
        guard case .idle = state else { return }
        state = .connecting
        reconnectTimer?.cancel()
        let configuration = self.configuration
        let eventLoop = self.eventLoop
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let handler = NIOLoopBound(
            ClientConnectionHandler(eventLoop: eventLoop, maxFrameBytes: configuration.maxFrameBytes, peerName: configuration.peerName, logger: logger),
            eventLoop: eventLoop)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler.value)
                }
            }
            .connect(host: host, port: port)
            .flatMap { channel in
                // The connection is ready once the server's Hello arrives.
                let ready = handler.value.ready.futureResult
                let timer = eventLoop.scheduleTask(in: configuration.connectTimeout) {
                    handler.value.ready.fail(RPCError(.unavailable, "no Hello from the server"))
                }
                ready.whenComplete { _ in timer.cancel() }
                ready.whenFailure { _ in channel.close(promise: nil) }
                return ready.map { channel }
            }
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    bound.value.connected(channel: channel, handler: handler.value)
                case .failure(let error):
                    bound.value.connectFailed(error)
                }
            }
    }

    private func connected(channel: any Channel, handler: ClientConnectionHandler) {
        guard case .connecting = state else {
            channel.close(promise: nil)
            return
        }
        attempt = 0
        state = .ready(channel, handler)
        logger.debug("connected")
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        handler.onGoAway = { [weak handler] in
            guard let handler else { return }
            bound.value.goAwayReceived(on: handler)
        }
        let boundHandler = NIOLoopBound(handler, eventLoop: eventLoop)
        channel.closeFuture.whenComplete { _ in bound.value.connectionClosed(boundHandler.value) }
        let calls = pending
        pending.removeAll()
        for call in calls { run(call, on: handler) }
        let waiters = readyWaiters
        readyWaiters.removeAll()
        for waiter in waiters { waiter.succeed() }
    }

    private func connectFailed(_ error: Error) {
        guard case .connecting = state else { return }
        let rpcError = (error as? RPCError) ?? RPCError(.unavailable, "cannot connect to \(host):\(port): \(error)")
        logger.debug("connect failed", metadata: ["error": "\(rpcError.message)"])
        failPending(RPCError(.unavailable, rpcError.message))
        enterTransientFailure(rpcError)
    }

    private func goAwayReceived(on handler: ClientConnectionHandler) {
        if case .ready(_, let current) = state, current === handler {
            // In-flight calls finish on the old connection; the next call connects anew.
            state = .idle
        }
    }

    private func connectionClosed(_ handler: ClientConnectionHandler) {
        if case .ready(_, let current) = state, current === handler {
            logger.debug("connection lost")
            enterTransientFailure(RPCError(.unavailable, "the connection was lost"))
        }
    }

    private func enterTransientFailure(_ error: RPCError) {
        state = .transientFailure(error)
        let delay = configuration.backoff.delay(attempt: attempt)
        attempt += 1
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        reconnectTimer = eventLoop.scheduleTask(in: delay) {
            let manager = bound.value
            guard case .transientFailure = manager.state else { return }
            manager.state = .idle
            manager.connect()
        }
    }

    private func failPending(_ error: RPCError) {
        let calls = pending
        pending.removeAll()
        for call in calls { call.sink.fail(error) }
    }

    private func failReadyWaiters(_ error: RPCError) {
        let waiters = readyWaiters
        readyWaiters.removeAll()
        for waiter in waiters { waiter.fail(error) }
    }
}

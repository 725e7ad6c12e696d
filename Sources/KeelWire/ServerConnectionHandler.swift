import Contracts
import Logging
import NIOCore
import struct Foundation.Data

/// The server side of one KWP/1 connection, confined to its event loop: the Hello handshake, the
/// table of open calls by `call_id`, deadlines, Cancel, Ping, the concurrency limit, idle close and
/// the GoAway drain. Each call's handler runs in its own task; only its result comes back here.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Configuration: Sendable {
        var maxFrameBytes: UInt32
        var maxConcurrentCalls: Int
        var idleTimeout: TimeAmount
        var helloTimeout: TimeAmount
        var authenticator: BearerTokenAuthenticator?
        var serverName: String
    }

    private enum State { case awaitingHello, open, draining, closed }

    private struct Call {
        let serial: UInt64
        var task: Task<Void, Never>?
        var deadlineTimer: Scheduled<Void>?
    }

    private let router: RPCRouter
    private var frames: FrameReader
    private let flushes = CoalescedFlush()
    private let configuration: Configuration
    private let logger: Logger
    private var state = State.awaitingHello
    private var calls: [UInt64: Call] = [:]
    private var nextSerial: UInt64 = 0
    private var lastAcceptedCallID: UInt64 = 0
    private var peerMaxFrameBytes = KWP.defaultMaxFrameBytes
    private var context: ChannelHandlerContext?
    private var writabilityWaiters: [EventLoopPromise<Void>] = []
    private var lastActivity = NIODeadline.now()
    private var idleTimer: Scheduled<Void>?
    private var helloTimer: Scheduled<Void>?
    private var requestIDs = RequestID.Generator()

    init(router: RPCRouter, configuration: Configuration, logger: Logger) {
        self.router = router
        self.frames = FrameReader(maxFrameBytes: configuration.maxFrameBytes)
        self.configuration = configuration
        self.logger = logger
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        lastActivity = .now()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        helloTimer = context.eventLoop.scheduleTask(in: configuration.helloTimeout) {
            bound.value.helloTimedOut()
        }
        // The idle clock starts with the handshake; until then the Hello timeout applies.
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        helloTimer?.cancel()
        idleTimer?.cancel()
        for (_, call) in calls {
            call.deadlineTimer?.cancel()
            call.task?.cancel()
        }
        calls.removeAll()
        failWritabilityWaiters()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            let waiters = writabilityWaiters
            writabilityWaiters.removeAll()
            for waiter in waiters { waiter.succeed() }
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard state != .closed else { return }
        frames.append(unwrapInboundIn(data))
        do throws(FrameError) {
            while state != .closed, let frame = try frames.next() { read(frame, context: context) }
        } catch {
            logger.info("closing connection: protocol error", metadata: ["error": "\(error)"])
            goAwayAndClose(error.statusCode, error.description)
        }
    }

    private func read(_ frame: Frame, context: ChannelHandlerContext) {
        lastActivity = .now()
        switch state {
        case .closed:
            return
        case .awaitingHello:
            guard case .hello(let hello) = frame.kind else {
                goAwayAndClose(.invalidArgument, "the first frame must be Hello")
                return
            }
            guard hello.protocol == KWP.protocolName else {
                goAwayAndClose(.failedPrecondition, "unsupported protocol \"\(hello.protocol)\"; this server speaks \(KWP.protocolName)")
                return
            }
            helloTimer?.cancel()
            if hello.maxFrameBytes > 0 { peerMaxFrameBytes = hello.maxFrameBytes }
            state = .open
            context.writeFrame(.hello(maxFrameBytes: configuration.maxFrameBytes, peer: configuration.serverName), flush: true)
            scheduleIdleCheck(at: lastActivity + configuration.idleTimeout)
        case .open, .draining:
            switch frame.kind {
            case .request(let request):
                accept(callID: frame.callID, request: request)
            case .cancel:
                cancel(callID: frame.callID)
            case .ping(let ping):
                var pong = Frame()
                pong.pong = .with { $0.nonce = ping.nonce }
                context.writeFrame(pong, flush: true)
            case .pong, .goAway:
                // A client's GoAway only says it sends no new calls; nothing to do.
                break
            case .hello:
                goAwayAndClose(.invalidArgument, "Hello may only be the first frame")
            case .response, .status:
                goAwayAndClose(.invalidArgument, "a client does not send Response or Status frames")
            case .none:
                // A frame kind from a newer protocol revision: ignored.
                break
            }
        }
    }

    // MARK: calls

    private func accept(callID: UInt64, request: Keel_Wire_V1_Request) {
        guard callID != 0 else {
            goAwayAndClose(.invalidArgument, "call_id 0 is reserved for connection frames")
            return
        }
        if state == .draining {
            writeStatus(callID, RPCError(.goingAway, "the server is shutting down; no new calls on this connection"))
            return
        }
        if calls[callID] != nil {
            writeStatus(callID, RPCError(.duplicateCallId, "call_id \(callID) is already open on this connection", metadata: ["field": "call_id"]))
            return
        }
        if calls.count >= configuration.maxConcurrentCalls {
            writeStatus(callID, RPCError(.tooManyCalls, "more than \(configuration.maxConcurrentCalls) concurrent calls on one connection"))
            return
        }
        if let key = MetadataValidation.firstInvalidKey(request.metadata) {
            writeStatus(callID, RPCError(.invalidMetadata, "metadata keys must be lower-case ASCII", metadata: ["field": "metadata[\(key)]"]))
            return
        }
        if let authenticator = configuration.authenticator, router.requiresAuthentication(request.method),
           !authenticator.isAuthorized(request.metadata[MetadataKey.authorization]) {
            writeStatus(callID, RPCError(.notAuthenticated, "missing or wrong bearer token", metadata: ["field": MetadataKey.authorization]))
            return
        }
        guard let handler = router.handler(for: request.method) else {
            writeStatus(callID, RPCError(.unknownMethod, "unknown method \(request.method)", metadata: ["method": request.method]))
            return
        }

        let requestID = request.metadata[MetadataKey.requestID].flatMap { $0.isEmpty ? nil : $0 } ?? requestIDs.next()
        let deadline = request.timeoutMs > 0 ? NIODeadline.now() + .milliseconds(Int64(request.timeoutMs)) : nil
        let serverContext = ServerContext(method: request.method, metadata: request.metadata, requestID: requestID, deadline: deadline, logger: logger)
        let callLogger = CallLogger(serverContext)

        nextSerial += 1
        let serial = nextSerial
        lastAcceptedCallID = max(lastAcceptedCallID, callID)
        calls[callID] = Call(serial: serial)
        // Cancelled once, when the connection stops being idle: a cancel searches the loop's timers.
        if let idleTimer {
            idleTimer.cancel()
            self.idleTimer = nil
        }

        let eventLoop = context!.eventLoop
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let body = request.body
        let task: Task<Void, Never>
        switch handler {
        case .unaryOnEventLoop(let run):
            let result: Result<[UInt8], Error>
            do { result = .success(try run(body, serverContext)) } catch { result = .failure(error) }
            finish(callID: callID, serial: serial, result: result, logger: callLogger)
            return
        case .unary(let run):
            task = Task {
                let result: Result<[UInt8], Error>
                do { result = .success(try await run(body, serverContext)) } catch { result = .failure(error) }
                eventLoop.execute { bound.value.finish(callID: callID, serial: serial, result: result, logger: callLogger) }
            }
        case .serverStreaming(let run):
            let sink = StreamSink(handler: bound, eventLoop: eventLoop, callID: callID, serial: serial)
            task = Task {
                let result: Result<[UInt8]?, Error>
                do {
                    try await run(body, sink, serverContext)
                    result = .success(nil)
                } catch { result = .failure(error) }
                eventLoop.execute { bound.value.finish(callID: callID, serial: serial, result: result, logger: callLogger) }
            }
        }
        calls[callID]?.task = task
        if let deadline {
            calls[callID]?.deadlineTimer = eventLoop.scheduleTask(deadline: deadline) {
                bound.value.deadlineExceeded(callID: callID, serial: serial, logger: callLogger)
            }
        }
    }

    private func isCurrent(_ callID: UInt64, _ serial: UInt64) -> Bool {
        calls[callID]?.serial == serial
    }

    private func finish(callID: UInt64, serial: UInt64, result: Result<[UInt8], Error>, logger: CallLogger) {
        finish(callID: callID, serial: serial, result: result.map { Optional($0) }, logger: logger)
    }

    private func finish(callID: UInt64, serial: UInt64, result: Result<[UInt8]?, Error>, logger: CallLogger) {
        guard isCurrent(callID, serial), context != nil else { return }
        let call = calls.removeValue(forKey: callID)
        call?.deadlineTimer?.cancel()
        switch result {
        case .success(let body):
            if let body {
                if let tooLarge = oversize(body) {
                    writeStatus(callID, tooLarge)
                } else {
                    writeUnaryAnswer(callID: callID, body: body)
                }
            } else {
                writeSoon(.okStatus(callID: callID))
            }
            logger.debug("call ok")
        case .failure(let error as RPCError):
            logger.debug("call failed", metadata: ["status": "\(error.code.name)", "reason": "\(error.reason)"])
            writeStatus(callID, error)
        case .failure(let error as FieldError):
            writeStatus(callID, RPCError(error))
        case .failure(is CancellationError):
            writeStatus(callID, RPCError(.cancelled, "the call was cancelled"))
        case .failure(let error as UnreadableStoredValue):
            logger.context.logger.storedValueUnreadable(error)
            writeStatus(callID, RPCError(error))
        case .failure(let error):
            logger.error("handler failed", metadata: ["error": "\(error)"])
            writeStatus(callID, RPCError(.internalError, "internal error"))
        }
        callEnded()
    }

    private func deadlineExceeded(callID: UInt64, serial: UInt64, logger: CallLogger) {
        guard isCurrent(callID, serial) else { return }
        let call = calls.removeValue(forKey: callID)
        call?.task?.cancel()
        logger.info("deadline exceeded; handler cancelled")
        writeStatus(callID, RPCError(.deadlineExceeded, "the call's deadline passed before it finished"))
        callEnded()
    }

    private func cancel(callID: UInt64) {
        guard let call = calls.removeValue(forKey: callID) else { return }
        call.deadlineTimer?.cancel()
        call.task?.cancel()
        callEnded()
    }

    private func callEnded() {
        lastActivity = .now()
        if calls.isEmpty {
            if state == .draining {
                // The last answers may still wait for their coalesced flush.
                context?.flush()
                context?.close(promise: nil)
            } else {
                scheduleIdleCheck(at: lastActivity + configuration.idleTimeout)
            }
        }
    }

    /// A streamed message: written when the call is still open; the returned future completes when
    /// the channel can take more.
    fileprivate func writeStreamMessages(callID: UInt64, serial: UInt64, bodies: [[UInt8]]) -> EventLoopFuture<Void> {
        let context = self.context!  // set in handlerAdded, before any call can exist
        guard isCurrent(callID, serial), state != .closed else { return context.eventLoop.makeFailedFuture(CancellationError()) }
        for body in bodies {
            if let tooLarge = oversize(body) { return context.eventLoop.makeFailedFuture(tooLarge) }
            writeSoon(.response(callID: callID, body: body))
        }
        if context.channel.isWritable { return context.eventLoop.makeSucceededVoidFuture() }
        let promise = context.eventLoop.makePromise(of: Void.self)
        writabilityWaiters.append(promise)
        return promise.futureResult
    }

    private func oversize(_ body: [UInt8]) -> RPCError? {
        // The frame adds the call id and field tags: 32 bytes is a safe bound for that overhead.
        guard body.count + 32 > peerMaxFrameBytes else { return nil }
        return RPCError(.frameTooLarge, "response of \(body.count) bytes exceeds the client's max_frame_bytes \(peerMaxFrameBytes)")
    }

    private func writeStatus(_ callID: UInt64, _ error: RPCError) {
        writeSoon(.status(callID: callID, error.status))
    }

    /// Writes now; the flush is shared with whatever else this turn of the event loop writes.
    private func writeSoon(_ frame: Frame) {
        guard let context else { return }
        context.writeFrame(frame)
        flushes.request(on: context.eventLoop) { self.context?.flush() }
    }

    /// A unary call's Response and OK Status, written from the body without building frames.
    private func writeUnaryAnswer(callID: UInt64, body: [UInt8]) {
        guard let context else { return }
        let responseSize = FrameEncoder.frameSize(callID: callID, kindSize: FrameEncoder.lengthDelimitedSize(body.count))
        let statusSize = FrameEncoder.frameSize(callID: callID, kindSize: 0)
        context.writeFrames(capacity: 2 * KWP.lengthPrefixBytes + responseSize + statusSize) { out in
            FrameEncoder.writeResponse(callID: callID, body: body, into: &out)
            FrameEncoder.writeOKStatus(callID: callID, into: &out)
        }
        flushes.request(on: context.eventLoop) { self.context?.flush() }
    }

    private func failWritabilityWaiters() {
        let waiters = writabilityWaiters
        writabilityWaiters.removeAll()
        for waiter in waiters { waiter.fail(CancellationError()) }
    }

    // MARK: connection lifecycle

    /// Graceful shutdown: GoAway with the last accepted call id, no new calls, close once the
    /// in-flight calls are done.
    func beginDrain() {
        switch state {
        case .closed, .draining:
            return
        case .awaitingHello:
            goAwayAndClose(.unavailable, "the server is shutting down")
        case .open:
            state = .draining
            context?.writeFrame(.goAway(.unavailable, "the server is shutting down", lastCallID: lastAcceptedCallID), flush: true)
            if calls.isEmpty { context?.close(promise: nil) }
        }
    }

    /// The drain deadline passed: end what is left.
    func forceClose() {
        guard state != .closed else { return }
        for (callID, call) in calls {
            call.deadlineTimer?.cancel()
            call.task?.cancel()
            writeStatus(callID, RPCError(.goingAway, "the server shut down before the call finished"))
        }
        calls.removeAll()
        context?.flush()
        context?.close(promise: nil)
    }

    private func goAwayAndClose(_ code: StatusCode, _ message: String) {
        guard let context, state != .closed else { return }
        state = .closed
        let channel = context.channel
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeFrame(.goAway(code, message, lastCallID: lastAcceptedCallID), flush: true, promise: written)
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    private func helloTimedOut() {
        if state == .awaitingHello {
            goAwayAndClose(.deadlineExceeded, "no Hello within \(configuration.helloTimeout.nanoseconds / 1_000_000) ms")
        }
    }

    private func scheduleIdleCheck(at deadline: NIODeadline) {
        guard let context else { return }
        idleTimer?.cancel()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(deadline: deadline) { bound.value.idleCheck() }
    }

    private func idleCheck() {
        guard state == .open, calls.isEmpty else { return }
        let due = lastActivity + configuration.idleTimeout
        if NIODeadline.now() >= due {
            logger.debug("closing idle connection")
            goAwayAndClose(.ok, "idle timeout")
        } else {
            scheduleIdleCheck(at: due)
        }
    }
}

/// Streams a call's messages back through its connection.
private struct StreamSink: RawResponseSink {
    let handler: NIOLoopBound<ServerConnectionHandler>
    let eventLoop: any EventLoop
    let callID: UInt64
    let serial: UInt64

    func send(_ bodies: [[UInt8]]) async throws {
        try Task.checkCancellation()
        let handler = self.handler
        let callID = self.callID
        let serial = self.serial
        try await eventLoop.flatSubmit {
            handler.value.writeStreamMessages(callID: callID, serial: serial, bodies: bodies)
        }.get()
    }
}

enum RequestID {
    /// 16 lower-case hex characters.
    static func hex(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { digits in
            for index in 0..<16 {
                let nibble = UInt8(truncatingIfNeeded: value >> (60 - 4 * index)) & 0xF
                digits[index] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
            }
            return 16
        }
    }

    /// Request ids for one connection: a generator seeded once from the system's randomness, so a
    /// call costs no system call (the ids identify calls in logs; they are not secrets).
    struct Generator {
        private var state = UInt64.random(in: .min ... .max)

        mutating func next() -> String {
            // SplitMix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return RequestID.hex(z ^ (z >> 31))
        }
    }
}

/// The connection's own log lines about a call, with the call's metadata only when a line is written.
struct CallLogger {
    let context: ServerContext

    init(_ context: ServerContext) { self.context = context }

    func debug(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        guard context.baseLogger.logLevel <= .debug else { return }
        context.logger.debug(message(), metadata: metadata())
    }

    func info(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        guard context.baseLogger.logLevel <= .info else { return }
        context.logger.info(message(), metadata: metadata())
    }

    func error(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        context.logger.error(message(), metadata: metadata())
    }
}

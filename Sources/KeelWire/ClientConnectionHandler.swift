import Contracts
import Logging
import NIOCore
import struct Foundation.Data

/// How the client side of a call ends up: a unary call completes a promise with its one reply; a
/// streaming call yields replies into a stream.
enum ClientCallSink {
    case unary(EventLoopPromise<Data>, reply: Data?)
    case stream(AsyncThrowingStream<Data, Error>.Continuation)

    func fail(_ error: RPCError) {
        switch self {
        case .unary(let promise, _): promise.fail(error)
        case .stream(let continuation): continuation.finish(throwing: error)
        }
    }
}

/// The client side of one KWP/1 connection, confined to its event loop: says Hello, numbers calls
/// with increasing odd ids, matches Response and Status frames to them, enforces deadlines locally
/// (sending Cancel), answers Ping, and honours GoAway.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State { case awaitingHello, open, draining, closed }

    private struct Call {
        var sink: ClientCallSink
        var deadlineTimer: Scheduled<Void>?
    }

    private let maxFrameBytes: UInt32
    private var frames: FrameReader
    private let peerName: String
    private let logger: Logger
    private var state = State.awaitingHello
    private var calls: [UInt64: Call] = [:]
    private var nextCallID: UInt64 = 1
    private var peerMaxFrameBytes = KWP.defaultMaxFrameBytes
    private var context: ChannelHandlerContext?
    private let flushes = CoalescedFlush()
    /// Completed by the server's Hello.
    let ready: EventLoopPromise<Void>
    /// Called once when the server sends GoAway (the connection takes no new calls).
    var onGoAway: (() -> Void)?
    /// Pings in flight by nonce, with the time they were sent.
    private var pings: [UInt64: (EventLoopPromise<TimeAmount>, NIODeadline)] = [:]
    private var nextNonce: UInt64 = 1

    init(eventLoop: any EventLoop, maxFrameBytes: UInt32, peerName: String, logger: Logger) {
        self.maxFrameBytes = maxFrameBytes
        self.frames = FrameReader(maxFrameBytes: maxFrameBytes)
        self.peerName = peerName
        self.logger = logger
        self.ready = eventLoop.makePromise()
    }

    var isAcceptingCalls: Bool { state == .open }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeFrame(.hello(maxFrameBytes: maxFrameBytes, peer: peerName), flush: true)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let wasAwaitingHello = state == .awaitingHello
        state = .closed
        if wasAwaitingHello {
            ready.fail(RPCError(.unavailable, "the connection closed before the server said Hello"))
        }
        failAll(RPCError(.unavailable, "the connection to the server was lost"))
        for (_, (promise, _)) in pings { promise.fail(RPCError(.unavailable, "the connection to the server was lost")) }
        pings.removeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        frames.append(unwrapInboundIn(data))
        do throws(FrameError) {
            while state != .closed, let frame = try frames.next() { read(frame, context: context) }
        } catch {
            logger.warning("server broke the framing; closing", metadata: ["error": "\(error)"])
            context.writeFrame(.goAway(error.statusCode, error.description, lastCallID: 0), flush: true)
            context.close(promise: nil)
        }
    }

    private func read(_ frame: Frame, context: ChannelHandlerContext) {
        switch frame.kind {
        case .hello(let hello):
            guard state == .awaitingHello else { return }
            guard hello.protocol == KWP.protocolName else {
                context.close(promise: nil)
                return
            }
            if hello.maxFrameBytes > 0 { peerMaxFrameBytes = hello.maxFrameBytes }
            state = .open
            ready.succeed()
        case .response(let response):
            guard var call = calls[frame.callID] else { return }
            switch call.sink {
            case .unary(let promise, let reply):
                if reply != nil {
                    complete(frame.callID, with: RPCError(.internal, "a unary call got more than one response"))
                    return
                }
                call.sink = .unary(promise, reply: response.body)
                calls[frame.callID] = call
            case .stream(let continuation):
                continuation.yield(response.body)
            }
        case .status(let status):
            guard let call = calls.removeValue(forKey: frame.callID) else { return }
            call.deadlineTimer?.cancel()
            if status.code == 0 {
                switch call.sink {
                case .unary(let promise, let reply):
                    if let reply { promise.succeed(reply) } else { promise.fail(RPCError(.internal, "the call ended OK without a response")) }
                case .stream(let continuation):
                    continuation.finish()
                }
            } else {
                call.sink.fail(RPCError(status: status))
            }
            closeIfDrained()
        case .ping(let ping):
            var pong = Frame()
            pong.pong = .with { $0.nonce = ping.nonce }
            context.writeFrame(pong, flush: true)
        case .goAway(let goAway):
            let wasAwaitingHello = state == .awaitingHello
            state = .draining
            if wasAwaitingHello {
                ready.fail(RPCError(StatusCode(number: goAway.code), "server refused the connection: \(goAway.message)"))
            }
            // Calls above last_call_id were never processed: safe for the caller to retry.
            for callID in calls.keys where callID > goAway.lastCallID {
                complete(callID, with: RPCError(.unavailable, "the server is going away and did not process the call: \(goAway.message)"))
            }
            onGoAway?()
            onGoAway = nil
            closeIfDrained()
        case .pong(let pong):
            if let (promise, sentAt) = pings.removeValue(forKey: pong.nonce) {
                promise.succeed(.now() - sentAt)
            }
        case .request, .cancel, .none:
            break
        }
    }

    /// Opens a call; its replies go to `sink`. Fails the sink at once when the connection cannot
    /// take the call.
    func startCall(method: String, metadata: [String: String], timeout: TimeAmount?, body: Data, sink: ClientCallSink) -> UInt64? {
        guard let context, state == .open else {
            sink.fail(RPCError(.unavailable, "the connection is not accepting calls"))
            return nil
        }
        let callID = nextCallID
        nextCallID += 2
        let timeoutMs = timeout.map { UInt32(clamping: max(1, $0.nanoseconds / 1_000_000)) } ?? 0
        let size = FrameEncoder.requestSize(callID: callID, method: method, metadata: metadata, timeoutMs: timeoutMs, bodyCount: body.count)
        guard size <= Int(peerMaxFrameBytes) else {
            sink.fail(RPCError(.frameTooLarge, "request of \(size) bytes exceeds the server's max_frame_bytes \(peerMaxFrameBytes)"))
            return nil
        }
        var call = Call(sink: sink)
        if let timeout {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            call.deadlineTimer = context.eventLoop.scheduleTask(in: timeout) {
                bound.value.cancel(callID: callID, with: RPCError(.deadlineExceeded, "no answer within \(timeout.nanoseconds / 1_000_000) ms"))
            }
        }
        calls[callID] = call
        // Written from the call's fields, without building the Frame (this is every call's path).
        context.writeFrames(capacity: KWP.lengthPrefixBytes + size) { out in
            FrameEncoder.writeRequest(callID: callID, method: method, metadata: metadata, timeoutMs: timeoutMs, body: body, into: &out)
        }
        flushes.request(on: context.eventLoop) { self.context?.flush() }
        return callID
    }

    /// Ends a call locally and tells the server to stop working on it.
    func cancel(callID: UInt64, with error: RPCError) {
        guard calls[callID] != nil, let context else { return }
        complete(callID, with: error)
        if state == .open || state == .draining {
            var frame = Frame()
            frame.callID = callID
            frame.cancel = Keel_Wire_V1_Cancel()
            context.writeFrame(frame, flush: true)
        }
        closeIfDrained()
    }

    func close() {
        context?.flush()
        context?.close(promise: nil)
    }

    /// Sends Ping; the promise gets the round-trip time when the Pong arrives.
    func ping(_ promise: EventLoopPromise<TimeAmount>) {
        guard let context, state == .open || state == .draining else {
            promise.fail(RPCError(.unavailable, "the connection is not open"))
            return
        }
        let nonce = nextNonce
        nextNonce += 1
        pings[nonce] = (promise, .now())
        var frame = Frame()
        frame.ping = .with { $0.nonce = nonce }
        context.writeFrame(frame, flush: true)
    }

    private func complete(_ callID: UInt64, with error: RPCError) {
        guard let call = calls.removeValue(forKey: callID) else { return }
        call.deadlineTimer?.cancel()
        call.sink.fail(error)
    }

    private func failAll(_ error: RPCError) {
        let open = calls
        calls.removeAll()
        for (_, call) in open {
            call.deadlineTimer?.cancel()
            call.sink.fail(error)
        }
    }

    private func closeIfDrained() {
        if state == .draining, calls.isEmpty { context?.close(promise: nil) }
    }
}


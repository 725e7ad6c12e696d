import NIOCore
import NIOPosix

// The floor for KWP/1: a length-prefixed echo over SwiftNIO with no call layer — the same 4-byte
// framing, no protobuf, no call ids, no metadata, no status.

/// Splits a stream into 4-byte big-endian length-prefixed frames.
struct LengthPrefixedFrames: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self), buffer.readableBytes >= 4 + Int(length) else {
            return .needMoreData
        }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}

/// Server side: each frame is written back as it came, flushed once per read burst.
final class EchoFrames: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        var out = context.channel.allocator.buffer(capacity: 4 + frame.readableBytes)
        out.writeInteger(UInt32(frame.readableBytes))
        out.writeImmutableBuffer(frame)
        context.write(wrapOutboundOut(out), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

struct EchoCall {
    var payload: ByteBuffer
    var reply: EventLoopPromise<Void>
}

/// Client side: requests in flight answered in order (the echo keeps order on one connection).
final class EchoClientHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = EchoCall
    typealias OutboundOut = ByteBuffer
    private var waiting = CircularBuffer<EventLoopPromise<Void>>()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let call = unwrapOutboundIn(data)
        waiting.append(call.reply)
        var out = context.channel.allocator.buffer(capacity: 4 + call.payload.readableBytes)
        out.writeInteger(UInt32(call.payload.readableBytes))
        out.writeImmutableBuffer(call.payload)
        context.writeAndFlush(wrapOutboundOut(out), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        waiting.removeFirst().succeed(())
    }
}

enum RawEcho {
    static func server(group: any EventLoopGroup) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrames()))
                    try channel.pipeline.syncOperations.addHandler(EchoFrames())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    static func client(group: any EventLoopGroup, port: Int) async throws -> Channel {
        try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrames()))
                    try channel.pipeline.syncOperations.addHandler(EchoClientHandler())
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
    }

    static func call(_ channel: Channel, payload: ByteBuffer) async throws {
        let reply = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(EchoCall(payload: payload, reply: reply), promise: nil)
        try await reply.futureResult.get()
    }
}

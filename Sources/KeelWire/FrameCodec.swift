import Contracts
import NIOCore
import SwiftProtobuf
import struct Foundation.Data

public typealias Frame = Keel_Wire_V1_Frame

/// KWP/1 limits shared by both ends.
public enum KWP {
    public static let protocolName = "kwp/1"
    /// The default `max_frame_bytes`: 4 MiB (spec/wire.md §Framing).
    public static let defaultMaxFrameBytes: UInt32 = 4 * 1024 * 1024
    /// The 4-byte big-endian length prefix.
    public static let lengthPrefixBytes = 4
}

/// A violation of the framing that ends the connection with `GoAway` (spec/wire.md §Framing).
public enum FrameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A length of 0.
    case emptyFrame
    /// A length above the receiver's `max_frame_bytes`; nothing was allocated for it.
    case frameTooLarge(length: UInt32, max: UInt32)
    /// The bytes are not a `keel.wire.v1.Frame`.
    case undecodableFrame(String)

    /// The GoAway code the receiver answers with.
    public var statusCode: StatusCode {
        switch self {
        case .frameTooLarge: .resourceExhausted
        case .emptyFrame, .undecodableFrame: .invalidArgument
        }
    }

    public var description: String {
        switch self {
        case .emptyFrame: "frame length 0 is not allowed"
        case .frameTooLarge(let length, let max): "frame length \(length) exceeds max_frame_bytes \(max)"
        case .undecodableFrame(let why): "frame does not decode as keel.wire.v1.Frame: \(why)"
        }
    }
}

/// Bytes → `Frame`: reads the 4-byte big-endian length, checks it against `maxFrameBytes` before
/// waiting for (or allocating) the body, and decodes the body once it has fully arrived.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    public var maxFrameBytes: UInt32

    public init(maxFrameBytes: UInt32 = KWP.defaultMaxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try Self.nextFrame(from: &buffer, maxFrameBytes: maxFrameBytes) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial frame at EOF is dropped: the peer went away mid-frame.
        try decode(context: context, buffer: &buffer)
    }

    /// One frame from the front of `buffer`, `nil` while it is incomplete. Pure, so that every
    /// split of the input can be tested without a channel.
    public static func nextFrame(from buffer: inout ByteBuffer, maxFrameBytes: UInt32) throws(FrameError) -> Frame? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            return nil
        }
        if length == 0 { throw .emptyFrame }
        if length > maxFrameBytes { throw .frameTooLarge(length: length, max: maxFrameBytes) }
        guard buffer.readableBytes >= KWP.lengthPrefixBytes + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: KWP.lengthPrefixBytes)
        let body = buffer.readSlice(length: Int(length))!
        do {
            return try body.withUnsafeReadableBytes { raw in
                try Frame(serializedBytes: raw.bytes)
            }
        } catch {
            throw .undecodableFrame(String(describing: error))
        }
    }
}

/// `Frame` → bytes: the length prefix and the encoded frame.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Frame

    public init() {}

    public func encode(data: Frame, out: inout ByteBuffer) throws {
        try Self.encode(data, into: &out)
    }

    public static func encode(_ frame: Frame, into out: inout ByteBuffer) throws {
        let bytes: [UInt8] = try frame.serializedBytes()
        out.reserveCapacity(minimumWritableBytes: KWP.lengthPrefixBytes + bytes.count)
        out.writeInteger(UInt32(bytes.count), endianness: .big)
        out.writeBytes(bytes)
    }
}

extension Frame {
    static func hello(maxFrameBytes: UInt32, peer: String) -> Frame {
        var frame = Frame()
        frame.hello = .with {
            $0.protocol = KWP.protocolName
            $0.maxFrameBytes = maxFrameBytes
            $0.peer = peer
        }
        return frame
    }

    static func goAway(_ code: StatusCode, _ message: String, lastCallID: UInt64) -> Frame {
        var frame = Frame()
        frame.goAway = .with {
            $0.code = code.rawValue
            $0.message = message
            $0.lastCallID = lastCallID
        }
        return frame
    }

    static func status(callID: UInt64, _ status: Keel_Wire_V1_Status) -> Frame {
        var frame = Frame()
        frame.callID = callID
        frame.status = status
        return frame
    }

    static func response(callID: UInt64, body: [UInt8]) -> Frame {
        var frame = Frame()
        frame.callID = callID
        frame.response = .with { $0.body = Data(body) }
        return frame
    }

    static func okStatus(callID: UInt64) -> Frame {
        var status = Keel_Wire_V1_Status()
        status.code = 0
        return .status(callID: callID, status)
    }
}

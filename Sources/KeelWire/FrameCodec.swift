import Contracts
import NIOCore
import SwiftProtobuf
import struct Foundation.Data

public typealias Frame = Keel_Wire_V1_Frame

/// KWP/1 limits shared by both ends.
public enum KWP {
    public static let protocolName = "kwp/1"
    /// The default `max_frame_bytes`: 4 MiB (docs/protocol.md#2-framing).
    public static let defaultMaxFrameBytes: UInt32 = 4 * 1024 * 1024
    /// The 4-byte big-endian length prefix.
    public static let lengthPrefixBytes = 4
}

/// A violation of the framing that ends the connection with `GoAway` (docs/protocol.md#2-framing).
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

/// The frames arriving on one connection: the bytes are appended as the channel reads them and
/// whole frames taken from the front. Each connection handler owns one, so a frame reaches it
/// without a pipeline hop (a hop wraps the frame in `NIOAny` and casts it back, a generic-metadata
/// lookup per frame; a `ByteBuffer` crosses the pipeline without one).
public struct FrameReader {
    public let maxFrameBytes: UInt32
    /// What has been read and not yet taken: at most one incomplete frame once `next()` returned nil.
    private var pending: ByteBuffer?
    private var failed = false

    public init(maxFrameBytes: UInt32 = KWP.defaultMaxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes read from the channel. The first read of a frame is kept as it is, not copied.
    public mutating func append(_ bytes: ByteBuffer) {
        guard !failed else { return }
        guard var buffer = pending else {
            pending = bytes
            return
        }
        pending = nil  // one reference, so the write below does not copy the whole buffer
        // What was taken already is dropped once it outweighs what is left.
        if buffer.readerIndex > buffer.readableBytes { buffer.discardReadBytes() }
        var more = bytes
        buffer.writeBuffer(&more)
        pending = buffer
    }

    /// The next whole frame, nil until one has fully arrived. A length of 0 or above
    /// `maxFrameBytes` is refused on the length prefix alone, before its body is waited for.
    /// After the first error it returns nil and drops what is appended: the connection is over.
    public mutating func next() throws(FrameError) -> Frame? {
        guard !failed, var buffer = pending else { return nil }
        pending = nil
        let frame: Frame?
        do {
            frame = try Self.nextFrame(from: &buffer, maxFrameBytes: maxFrameBytes)
        } catch {
            failed = true
            throw error
        }
        if buffer.readableBytes > 0 { pending = buffer }
        return frame
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
                try decodeAnswer(raw) ?? Frame(serializedBytes: raw.bytes)
            }
        } catch {
            throw .undecodableFrame(String(describing: error))
        }
    }

    /// The two frames of every unary answer, as `FrameEncoder.encodeAnswer` writes them: a call id,
    /// then a `Response` holding only a body, or an empty (OK) `Status`, and nothing else. Anything
    /// else, however valid, is nil and goes to protobuf's decoder.
    static func decodeAnswer(_ raw: UnsafeRawBufferPointer) -> Frame? {
        guard raw.count >= 4, raw[0] == Tag.callID else { return nil }
        var reader = ProtobufWireReader(raw, offset: 1)
        guard let callID = reader.varint(), callID != 0, !reader.isAtEnd else { return nil }
        let tag = raw[reader.offset]
        reader.offset += 1
        if tag == Tag.status {
            // an empty Status: exactly one zero length byte left
            guard reader.offset == raw.count - 1, raw[reader.offset] == 0 else { return nil }
            return .okStatus(callID: callID)
        }
        guard tag == Tag.response, let inner = reader.varint(), inner == UInt64(raw.count - reader.offset) else { return nil }
        if inner == 0 { return .response(callID: callID, body: []) }
        guard raw[reader.offset] == Tag.responseBody else { return nil }
        reader.offset += 1
        guard let count = reader.varint(), count == UInt64(raw.count - reader.offset), count > 0 else { return nil }
        let i = reader.offset
        var frame = Frame()
        frame.callID = callID
        frame.response = .with { $0.body = Data(UnsafeRawBufferPointer(rebasing: raw[i...])) }
        return frame
    }
}

/// The one-byte tags the hand-written frame codec reads and writes, from the generated field numbers.
enum Tag {
    static let callID = tag(Frame.FieldNumber.callID, 0)
    static let request = tag(Frame.FieldNumber.request, ProtobufWire.lengthDelimited)
    static let response = tag(Frame.FieldNumber.response, ProtobufWire.lengthDelimited)
    static let status = tag(Frame.FieldNumber.status, ProtobufWire.lengthDelimited)
    static let metadataEntry = tag(RequestField.metadata, ProtobufWire.lengthDelimited)
    static let timeoutMs = tag(RequestField.timeoutMs, 0)
    static let responseBody = tag(Keel_Wire_V1_Response.FieldNumber.body, ProtobufWire.lengthDelimited)

    private static func tag(_ number: UInt64, _ wireType: UInt64) -> UInt8 { UInt8(ProtobufWire.tag(number, wireType)) }
}

typealias RequestField = Keel_Wire_V1_Request.FieldNumber

/// `Frame` → bytes: the length prefix and the encoded frame.
public enum FrameEncoder {
    public static func encode(_ frame: Frame, into out: inout ByteBuffer) throws {
        if encodeAnswer(frame, into: &out) || encodeRequest(frame, into: &out) { return }
        let bytes: [UInt8] = try frame.serializedBytes()
        out.reserveCapacity(minimumWritableBytes: KWP.lengthPrefixBytes + bytes.count)
        out.writeInteger(UInt32(bytes.count), endianness: .big)
        out.writeBytes(bytes)
    }

    /// The encoded size of a request frame (without the length prefix), computed from its fields.
    static func requestSize(callID: UInt64, _ request: Keel_Wire_V1_Request) -> Int {
        requestSize(callID: callID, method: request.method, metadata: request.metadata, timeoutMs: request.timeoutMs, bodyCount: request.body.count)
    }

    static func requestSize(callID: UInt64, method: String, metadata: [String: String], timeoutMs: UInt32, bodyCount: Int) -> Int {
        frameSize(callID: callID, kindSize: requestBodySize(method: method, metadata: metadata, timeoutMs: timeoutMs, bodyCount: bodyCount))
    }

    /// A frame holding a call id and one `kind` message of `kindSize` bytes (proto3 leaves out call id 0).
    static func frameSize(callID: UInt64, kindSize: Int) -> Int {
        (callID == 0 ? 0 : 1 + ProtobufWire.varintSize(callID)) + 1 + ProtobufWire.varintSize(UInt64(kindSize)) + kindSize
    }

    /// The length prefix, the call id and the `kind` field's tag and length: what precedes the kind
    /// message's own fields in every frame written here.
    static func writeFrameHeader(callID: UInt64, kindTag: UInt8, kindSize: Int, into out: inout ByteBuffer) {
        let total = frameSize(callID: callID, kindSize: kindSize)
        out.reserveCapacity(minimumWritableBytes: KWP.lengthPrefixBytes + total)
        out.writeInteger(UInt32(total), endianness: .big)
        if callID != 0 {
            out.writeInteger(Tag.callID)
            writeVarint(callID, into: &out)
        }
        out.writeInteger(kindTag)
        writeVarint(UInt64(kindSize), into: &out)
    }

    static func requestBodySize(method: String, metadata: [String: String], timeoutMs: UInt32, bodyCount: Int) -> Int {
        var size = lengthDelimitedSize(method.utf8.count)
        for (key, value) in metadata {
            size += lengthDelimitedSize(mapEntrySize(key, value), evenWhenEmpty: true)
        }
        if timeoutMs != 0 { size += 1 + ProtobufWire.varintSize(UInt64(timeoutMs)) }
        size += lengthDelimitedSize(bodyCount)
        return size
    }

    /// A string, bytes or message field: nothing when empty (proto3, except a map entry, which is
    /// always written), else tag, length and content.
    static func lengthDelimitedSize(_ count: Int, evenWhenEmpty: Bool = false) -> Int {
        count == 0 && !evenWhenEmpty ? 0 : 1 + ProtobufWire.varintSize(UInt64(count)) + count
    }

    static func mapEntrySize(_ key: String, _ value: String) -> Int {
        lengthDelimitedSize(key.utf8.count) + lengthDelimitedSize(value.utf8.count)
    }

    /// A request frame written straight into the buffer (every call starts with one).
    static func encodeRequest(_ frame: Frame, into out: inout ByteBuffer) -> Bool {
        guard frame.unknownFields.data.isEmpty, case .request(let request) = frame.kind, request.unknownFields.data.isEmpty else { return false }
        writeRequest(callID: frame.callID, method: request.method, metadata: request.metadata, timeoutMs: request.timeoutMs, body: request.body, into: &out)
        return true
    }

    /// A request frame from its fields, without building the `Frame` (the client's path per call).
    static func writeRequest(callID: UInt64, method: String, metadata: [String: String], timeoutMs: UInt32, body: Data, into out: inout ByteBuffer) {
        let kindSize = requestBodySize(method: method, metadata: metadata, timeoutMs: timeoutMs, bodyCount: body.count)
        writeFrameHeader(callID: callID, kindTag: Tag.request, kindSize: kindSize, into: &out)
        writeLengthDelimited(field: RequestField.method, method, into: &out)
        for (key, value) in metadata {
            out.writeInteger(Tag.metadataEntry)
            writeVarint(UInt64(mapEntrySize(key, value)), into: &out)
            writeLengthDelimited(field: 1, key, into: &out)  // a map entry: key = 1, value = 2
            writeLengthDelimited(field: 2, value, into: &out)
        }
        if timeoutMs != 0 {
            out.writeInteger(Tag.timeoutMs)
            writeVarint(UInt64(timeoutMs), into: &out)
        }
        writeLengthDelimited(field: RequestField.body, body, into: &out)
    }

    static func writeLengthDelimited(field: UInt64, _ text: String, into out: inout ByteBuffer) {
        let count = text.utf8.count
        guard count > 0 else { return }
        out.writeInteger(UInt8(ProtobufWire.tag(field, ProtobufWire.lengthDelimited)))
        writeVarint(UInt64(count), into: &out)
        out.writeString(text)
    }

    static func writeLengthDelimited<Bytes: Collection<UInt8>>(field: UInt64, _ bytes: Bytes, into out: inout ByteBuffer) {
        guard !bytes.isEmpty else { return }
        out.writeInteger(UInt8(ProtobufWire.tag(field, ProtobufWire.lengthDelimited)))
        writeVarint(UInt64(bytes.count), into: &out)
        out.writeBytes(bytes)
    }

    /// The two frames of every unary answer, a `Response` and an OK `Status`, written straight into
    /// the buffer: the bytes protobuf's encoder writes (fields in number order, defaults left out),
    /// without building them in an array first. Any other frame: false.
    static func encodeAnswer(_ frame: Frame, into out: inout ByteBuffer) -> Bool {
        guard frame.unknownFields.data.isEmpty else { return false }
        switch frame.kind {
        case .response(let response):
            guard response.unknownFields.data.isEmpty else { return false }
            writeResponse(callID: frame.callID, body: response.body, into: &out)
            return true
        case .status(let status):
            guard status.code == 0, status.message.isEmpty, !status.hasDetails, status.unknownFields.data.isEmpty else { return false }
            writeOKStatus(callID: frame.callID, into: &out)
            return true
        default:
            return false
        }
    }

    /// A `Response` frame from its body, without building the `Frame`.
    static func writeResponse<Body: Collection<UInt8>>(callID: UInt64, body: Body, into out: inout ByteBuffer) {
        writeFrameHeader(callID: callID, kindTag: Tag.response, kindSize: lengthDelimitedSize(body.count), into: &out)
        writeLengthDelimited(field: Keel_Wire_V1_Response.FieldNumber.body, body, into: &out)
    }

    /// An OK `Status` frame: an empty Status message.
    static func writeOKStatus(callID: UInt64, into out: inout ByteBuffer) {
        writeFrameHeader(callID: callID, kindTag: Tag.status, kindSize: 0, into: &out)
    }

    static func writeVarint(_ value: UInt64, into out: inout ByteBuffer) {
        var v = value
        while v >= 0x80 {
            out.writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.writeInteger(UInt8(v))
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

extension ChannelHandlerContext {
    /// Writes a frame (and the one that follows it) as bytes in one buffer: the connection
    /// handlers are the last encoders before the socket, so a frame never crosses the pipeline as
    /// a `NIOAny`.
    func writeFrame(_ frame: Frame, followedBy next: Frame? = nil, flush: Bool = false, promise: EventLoopPromise<Void>? = nil) {
        writeFrames(flush: flush, promise: promise) { out in
            try FrameEncoder.encode(frame, into: &out)
            if let next { try FrameEncoder.encode(next, into: &out) }
        }
    }

    /// Writes what `encode` puts in one buffer of at least `capacity` bytes.
    func writeFrames(capacity: Int = 0, flush: Bool = false, promise: EventLoopPromise<Void>? = nil, _ encode: (inout ByteBuffer) throws -> Void) {
        var out = channel.allocator.buffer(capacity: capacity)
        do {
            try encode(&out)
        } catch {
            // Only a frame built wrong here can fail to encode.
            promise?.fail(error)
            fireErrorCaught(error)
            return
        }
        write(NIOAny(out), promise: promise)
        if flush { self.flush() }
    }
}

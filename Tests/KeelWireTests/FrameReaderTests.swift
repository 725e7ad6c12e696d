import Contracts
import Foundation
import NIOCore
import NIOEmbedded
import Testing
@testable import KeelWire

@Suite struct FrameReaderTests {
    static func sampleFrame() -> Frame {
        var frame = Frame()
        frame.callID = 7
        frame.request = .with {
            $0.method = "/keel.planner.v1.Planner/Plan"
            $0.metadata = ["x-request-id": "r-1", "idempotency-key": "k"]
            $0.timeoutMs = 1500
            $0.body = Data((0..<300).map { UInt8(truncatingIfNeeded: $0) })
        }
        return frame
    }

    static func encoded(_ frames: [Frame]) throws -> [UInt8] {
        var buffer = ByteBuffer()
        for frame in frames { try FrameEncoder.encode(frame, into: &buffer) }
        return Array(buffer.readableBytesView)
    }

    /// Answers written without protobuf's encoder are the bytes it writes, for call ids and bodies
    /// across every varint length; other statuses still go through it.
    @Test func answerFramesAreEncodedAsProtobufWouldEncodeThem() throws {
        let callIDs: [UInt64] = [0, 1, 127, 128, 16_383, 16_384, 1 << 35, UInt64.max]
        let bodySizes = [0, 1, 127, 128, 300, 16_383, 16_384, 70_000]
        for callID in callIDs {
            var frames: [Frame] = [.okStatus(callID: callID)]
            for size in bodySizes { frames.append(.response(callID: callID, body: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) })) }
            for frame in frames {
                var fast = ByteBuffer()
                #expect(FrameEncoder.encodeAnswer(frame, into: &fast))
                let bytes: [UInt8] = try frame.serializedBytes()
                var expected = ByteBuffer()
                expected.writeInteger(UInt32(bytes.count), endianness: .big)
                expected.writeBytes(bytes)
                #expect(fast == expected, "call \(callID)")
            }
        }
        var failed = Frame.status(callID: 3, RPCError(.notFound, "no such plan", reason: "E_NOT_FOUND").status)
        var buffer = ByteBuffer()
        #expect(!FrameEncoder.encodeAnswer(failed, into: &buffer) && buffer.readableBytes == 0)
        failed.status.code = 0
        #expect(!FrameEncoder.encodeAnswer(failed, into: &buffer))
    }

    /// Answers read without protobuf's decoder are the frames protobuf reads from the same bytes;
    /// bytes that are not exactly an answer (extra or unknown fields, other kinds, cut short) are
    /// left to protobuf.
    @Test func answerFramesDecodeAsProtobufWouldDecodeThem() throws {
        for callID: UInt64 in [1, 127, 128, 16_384, 1 << 40, UInt64.max] {
            for size in [0, 1, 127, 128, 300, 16_384, 70_000] {
                for frame in [Frame.response(callID: callID, body: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13) }), .okStatus(callID: callID)] {
                    let bytes: [UInt8] = try frame.serializedBytes()
                    let fast = bytes.withUnsafeBytes { FrameReader.decodeAnswer($0) }
                    #expect(fast == frame)
                    #expect(fast == (try Frame(serializedBytes: bytes)))
                }
            }
        }
        var notAnswers: [[UInt8]] = []
        var ping = Frame()
        ping.ping = .with { $0.nonce = 9 }
        notAnswers.append(try ping.serializedBytes())
        notAnswers.append(try Frame.status(callID: 4, RPCError(.notFound, "gone", reason: "E_GONE").status).serializedBytes())
        notAnswers.append(try Self.sampleFrame().serializedBytes())
        let answer: [UInt8] = try Frame.response(callID: 5, body: [1, 2, 3]).serializedBytes()
        notAnswers.append(answer + [0x50, 0x01])       // an unknown field after the answer
        notAnswers.append(Array(answer.dropLast()))  // cut short
        notAnswers.append([0x08, 0x00, 0x2A, 0x00])  // call id 0
        notAnswers.append([0x08, 0x05, 0x2A, 0x02, 0x08, 0x05])  // a Status with a code
        for bytes in notAnswers {
            #expect(bytes.withUnsafeBytes { FrameReader.decodeAnswer($0) } == nil, "\(bytes.prefix(12))")
        }
    }

    /// Requests written without protobuf's encoder decode as the frames they came from, with the
    /// size computed beforehand; metadata, empty fields and long values included.
    @Test func requestFramesRoundTripWithTheirComputedSize() throws {
        var frames = [Self.sampleFrame()]
        for (i, bodySize) in [0, 1, 200, 20_000].enumerated() {
            var frame = Frame()
            frame.callID = [1, 300, 1 << 40, 0][i]
            frame.request = .with {
                $0.method = i == 3 ? "" : "/keel.gateway.v1.Gateway/Execute"
                $0.metadata = i == 0 ? [:] : ["authorization": "Bearer " + String(repeating: "t", count: 150 * i), "x-empty": "", "é-key": "välue"]
                $0.timeoutMs = [0, 1, 5_000, UInt32.max][i]
                $0.body = Data((0..<bodySize).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            }
            frames.append(frame)
        }
        for frame in frames {
            var fast = ByteBuffer()
            #expect(FrameEncoder.encodeRequest(frame, into: &fast))
            let length = fast.readInteger(endianness: .big, as: UInt32.self)!
            #expect(Int(length) == fast.readableBytes)
            #expect(Int(length) == FrameEncoder.requestSize(callID: frame.callID, frame.request))
            // (swift-protobuf also writes the empty strings of a map entry; both decode the same)
            if !frame.request.metadata.contains(where: { $0.key.isEmpty || $0.value.isEmpty }) {
                #expect(Int(length) == (try frame.serializedBytes() as [UInt8]).count)
            }
            #expect(try Frame(serializedBytes: Array(fast.readableBytesView)) == frame)
        }
    }

    @Test func everySplitOfTwoFramesDecodesTheSameFrames() throws {
        var ping = Frame()
        ping.ping = .with { $0.nonce = 42 }
        let frames = [Self.sampleFrame(), ping]
        let bytes = try Self.encoded(frames)
        for split in 0...bytes.count {
            var reader = FrameReader()
            var decoded: [Frame] = []
            reader.append(ByteBuffer(bytes: bytes[..<split]))
            while let frame = try reader.next() { decoded.append(frame) }
            reader.append(ByteBuffer(bytes: bytes[split...]))
            while let frame = try reader.next() { decoded.append(frame) }
            #expect(decoded == frames, "split at \(split)")
            #expect(try reader.next() == nil)
        }
    }

    @Test func readerTakesFramesDeliveredByteByByteAndManyPerRead() throws {
        var ping = Frame()
        ping.ping = .with { $0.nonce = 7 }
        let frames = Array(repeating: Self.sampleFrame(), count: 3) + [ping]
        let bytes = try Self.encoded(frames)
        var reader = FrameReader()
        var decoded: [Frame] = []
        for byte in bytes {
            reader.append(ByteBuffer(bytes: [byte]))
            while let frame = try reader.next() { decoded.append(frame) }
        }
        #expect(decoded == frames)
        // all of them in one read, twice over
        reader.append(ByteBuffer(bytes: bytes + bytes))
        decoded.removeAll()
        while let frame = try reader.next() { decoded.append(frame) }
        #expect(decoded == frames + frames)
    }

    @Test func byteByByteDeliveryWaitsForTheWholeFrame() throws {
        let bytes = try Self.encoded([Self.sampleFrame()])
        var buffer = ByteBuffer()
        for (index, byte) in bytes.enumerated() {
            buffer.writeInteger(byte)
            let frame = try FrameReader.nextFrame(from: &buffer, maxFrameBytes: KWP.defaultMaxFrameBytes)
            if index < bytes.count - 1 {
                #expect(frame == nil)
            } else {
                #expect(frame == Self.sampleFrame())
                #expect(buffer.readableBytes == 0)
            }
        }
    }

    @Test func zeroLengthIsAProtocolError() {
        var buffer = ByteBuffer(bytes: [0, 0, 0, 0])
        #expect(throws: FrameError.emptyFrame) { _ = try FrameReader.nextFrame(from: &buffer, maxFrameBytes: 1024) }
        #expect(FrameError.emptyFrame.statusCode == .invalidArgument)
    }

    @Test func oversizeLengthFailsOnThePrefixAloneWithoutWaitingForTheBody() {
        // Only the 4-byte prefix has arrived: the decoder must refuse now, not buffer 4 GiB.
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: FrameError.frameTooLarge(length: UInt32.max, max: KWP.defaultMaxFrameBytes)) {
            _ = try FrameReader.nextFrame(from: &buffer, maxFrameBytes: KWP.defaultMaxFrameBytes)
        }
        var justOver = ByteBuffer()
        justOver.writeInteger(UInt32(1025), endianness: .big)
        #expect(throws: FrameError.frameTooLarge(length: 1025, max: 1024)) {
            _ = try FrameReader.nextFrame(from: &justOver, maxFrameBytes: 1024)
        }
        #expect(FrameError.frameTooLarge(length: 1, max: 0).statusCode == .resourceExhausted)
    }

    @Test func frameAtExactlyTheLimitIsAccepted() throws {
        var frame = Frame()
        frame.response = .with { $0.body = Data(repeating: 1, count: 1000) }
        let bytes = try Self.encoded([frame])
        var buffer = ByteBuffer(bytes: bytes)
        let limit = UInt32(bytes.count - 4)
        #expect(try FrameReader.nextFrame(from: &buffer, maxFrameBytes: limit) == frame)
        var again = ByteBuffer(bytes: bytes)
        #expect(throws: FrameError.self) { _ = try FrameReader.nextFrame(from: &again, maxFrameBytes: limit - 1) }
    }

    @Test func garbageThatIsNotAFrameIsRejected() {
        // A length of 5 followed by bytes that are not a valid protobuf message (a truncated varint).
        var buffer = ByteBuffer(bytes: [0, 0, 0, 5, 0x08, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect {
            _ = try FrameReader.nextFrame(from: &buffer, maxFrameBytes: 1024)
        } throws: { error in
            if case .undecodableFrame = error as? FrameError { return true }
            return false
        }
        // Field 3 (request) declared as a length-delimited message longer than what follows.
        var truncated = ByteBuffer(bytes: [0, 0, 0, 3, 0x1A, 0x10, 0x0A])
        #expect(throws: FrameError.self) { _ = try FrameReader.nextFrame(from: &truncated, maxFrameBytes: 1024) }
    }

    @Test func randomGarbageNeverCrashes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let count = Int.random(in: 0...64, using: &generator)
            var buffer = ByteBuffer(bytes: (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
            _ = try? FrameReader.nextFrame(from: &buffer, maxFrameBytes: 64)
        }
    }

    @Test func readerRefusesAnOversizeLengthAndTakesNothingAfterIt() throws {
        var reader = FrameReader(maxFrameBytes: 16)
        reader.append(ByteBuffer(bytes: [0, 0, 0, 17]))
        #expect(throws: FrameError.frameTooLarge(length: 17, max: 16)) { _ = try reader.next() }
        // The connection is over: later bytes, even a whole valid frame, yield nothing.
        var ping = Frame()
        ping.ping = .with { $0.nonce = 1 }
        reader.append(ByteBuffer(bytes: try Self.encoded([ping])))
        #expect(try reader.next() == nil)
    }
}

/// The token comparison: equal only when equal, whatever the lengths (also lengths 256 apart, whose
/// low bytes agree), and it always walks the longer input.
@Suite struct ConstantTimeTests {
    @Test(arguments: [
        ("Bearer abc", "Bearer abc", true), ("Bearer abc", "Bearer abd", false), ("Bearer ab", "Bearer abc", false),
        ("", "", true), ("", "x", false), (String(repeating: "a", count: 256), "", false),
        (String(repeating: "a", count: 300), String(repeating: "a", count: 44), false),
    ])
    func equality(a: String, b: String, equal: Bool) {
        #expect(ConstantTime.equals(Array(a.utf8), Array(b.utf8)) == equal)
        #expect(ConstantTime.equals(Array(b.utf8), Array(a.utf8)) == equal)
    }
}

@Suite struct RequestIDTests {
    @Test func hexIsSixteenLowerCaseDigitsOfTheValue() {
        #expect(RequestID.hex(0) == "0000000000000000")
        #expect(RequestID.hex(.max) == "ffffffffffffffff")
        #expect(RequestID.hex(0x0123_4567_89AB_CDEF) == "0123456789abcdef")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            let value = UInt64.random(in: .min ... .max, using: &generator) >> UInt64.random(in: 0...63, using: &generator)
            let expected = String(value, radix: 16)
            #expect(RequestID.hex(value) == String(repeating: "0", count: 16 - expected.count) + expected)
        }
    }
}

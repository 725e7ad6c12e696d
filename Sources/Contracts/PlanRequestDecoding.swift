import Foundation
import SwiftProtobuf

/// Sizes in protobuf's wire format.
public enum ProtobufWire {
    /// Wire type 2: strings, bytes and embedded messages.
    public static let lengthDelimited: UInt64 = 2

    /// The tag of field `number` with `wireType`, as a varint's value.
    @inlinable
    public static func tag(_ number: UInt64, _ wireType: UInt64) -> UInt64 { number << 3 | wireType }

    /// Bytes of `value` written as a varint.
    @inlinable
    public static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }
}

/// A reader of protobuf's wire format over bytes in memory: varints, tags and field skipping.
/// Every read returns nil on malformed or truncated input instead of throwing; callers that
/// read by hand hand anything unusual to swift-protobuf, which then reports the error.
public struct ProtobufWireReader {
    public let bytes: UnsafeRawBufferPointer
    public var offset: Int

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    @inlinable
    public var isAtEnd: Bool { offset >= bytes.count }

    @inlinable
    public mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count, shift < 64 {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }

    /// A length-delimited field's payload range (after its tag), within the bytes.
    @inlinable
    public mutating func lengthDelimited() -> Range<Int>? {
        guard let length = varint(), length <= UInt64(bytes.count - offset) else { return nil }
        let start = offset
        offset += Int(length)
        return start..<offset
    }

    /// Skips the payload of a field of `wireType` (after its tag); nil for groups and bad types.
    @inlinable
    public mutating func skip(wireType: UInt64) -> Bool {
        switch wireType {
        case 0: return varint() != nil
        case 1: return advance(8)
        case 2: return lengthDelimited() != nil
        case 5: return advance(4)
        default: return false
        }
    }

    @usableFromInline
    mutating func advance(_ count: Int) -> Bool {
        guard bytes.count - offset >= count else { return false }
        offset += count
        return true
    }
}

extension Keel_Planner_V1_PlanRequest {
    /// Decodes a request as `init(serializedBytes:)` does, and to an equal message, with its
    /// positions (most of a large request) read here: a position of plain ASCII string fields is
    /// built directly, any other goes through swift-protobuf, and so do all other fields, copied
    /// out in their order. Malformed input is decoded by swift-protobuf whole, for its error.
    public init(decodingPositionsDirectly body: Data) throws {
        let decoded: Self? = body.withUnsafeBytes { raw in
            var reader = ProtobufWireReader(raw)
            var positions: [Keel_Planner_V1_Position] = []
            positions.reserveCapacity(raw.count / 48)
            var others: [UInt8] = []
            while !reader.isAtEnd {
                let fieldStart = reader.offset
                guard let tag = reader.varint(), tag >> 3 != 0 else { return nil }
                if tag >> 3 == FieldNumber.positions {
                    guard tag & 7 == ProtobufWire.lengthDelimited, let range = reader.lengthDelimited() else { return nil }
                    let payload = UnsafeRawBufferPointer(rebasing: raw[range])
                    if let position = Keel_Planner_V1_Position(plainFields: payload) {
                        positions.append(position)
                    } else {
                        guard let position = try? Keel_Planner_V1_Position(serializedBytes: Data(payload)) else { return nil }
                        positions.append(position)
                    }
                } else {
                    guard reader.skip(wireType: tag & 7) else { return nil }
                    others.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[fieldStart..<reader.offset]))
                }
            }
            guard var request = try? Self(serializedBytes: others) else { return nil }
            request.positions = positions
            return request
        }
        if let decoded {
            self = decoded
        } else {
            self = try Self(serializedBytes: body)
        }
    }
}

extension Keel_Planner_V1_Position {
    /// A position whose fields are all its six strings, each with a one-byte tag and ASCII
    /// content (how Keel's clients write them); nil for anything else, unknown fields included.
    init?(plainFields payload: UnsafeRawBufferPointer) {
        self.init()
        var reader = ProtobufWireReader(payload)
        while !reader.isAtEnd {
            let tag = payload[reader.offset]
            reader.offset += 1
            guard UInt64(tag & 7) == ProtobufWire.lengthDelimited, tag >> 3 >= 1, tag >> 3 <= 6, let range = reader.lengthDelimited() else { return nil }
            let text = UnsafeRawBufferPointer(rebasing: payload[range])
            var ascii = true
            for byte in text where byte >= 0x80 { ascii = false; break }
            guard ascii else { return nil }
            let value = String(decoding: text, as: UTF8.self)
            switch UInt64(tag >> 3) {
            case FieldNumber.worldID: worldID = value
            case FieldNumber.strategyID: strategyID = value
            case FieldNumber.symbol: symbol = value
            case FieldNumber.qty: qty = value
            case FieldNumber.mark: mark = value
            default: venue = value
            }
        }
    }
}

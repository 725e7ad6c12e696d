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
    /// A request's bytes split for readers of its positions (most of a large request): the
    /// payload range of every `positions` entry in order, and every other field's bytes, copied out
    /// in their order (to decode with swift-protobuf). nil for malformed input.
    public static func splitPositions(_ raw: UnsafeRawBufferPointer) -> (others: [UInt8], positions: [Range<Int>])? {
        var reader = ProtobufWireReader(raw)
        var positions: [Range<Int>] = []
        positions.reserveCapacity(raw.count / 48)
        var others: [UInt8] = []
        while !reader.isAtEnd {
            let fieldStart = reader.offset
            guard let tag = reader.varint(), tag >> 3 != 0 else { return nil }
            if tag >> 3 == FieldNumber.positions {
                guard tag & 7 == ProtobufWire.lengthDelimited, let range = reader.lengthDelimited() else { return nil }
                positions.append(range)
            } else {
                guard reader.skip(wireType: tag & 7) else { return nil }
                others.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[fieldStart..<reader.offset]))
            }
        }
        return (others, positions)
    }

    /// Decodes a request as `init(serializedBytes:)` does, and to an equal message, with its
    /// positions read here: a position of plain ASCII string fields is built directly, any other
    /// goes through swift-protobuf, and so do all other fields. Malformed input is decoded by
    /// swift-protobuf whole, for its error.
    public init(decodingPositionsDirectly body: Data) throws {
        let decoded: Self? = body.withUnsafeBytes { raw in
            guard let split = Self.splitPositions(raw), var request = try? Self(serializedBytes: split.others) else { return nil }
            var positions: [Keel_Planner_V1_Position] = []
            positions.reserveCapacity(split.positions.count)
            for range in split.positions {
                let payload = UnsafeRawBufferPointer(rebasing: raw[range])
                if let fields = PositionFieldBytes(payload) {
                    positions.append(Keel_Planner_V1_Position(fields))
                } else {
                    guard let position = try? Keel_Planner_V1_Position(serializedBytes: Data(payload)) else { return nil }
                    positions.append(position)
                }
            }
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

/// The six string fields of an encoded `Position` as slices of its bytes, when every field has a
/// one-byte tag and ASCII content (how Keel's clients write them); nil for anything else, unknown
/// fields included. An absent field is an empty slice; a repeated one keeps its last value, as
/// protobuf decoding does.
public struct PositionFieldBytes {
    private let payload: UnsafeBufferPointer<UInt8>
    /// Per field number 1…6 (index 0 unused), the value's range in `payload`.
    private var ranges: (Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>) = (0..<0, 0..<0, 0..<0, 0..<0, 0..<0, 0..<0)

    public init?(_ payload: UnsafeRawBufferPointer) {
        self.payload = payload.bindMemory(to: UInt8.self)
        var reader = ProtobufWireReader(payload)
        while !reader.isAtEnd {
            let tag = payload[reader.offset]
            reader.offset += 1
            guard UInt64(tag & 7) == ProtobufWire.lengthDelimited, tag >> 3 >= 1, tag >> 3 <= 6, let range = reader.lengthDelimited() else { return nil }
            for i in range where payload[i] >= 0x80 { return nil }
            switch tag >> 3 {
            case 1: ranges.0 = range
            case 2: ranges.1 = range
            case 3: ranges.2 = range
            case 4: ranges.3 = range
            case 5: ranges.4 = range
            default: ranges.5 = range
            }
        }
    }

    private func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: payload[range]) }

    // The field numbers of `Keel_Planner_V1_Position`, in order.
    public var worldID: UnsafeBufferPointer<UInt8> { slice(ranges.0) }
    public var strategyID: UnsafeBufferPointer<UInt8> { slice(ranges.1) }
    public var symbol: UnsafeBufferPointer<UInt8> { slice(ranges.2) }
    public var qty: UnsafeBufferPointer<UInt8> { slice(ranges.3) }
    public var mark: UnsafeBufferPointer<UInt8> { slice(ranges.4) }
    public var venue: UnsafeBufferPointer<UInt8> { slice(ranges.5) }
}

extension Keel_Planner_V1_Position {
    /// The position the fields hold.
    public init(_ fields: PositionFieldBytes) {
        self.init()
        worldID = String(decoding: fields.worldID, as: UTF8.self)
        strategyID = String(decoding: fields.strategyID, as: UTF8.self)
        symbol = String(decoding: fields.symbol, as: UTF8.self)
        qty = String(decoding: fields.qty, as: UTF8.self)
        mark = String(decoding: fields.mark, as: UTF8.self)
        venue = String(decoding: fields.venue, as: UTF8.self)
    }
}

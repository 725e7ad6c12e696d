import Contracts
import Foundation
import SwiftProtobuf
import Testing

/// `PlanRequest(decodingPositionsDirectly:)` must be swift-protobuf's decoding, only faster:
/// the same message for every body swift-protobuf accepts, an error for every body it rejects.
@Suite struct PlanRequestDecodingTests {
    static func position(_ i: Int) -> Keel_Planner_V1_Position {
        .with {
            $0.worldID = "w\(i % 3)"
            $0.strategyID = "w\(i % 3)-s\(i % 2)"
            $0.symbol = "SYM\(i % 17)"
            $0.qty = i % 2 == 0 ? "\(i).125" : "-\(i)"
            $0.mark = "\(100 + i).5"
            $0.venue = i % 4 == 0 ? "" : "venue\(i % 3)"
        }
    }

    static func encoded(_ message: some SwiftProtobuf.Message) -> [UInt8] {
        try! message.serializedBytes()
    }

    static var typical: [UInt8] {
        encoded(Keel_Planner_V1_PlanRequest.with {
            $0.totalEquity = "1000000"
            $0.worldAllocBefore = ["w0": "0.5", "w1": "0.3", "w2": "0.2"]
            $0.worldAllocAfter = ["w0": "0.4", "w1": "0.4", "w2": "0.2"]
            $0.strategyAllocAfterTotal = ["w0": .with { $0.byStrategy = ["w0-s0": "1", "w0-s1": "2"] }]
            $0.positions = (0..<500).map(position)
            $0.lotSizeBySymbol = ["SYM1": "0.001"]
            $0.mode = .hybrid
            $0.overlay = .with { $0.hybridRatio = "0.5" }
            $0.intent = ["why": "test"]
            $0.dryRun = true
        })
    }

    /// Bodies no Keel client writes but protobuf allows.
    static var unusual: [[UInt8]] {
        let one = encoded(Keel_Planner_V1_PlanRequest.with { $0.positions = [position(1)] })
        let nonASCII = encoded(Keel_Planner_V1_PlanRequest.with { $0.positions = [position(2), .with { $0.symbol = "ÉTÉ"; $0.qty = "1" }] })
        // a position with an explicitly written empty string, a repeated field (the last wins) and an unknown varint field 9
        let oddPosition: [UInt8] = [0x0A, 0x00, 0x1A, 0x01, 0x41, 0x1A, 0x01, 0x42, 0x48, 0x07]
        let withOddPosition: [UInt8] = [0x32, UInt8(oddPosition.count)] + oddPosition
        // positions interleaved with other fields; total_equity twice; an unknown field 99 (varint) and 100 (bytes)
        let interleaved = one + encoded(Keel_Planner_V1_PlanRequest.with { $0.totalEquity = "5" }) + encoded(Keel_Planner_V1_PlanRequest.with { $0.positions = [position(3), position(4)] })
            + encoded(Keel_Planner_V1_PlanRequest.with { $0.totalEquity = "6" }) + [0x98, 0x06, 0x01, 0xA2, 0x06, 0x02, 0x68, 0x69]
        // a non-minimal tag for positions (0x32 written in two bytes), and an empty position
        let longTag: [UInt8] = [0xB2, 0x00] + Array(one.dropFirst()) + [0x32, 0x00]
        // groups (wire types 3 and 4), which swift-protobuf keeps as unknown fields: as field 6 and as field 99
        let groups: [UInt8] = one + [0x33, 0x34] + [0x9B, 0x06, 0x08, 0x01, 0x9C, 0x06]
        return [[], one, nonASCII, withOddPosition, interleaved, longTag, withOddPosition + interleaved, groups]
    }

    /// Whether swift-protobuf decoded the body.
    @discardableResult
    static func expectSameDecoding(_ body: [UInt8], _ comment: Comment? = nil) -> Bool {
        let data = Data(body)
        let reference = try? Keel_Planner_V1_PlanRequest(serializedBytes: data)
        let direct = try? Keel_Planner_V1_PlanRequest(decodingPositionsDirectly: data)
        #expect(direct == reference, comment)
        return reference != nil
    }

    @Test func typicalRequestDecodesToTheSameMessage() throws {
        let body = Self.typical
        let direct = try Keel_Planner_V1_PlanRequest(decodingPositionsDirectly: Data(body))
        #expect(direct == (try Keel_Planner_V1_PlanRequest(serializedBytes: body)))
        #expect(direct.positions.count == 500)
    }

    @Test(arguments: 0..<8)
    func unusualBodiesDecodeToTheSameMessage(index: Int) throws {
        let body = Self.unusual[index]
        let reference = try Keel_Planner_V1_PlanRequest(serializedBytes: body)
        #expect(try Keel_Planner_V1_PlanRequest(decodingPositionsDirectly: Data(body)) == reference)
    }

    @Test func malformedBodiesFailWithSwiftProtobufsError() {
        // truncated inside a position; a length past the end; field number 0; invalid UTF-8; wire type 7
        for body: [UInt8] in [Array(Self.typical.dropLast(3)), [0x32, 0x7F, 0x0A], [0x02, 0x00], [0x32, 0x03, 0x0A, 0x01, 0xFF], [0x37, 0x00]] {
            var directError: (any Error)?
            var referenceError: (any Error)?
            do { _ = try Keel_Planner_V1_PlanRequest(decodingPositionsDirectly: Data(body)) } catch { directError = error }
            do { _ = try Keel_Planner_V1_PlanRequest(serializedBytes: body) } catch { referenceError = error }
            #expect(referenceError != nil, "\(body.prefix(8))")
            #expect(directError.map { "\($0)" } == referenceError.map { "\($0)" })
        }
    }

    /// Seeded mutations of valid bodies: flipped bytes, truncations, inserted bytes.
    @Test func mutatedBodiesDecodeAsSwiftProtobufDoes() {
        var state: UInt64 = 0x5EED
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        let small = Self.encoded(Keel_Planner_V1_PlanRequest.with {
            $0.totalEquity = "100"
            $0.worldAllocAfter = ["w0": "1"]
            $0.positions = (0..<40).map(Self.position)
            $0.intent = ["k": "v"]
        })
        let seeds = [small] + Self.unusual.filter { !$0.isEmpty }
        var decoded = 0
        for round in 0..<3_000 {
            var body = seeds[round % seeds.count]
            for _ in 0...next(3) {
                switch next(3) {
                case 0: body[next(body.count)] ^= UInt8(1 << next(8))
                case 1: body.removeLast(next(min(body.count, 8)))
                default: body.insert(UInt8(next(256)), at: next(body.count + 1))
                }
                if body.isEmpty { break }
            }
            if Self.expectSameDecoding(body, "round \(round)") { decoded += 1 }
        }
        // (many mutations of a message are still a message: this is not only a test of errors)
        #expect(decoded > 250)
    }
}

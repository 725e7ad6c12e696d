import Contracts
import ExactNumbers
import Foundation
import KeelTestSupport
import Planning
import SwiftProtobuf
import Testing

/// Reading a Plan request from its bytes in one pass (positions booked and hashed where they lie)
/// plans and digests exactly as the decoded message does: the same plan or the same first error,
/// and the same digest — the one stored plans were keyed by.
@Suite struct PlanRequestReadTests {
    typealias Position = Keel_Planner_V1_Position

    /// The outcome of planning: the plan, or the error's reason and field.
    enum Outcome: Equatable {
        case plan(Keel_Planner_V1_Plan)
        case error(String)
    }

    static func outcome(_ body: () throws(FieldError) -> Keel_Planner_V1_Plan) -> Outcome {
        do throws(FieldError) {
            return .plan(try body())
        } catch {
            return .error("\(error.reason) \(error.field)")
        }
    }

    /// Reads `bytes` both ways and compares plan (or error) and digest.
    static func expectSameAsDecoded(_ bytes: Data, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let read = try PlanRequestRead(bytes)
        let decoded = try PlanRequest(serializedBytes: bytes)
        #expect(read.request.positions.isEmpty, sourceLocation: sourceLocation)
        #expect(read.positions.count == decoded.positions.count, "\(label)", sourceLocation: sourceLocation)
        let byRead = outcome { () throws(FieldError) in try PlanComputation.plan(read.request, positions: read.positions) }
        let byMessage = outcome { () throws(FieldError) in try PlanComputation.plan(decoded) }
        #expect(byRead == byMessage, "\(label)", sourceLocation: sourceLocation)
        if decoded.dryRun {
            #expect(read.digest == nil, sourceLocation: sourceLocation)
        } else {
            #expect(read.digest == (try PlanRequestDigest.digest(decoded)), "\(label)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: Array(UInt64(1)...40))
    func randomRequestsPlanAndDigestAsDecoded(seed: UInt64) throws {
        let request = RandomPlanRequests.make(seed: seed, rows: 60)
        try Self.expectSameAsDecoded(try request.serializedBytes(), "seed \(seed)")
    }

    @Test func aLargerRequestPlansAndDigestsAsDecoded() throws {
        try Self.expectSameAsDecoded(try RandomPlanRequests.make(seed: 99, rows: 2_000).serializedBytes(), "2,000 rows")
    }

    static var base: PlanRequest { RandomPlanRequests.make(seed: 7, rows: 8) }

    static func edit(_ label: String, _ r: inout PlanRequest) {
        switch label {
        case "non-canonical decimals": r.positions[0].qty = "01.50"; r.positions[1].mark = "60000.000"; r.positions[2].qty = "-0"; r.positions[3].qty = ".5"
        case "a non-ASCII world": r.positions[2].worldID = "wörld"; r.worldAllocAfter["wörld"] = "0.5"; r.worldAllocBefore["wörld"] = "0.25"
        case "an invalid quantity": r.positions[3].qty = "1e3"
        case "a negative mark": r.positions[4].mark = "-1"
        case "a missing world": r.positions[1].worldID = ""
        case "a missing symbol": r.positions[5].symbol = ""
        case "a bad total and a bad row": r.totalEquity = "x"; r.positions[0].qty = "y"
        case "a dry run": r.dryRun = true
        case "target weight with positions":
            r.mode = .targetWeight; r.totalEquity = ""; r.worldAllocBefore = [:]; r.worldAllocAfter = [:]
            r.strategyAllocBeforeTotal = [:]; r.strategyAllocAfterTotal = [:]
        case "no positions": r.positions = []
        case "an empty venue": r.positions[0].venue = ""
        default: Issue.record("no edit \(label)")
        }
    }

    @Test(arguments: [
        "non-canonical decimals", "a non-ASCII world", "an invalid quantity", "a negative mark", "a missing world", "a missing symbol",
        "a bad total and a bad row", "a dry run", "target weight with positions", "no positions", "an empty venue",
    ])
    func editedRequestsPlanAndDigestAsDecoded(label: String) throws {
        var request = Self.base
        Self.edit(label, &request)
        try Self.expectSameAsDecoded(try request.serializedBytes(), label)
    }

    /// Bytes Keel's clients do not write but protobuf allows: a field sent empty, a field sent
    /// twice (the last wins), fields out of order, an unknown field in a position.
    @Test func unusualEncodingsPlanAndDigestAsDecoded() throws {
        let request = Self.base
        var head = request
        head.positions = []
        var body: Data = try head.serializedBytes()
        func field(_ number: UInt8, _ text: String) -> [UInt8] { [number << 3 | 2, UInt8(text.utf8.count)] + Array(text.utf8) }
        let p = request.positions[0]
        let entries: [[UInt8]] = [
            field(1, p.worldID) + field(2, p.strategyID) + field(3, p.symbol) + field(4, p.qty) + field(5, p.mark) + field(6, ""),
            field(1, p.worldID) + field(2, p.strategyID) + field(3, p.symbol) + field(4, "999") + field(4, "2.50") + field(5, p.mark),
            field(5, p.mark) + field(4, "3") + field(3, p.symbol) + field(2, p.strategyID) + field(1, p.worldID),
            field(1, p.worldID) + field(2, p.strategyID) + field(3, p.symbol) + field(4, "4") + field(5, p.mark) + [15 << 3 | 0, 7],
        ]
        for entry in entries { body.append(contentsOf: [6 << 3 | 2, UInt8(entry.count)] + entry) }
        try Self.expectSameAsDecoded(body, "unusual encodings")
    }

    /// The field reader matches on the numbers 1…6 themselves: they must stay proto/'s.
    @Test func positionFieldNumbersAreTheOnesTheReaderMatches() {
        typealias Field = Position.FieldNumber
        #expect([Field.worldID, Field.strategyID, Field.symbol, Field.qty, Field.mark, Field.venue] == [1, 2, 3, 4, 5, 6])
    }

    @Test func malformedBytesAreRefused() throws {
        let body: Data = try Self.base.serializedBytes()
        #expect(throws: (any Error).self) { try PlanRequestRead(body.prefix(body.count - 3)) }
        #expect(throws: (any Error).self) { try PlanRequestRead(Data([0x32, 0x05, 0x0A])) }
    }
}

import Contracts
import ExactNumbers
import Planning
import SwiftProtobuf
import Testing

/// The request digest: the same decimals written differently
/// are the same request; a different value is another.
@Suite struct PlanRequestDigestTests {
    static func request(qty: String, mark: String, secondQty: String = "2") -> Keel_Planner_V1_PlanRequest {
        .with {
            $0.totalEquity = "100"
            $0.worldAllocBefore = ["w": "0.5"]
            $0.worldAllocAfter = ["w": "0.25"]
            $0.positions = [
                .with { $0.worldID = "w"; $0.strategyID = "s"; $0.symbol = "A"; $0.qty = qty; $0.mark = mark },
                .with { $0.worldID = "w"; $0.strategyID = "s"; $0.symbol = "B"; $0.qty = secondQty; $0.mark = "10" },
            ]
        }
    }

    @Test func positionDecimalsAreCanonicalisedBeforeHashing() throws {
        let canonical = try PlanRequestDigest.digest(Self.request(qty: "1.5", mark: "60000"))
        #expect(try PlanRequestDigest.digest(Self.request(qty: "1.50", mark: "060000")) == canonical)
        #expect(try PlanRequestDigest.digest(Self.request(qty: "01.5", mark: "60000.000", secondQty: "2.0")) == canonical)
        #expect(try PlanRequestDigest.digest(Self.request(qty: "1.5", mark: "60000", secondQty: "-0")) != canonical)
        #expect(try PlanRequestDigest.digest(Self.request(qty: "1.5", mark: "60000", secondQty: "-0")) == PlanRequestDigest.digest(Self.request(qty: "1.5", mark: "60000", secondQty: "0.000")))
        #expect(try PlanRequestDigest.digest(Self.request(qty: "1.51", mark: "60000")) != canonical)
        // only what was not canonical is rewritten
        let normalized = PlanRequestDigest.normalized(Self.request(qty: "1.50", mark: "60000", secondQty: ".5"))
        #expect(normalized.positions.map(\.qty) == ["1.5", "0.5"])
        #expect(normalized.positions.map(\.mark) == ["60000", "10"])
    }

    @Test(arguments: [
        ("0", true), ("-1.5", true), ("12.034", true), ("0.5", true),
        ("-0", false), ("00", false), ("01", false), ("1.", false), ("1.50", false), (".5", false), ("1e3", false), ("", false), ("-", false), ("1.2.3", false),
    ])
    func canonicalFormIsDecidedOnTheBytes(text: String, canonical: Bool) {
        #expect(DecimalGrammar.hasCanonicalForm(text) == canonical)
    }
    /// The digest hashes positions with its own encoder: it must be byte for byte the hash of
    /// swift-protobuf's deterministic encoding of the normalized request.
    static func everyField(mode: Keel_Planner_V1_PlanMode, positions: Int) throws -> Keel_Planner_V1_PlanRequest {
        // Unknown fields: a varint field 15 on positions, a field 99 on the request.
        let unknownOnPosition: [UInt8] = [0x78, 0x05]
        let unknownOnRequest: [UInt8] = [0x98, 0x06, 0x01]
        var request = Keel_Planner_V1_PlanRequest.with {
            $0.totalEquity = "1000.50"
            $0.worldAllocBefore = ["w2": "0.50", "w1": "0.5"]
            $0.worldAllocAfter = ["w1": "0.25", "w2": ".75"]
            $0.strategyAllocBeforeTotal = ["w1": .with { $0.byStrategy = ["b": "1.0", "a": "2"] }]
            $0.strategyAllocAfterTotal = ["w1": .with { $0.byStrategy = ["a": "03", "b": "1"] }]
            $0.minTradeNotional = "5.00"
            $0.lotSizeBySymbol = ["B": "0.010", "A": "1"]
            $0.mode = mode
            $0.overlay = .with { $0.priceBySymbol = ["A": "10.0"]; $0.minOrderNotional = ""; $0.hybridRatio = "0.50" }
            $0.targetWeight = .with { $0.cash = "100.0"; $0.targetWeights = ["A": "0.5"] }
            $0.intent = ["reason": "test", "by": "digest"]
            $0.dryRun = true
        }
        request.positions = try (0..<positions).map { i in
            var p = Keel_Planner_V1_Position.with {
                $0.worldID = i % 2 == 0 ? "w1" : "w2"
                $0.strategyID = i == 7 ? String(repeating: "long-strategy-id-", count: 5_000) : (i % 3 == 0 ? "a" : "b")
                $0.symbol = i % 5 == 0 ? "" : "SYM\(i % 40)é"
                $0.qty = i % 4 == 0 ? "\(i).50" : "-\(i)"
                $0.mark = i % 6 == 0 ? "0\(i)" : "\(i + 1).25"
                $0.venue = i % 2 == 0 ? "" : "venue"
            }
            if i % 10 == 3 {
                p = try Keel_Planner_V1_Position(serializedBytes: try p.serializedBytes() as [UInt8] + unknownOnPosition)
            }
            return p
        }
        request = try Keel_Planner_V1_PlanRequest(serializedBytes: try request.serializedBytes() as [UInt8] + unknownOnRequest)
        return request
    }

    @Test(arguments: [
        (Keel_Planner_V1_PlanMode.scaling, 3), (.scaling, 3_000), (.overlay, 40), (.hybrid, 40),
        (.targetWeight, 40), (.unspecified, 2_500), (.scaling, 0),
    ])
    func digestIsTheHashOfTheNormalizedRequestsDeterministicEncoding(mode: Keel_Planner_V1_PlanMode, positions: Int) throws {
        let request = try Self.everyField(mode: mode, positions: positions)
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        let encoding: [UInt8] = try PlanRequestDigest.normalized(request).serializedBytes(options: options)
        #expect(try PlanRequestDigest.digest(request) == SHA256.hex(encoding))
        // and the normalization it hashes did its work
        let normalized = PlanRequestDigest.normalized(request)
        #expect(normalized.dryRun == false)
        if mode == .targetWeight {
            #expect(normalized.positions == request.positions)
        } else if positions > 4 {
            #expect(normalized.positions[4].qty == "4.5")
        }
    }
}

import Contracts
import ExactNumbers
import KeelTestSupport
@testable import Planning
import Testing

/// Position validation over a list long enough to be read in two halves on two threads: the
/// result, and which error answers, are those of reading it in one pass.
@Suite struct PositionValidationTests {
    static let count = PlanRequestValidation.parallelPositionCount + 1_001

    static func positions(seed: UInt64) -> [Keel_Planner_V1_Position] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            .with {
                let world = Int.random(in: 0..<5, using: &g)
                $0.worldID = "w\(world)"
                $0.strategyID = "s\(Int.random(in: 0..<4, using: &g))"
                $0.venue = ["", "x", "y"][Int.random(in: 0..<3, using: &g)]
                $0.symbol = "S\(Int.random(in: 0..<300, using: &g))"
                $0.qty = "\(Int.random(in: -9_999...9_999, using: &g)).\(Int.random(in: 0...99, using: &g))"
                $0.mark = "\(Int.random(in: 0...500, using: &g)).5"
            }
        }
    }

    static func failure(_ positions: [Keel_Planner_V1_Position]) -> FieldError? {
        do {
            _ = try PlanRequestValidation.positionBook(positions)
            return nil
        } catch {
            return error
        }
    }

    @Test func twoHalvesMakeTheBookOfOnePass() throws {
        let positions = Self.positions(seed: 21)
        let joined = try PlanRequestValidation.positionBook(positions)
        let onePass = try PlanRequestValidation.positionBook(positions, 0..<positions.count)
        #expect(joined.count == positions.count)
        #expect(joined.worlds == onePass.worlds)
        #expect(joined.strategies.map { "\($0.world):\($0.id):\($0.factor)" } == onePass.strategies.map { "\($0.world):\($0.id):\($0.factor)" })
        #expect(joined.keys == onePass.keys)
        // (the first differing row, not two lists of 34,000, on failure)
        let (rows, expected) = (joined.positionRows, onePass.positionRows)
        #expect(rows.indices.first { rows[$0] != expected[$0] } == nil)
        let ids = { (row: PositionBook.Row) in [row.world, row.strategy, row.key] }
        #expect(joined.rows.indices.first { ids(joined.rows[$0]) != ids(onePass.rows[$0]) } == nil)
    }

    /// Decimals of 20 to 34 significant digits do not fit a row's 64-bit significand: they are kept
    /// beside the rows, exactly, in either half.
    @Test func longDecimalsAreKeptExactly() throws {
        var positions = Self.positions(seed: 25)
        let middle = Self.count / 2
        let long = ["-1234567890123456789.0123456789", "9999999999999999999999999999999999", "0.0000000000000000000000000000000001", "9223372036854775808"]
        for (offset, text) in long.enumerated() {
            positions[offset].qty = text
            positions[middle + offset].mark = text.hasPrefix("-") ? String(text.dropFirst()) : text
        }
        let rows = try PlanRequestValidation.positionBook(positions).positionRows
        for (offset, text) in long.enumerated() {
            #expect(rows[offset].quantity == DecimalGrammar.parse(text))
            #expect(rows[middle + offset].mark == DecimalGrammar.parse(text.hasPrefix("-") ? String(text.dropFirst()) : text))
        }
        // the values around them are where they were
        #expect(rows[long.count].quantity == DecimalGrammar.parse(positions[long.count].qty))
        #expect(rows[middle + long.count].mark == DecimalGrammar.parse(positions[middle + long.count].mark))
    }

    @Test func theFirstBadPositionAnswersWhicheverHalfItIsIn() {
        let middle = Self.count / 2
        var positions = Self.positions(seed: 22)
        positions[middle + 7].qty = "1e3"
        #expect(Self.failure(positions)?.field == "positions[\(middle + 7)].qty")
        #expect(Self.failure(positions)?.reason == "E_INVALID_DECIMAL")

        // one earlier in the first half answers instead
        positions[middle - 3].mark = "-1"
        #expect(Self.failure(positions)?.field == "positions[\(middle - 3)].mark")
        #expect(Self.failure(positions)?.reason == "E_NEGATIVE_VALUE")

        // the first position of the second half, before a later one of the same half
        var second = Self.positions(seed: 23)
        second[Self.count - 1].worldID = ""
        second[middle].symbol = ""
        #expect(Self.failure(second)?.field == "positions[\(middle)].symbol")

        // within one position the steps' order holds: a missing name before a bad decimal
        var same = Self.positions(seed: 24)
        same[middle + 1].qty = "x"
        same[middle + 1].strategyID = ""
        #expect(Self.failure(same)?.field == "positions[\(middle + 1)].strategy_id")
    }
}

import ExactNumbers
import KeelTestSupport
@testable import Planning
import Testing

/// The interned positions the planner groups by: ids in first-appearance order, names kept exactly.
@Suite struct PositionBookTests {
    static func row(_ world: String, _ strategy: String, _ venue: String, _ symbol: String) -> PositionRow {
        PositionRow(worldID: world, strategyID: strategy, venue: venue, symbol: symbol, quantity: .one, mark: .one)
    }

    @Test func idsFollowFirstAppearanceAndStrategiesBelongToTheirWorld() {
        let book = PositionBook([
            Self.row("w1", "s", "x", "BTC"),
            Self.row("w2", "s", "x", "BTC"),   // the same strategy name in another world: another strategy
            Self.row("w1", "t", "", "BTC"),    // the absent venue is a key of its own
            Self.row("w1", "s", "x", "ETH"),
            Self.row("w2", "s", "x", "BTC"),
        ])
        #expect(book.worlds == ["w1", "w2"])
        #expect(book.strategies.map { "\($0.world):\($0.id):\($0.factor)" } == ["0:s:1", "1:s:1", "0:t:2"])
        #expect(book.keys == [SymbolKey(venue: "x", symbol: "BTC"), SymbolKey(venue: "", symbol: "BTC"), SymbolKey(venue: "x", symbol: "ETH")])
        #expect(book.rows.map { [$0.world, $0.strategy, $0.key] } == [[0, 0, 0], [1, 1, 0], [0, 2, 1], [0, 0, 2], [1, 1, 0]])
        #expect(book.strategyCountByWorld == [2, 1])
        #expect(book.keyID(of: SymbolKey(venue: "", symbol: "BTC")) == 1)
        #expect(book.keyID(of: SymbolKey(venue: "y", symbol: "BTC")) == nil)
    }

    /// Many names (the tables grow many times), long and non-ASCII ones, names that are prefixes of
    /// others, and equal names built in different ways all intern as a dictionary would.
    @Test func internsLikeADictionary() {
        var g = SeededGenerator(seed: 11)
        let alphabet = Array("ab-é🙂0123456789")
        var rows: [PositionRow] = []
        var expectedKeys: [SymbolKey] = []
        var seen: Set<SymbolKey> = []
        for _ in 0..<20_000 {
            let length = Int.random(in: 1...40, using: &g)
            // a few short names repeat often; long ones are mostly new
            let symbol = String((0..<(length < 30 ? length % 4 + 1 : length)).map { _ in alphabet.randomElement(using: &g)! })
            let venue = ["", "x", "venue-with-a-long-name-over-sixteen"].randomElement(using: &g)!
            // rebuild the string from its bytes so storage differs from the literal's
            let copy = String(decoding: Array(symbol.utf8), as: UTF8.self)
            rows.append(Self.row("w\(Int.random(in: 0..<7, using: &g))", "s\(Int.random(in: 0..<3, using: &g))", venue, copy))
            let key = SymbolKey(venue: venue, symbol: symbol)
            if seen.insert(key).inserted { expectedKeys.append(key) }
        }
        let book = PositionBook(rows)
        #expect(book.keys == expectedKeys)
        #expect(book.count == rows.count)
        for (row, interned) in zip(rows, book.rows) {
            #expect(book.keys[Int(interned.key)] == row.key)
            #expect(book.worlds[Int(interned.world)] == row.worldID)
            #expect(book.strategies[Int(interned.strategy)].id == row.strategyID)
        }
        #expect(book.positionRows.map(\.key) == rows.map(\.key))
    }

    /// A book joined from two is the book of the concatenated rows: the same names, ids, factors,
    /// rows and wide values, wherever the rows are split.
    @Test func joinedBooksAreTheBookOfTheConcatenatedRows() {
        var g = SeededGenerator(seed: 13)
        let wide = ExactDecimal(significand: BigInt.pow10(45) + BigInt(7), exponent: -3)
        for _ in 0..<200 {
            let count = Int.random(in: 0...300, using: &g)
            let rows = (0..<count).map { _ in
                PositionRow(
                    worldID: "w\(Int.random(in: 0..<4, using: &g))", strategyID: "s\(Int.random(in: 0..<3, using: &g))",
                    venue: ["", "x", "y"].randomElement(using: &g)!, symbol: "S\(Int.random(in: 0..<25, using: &g))",
                    quantity: Int.random(in: 0..<20, using: &g) == 0 ? wide : ExactDecimal(Int.random(in: -50...50, using: &g)),
                    mark: Int.random(in: 0..<20, using: &g) == 0 ? -wide : ExactDecimal(Int.random(in: 0...9, using: &g)))
            }
            let split = Int.random(in: 0...count, using: &g)
            var joined = PositionBook(Array(rows[..<split]))
            joined.append(contentsOf: PositionBook(Array(rows[split...])))
            let whole = PositionBook(rows)
            #expect(joined.worlds == whole.worlds)
            #expect(joined.strategies.map { "\($0.world):\($0.id):\($0.factor)" } == whole.strategies.map { "\($0.world):\($0.id):\($0.factor)" })
            #expect(joined.strategyCountByWorld == whole.strategyCountByWorld)
            #expect(joined.keys == whole.keys)
            #expect(joined.rows.map { [$0.world, $0.strategy, $0.key] } == whole.rows.map { [$0.world, $0.strategy, $0.key] })
            #expect(joined.positionRows == rows)
            #expect(joined.wideDecimals == whole.wideDecimals)
            for key in whole.keys { #expect(joined.keyID(of: key) == whole.keyID(of: key)) }
        }
    }

    /// The flat table and the hashed one hand out the same ids.
    @Test func pairIndexIsTheSameDenseOrHashed() {
        var g = SeededGenerator(seed: 12)
        var dense = PairIndex(aCount: 300, bCount: 300, rows: 100_000)
        var hashed = PairIndex(aCount: 300, bCount: 300, rows: 1)
        var reference: [Int: Int] = [:]
        for _ in 0..<50_000 {
            let a = Int32.random(in: 0..<300, using: &g)
            let b = Int32.random(in: 0..<300, using: &g)
            let expected = reference[Int(a) * 300 + Int(b)]
            let fromDense = dense.id(a, b)
            let fromHashed = hashed.id(a, b)
            #expect(fromDense == fromHashed)
            #expect(fromDense.inserted == (expected == nil))
            if let expected { #expect(fromDense.id == expected) } else { reference[Int(a) * 300 + Int(b)] = fromDense.id }
        }
        #expect(dense.count == reference.count && hashed.count == reference.count)
    }

    /// Values wider than Int128 (only a caller building rows directly can make them) are kept
    /// exactly and planned like any other.
    @Test func wideValuesArePlannedExactly() throws {
        let quantity = ExactDecimal(significand: BigInt(3) * BigInt.pow10(45), exponent: 0)
        let mark = ExactDecimal(significand: BigInt.pow10(40), exponent: 0)
        let rows = [
            PositionRow(worldID: "w", strategyID: "s", venue: "x", symbol: "WIDE", quantity: quantity, mark: mark),
            PositionRow(worldID: "w", strategyID: "s", venue: "x", symbol: "SMALL", quantity: ExactDecimal(4), mark: ExactDecimal(10)),
        ]
        let book = PositionBook(rows)
        #expect(book.wideDecimals.count == 2)
        #expect(book.positionRows.map(\.quantity) == [quantity, ExactDecimal(4)])
        #expect(book.positionRows.map(\.mark) == [mark, ExactDecimal(10)])

        let context = RebalanceContext(
            totalEquity: ExactDecimal(1), worldAllocBefore: ["w": ExactDecimal(2)], worldAllocAfter: ["w": ExactDecimal(1)], positions: rows)
        let plan = try ProportionalRebalancer().plan(context)
        let deltas = Dictionary(uniqueKeysWithValues: plan.perWorld[0].deltas.map { ($0.key.symbol, $0.quantity.description) })
        // halved: −1.5 × 10^45 and −2
        #expect(deltas == ["WIDE": "-15" + String(repeating: "0", count: 44), "SMALL": "-2"])

        // The first wide value is stored at index 0; it is still a quantity, so without a mark its
        // key is skipped as MISSING_MARK.
        let unmarked = RebalanceContext(
            totalEquity: ExactDecimal(1), worldAllocBefore: ["w": ExactDecimal(2)], worldAllocAfter: ["w": ExactDecimal(1)],
            positions: [PositionRow(worldID: "w", strategyID: "s", venue: "x", symbol: "WIDE", quantity: quantity, mark: .zero)])
        let skipped = try ProportionalRebalancer().plan(unmarked).perWorld[0].skipped
        #expect(skipped.map(\.reason) == [.missingMark] && skipped.map(\.key.symbol) == ["WIDE"])
    }
}

import ExactNumbers
import KeelTestSupport
import Planning
import Testing

/// Properties of proportional planning over seeded random portfolios.
@Suite struct PlanningPropertyTests {
    typealias Generator = SeededGenerator

    static func decimal(_ g: inout Generator, _ range: ClosedRange<Int>, scale: Int) -> ExactDecimal {
        ExactDecimal(significand: BigInt(Int.random(in: range, using: &g)), exponent: -scale)
    }

    /// worlds × strategies × symbols on two venues (one of them the absent venue).
    static func portfolio(seed: UInt64, rows: Int = 200, scalesOne: Bool = false, lot: ExactDecimal? = nil) -> RebalanceContext {
        var g = Generator(seed: seed)
        let worlds = (0..<4).map { "w\($0)" }
        let symbols = (0..<6).map { "S\($0)" }
        var positions: [PositionRow] = []
        for _ in 0..<rows {
            let world = worlds.randomElement(using: &g)!
            positions.append(PositionRow(
                worldID: world, strategyID: "\(world)-s\(Int.random(in: 0..<3, using: &g))",
                venue: Bool.random(using: &g) ? "x" : "", symbol: symbols.randomElement(using: &g)!,
                quantity: decimal(&g, -100_000...100_000, scale: 3), mark: decimal(&g, 100...100_000, scale: 2)))
        }
        var before: [String: ExactDecimal] = [:]
        var after: [String: ExactDecimal] = [:]
        for world in worlds {
            before[world] = decimal(&g, 1...100, scale: 2)
            after[world] = scalesOne ? before[world]! : decimal(&g, 0...100, scale: 2)
        }
        var lots: [String: ExactDecimal] = [:]
        if let lot { for symbol in symbols { lots[symbol] = lot } }
        return RebalanceContext(totalEquity: ExactDecimal(1_000_000), worldAllocBefore: before, worldAllocAfter: after, positions: positions, lotSizeBySymbol: lots)
    }

    static func deltasByWorldAndKey(_ plan: RebalancePlan) -> [String: String] {
        var out: [String: String] = [:]
        for world in plan.perWorld {
            for delta in world.deltas { out["\(world.worldID)|\(delta.key.venue)|\(delta.key.symbol)"] = delta.quantity.description }
        }
        for delta in plan.globalDeltas { out["global|\(delta.key.venue)|\(delta.key.symbol)"] = delta.quantity.description }
        return out
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func nettingDoesNotDependOnRowOrder(seed: UInt64) throws {
        var context = Self.portfolio(seed: seed, lot: ExactDecimal(significand: BigInt(1), exponent: -2))
        let planned = try ProportionalRebalancer().plan(context)
        var g = Generator(seed: seed &* 31)
        context.positions.shuffle(using: &g)
        let shuffled = try ProportionalRebalancer().plan(context)
        #expect(Self.deltasByWorldAndKey(planned) == Self.deltasByWorldAndKey(shuffled))
    }

    @Test(arguments: [UInt64(6), 7, 8])
    func allScalesOneMeansNoDeltas(seed: UInt64) throws {
        let plan = try ProportionalRebalancer().plan(Self.portfolio(seed: seed, scalesOne: true))
        #expect(plan.perWorld.allSatisfy { $0.deltas.isEmpty && $0.skipped.isEmpty && $0.scaleWorld == .one })
        #expect(plan.globalDeltas.isEmpty && plan.globalSkipped.isEmpty)
    }

    @Test(arguments: [UInt64(9), 10, 11, 12])
    func deltasReachTheTargetsWithinOneLot(seed: UInt64) throws {
        let lot = ExactDecimal(significand: BigInt(5), exponent: -2)
        let context = Self.portfolio(seed: seed, lot: lot)
        let plan = try ProportionalRebalancer().plan(context)
        for world in plan.perWorld {
            let gw = world.scaleWorld
            // Cascaded factors equal gw: target change per key = Σ qty·mark·(gw − 1) / mean mark.
            var notional: [SymbolKey: Rational] = [:]
            var marks: [SymbolKey: (Rational, Int)] = [:]
            for row in context.positions where row.worldID == world.worldID {
                notional[row.key, default: .zero] += (row.quantity * row.mark).rational * (gw - .one)
                let (sum, count) = marks[row.key] ?? (.zero, 0)
                marks[row.key] = (sum + row.mark.rational, count + 1)
            }
            let deltas = Dictionary(uniqueKeysWithValues: world.deltas.map { ($0.key, $0.quantity.rational) })
            for (key, n) in notional where !n.isZero {
                let (sum, count) = marks[key]!
                let target = n * Rational(BigInt(count)) / sum
                let planned = deltas[key] ?? .zero
                #expect((target - planned).magnitude < lot.rational, "\(world.worldID) \(key): \(target) vs \(planned)")
                // truncation toward zero never overshoots
                #expect(planned.magnitude <= target.magnitude)
            }
        }
    }

    @Test(arguments: [UInt64(13), 14, 15])
    func perWorldDeltasNetToTheGlobalDeltas(seed: UInt64) throws {
        let plan = try ProportionalRebalancer().plan(Self.portfolio(seed: seed, lot: ExactDecimal(significand: BigInt(1), exponent: -1)))
        var netted: [SymbolKey: ExactDecimal] = [:]
        for world in plan.perWorld {
            for delta in world.deltas { netted[delta.key, default: .zero] += delta.quantity }
        }
        let global = Dictionary(uniqueKeysWithValues: plan.globalDeltas.map { ($0.key, $0.quantity) })
        for (key, quantity) in netted where !quantity.isZero {
            #expect(global[key] == quantity, "\(key)")
        }
        #expect(global.count == netted.values.filter { !$0.isZero }.count)
    }
}

import Contracts

/// Seeded random plan requests of the kind that make non-terminating results: several worlds whose
/// allocations divide into repeating fractions, strategies with their own allocations, quantities
/// and marks of mixed scales on two venues, lot sizes only sometimes.
public enum RandomPlanRequests {
    public static func make(seed: UInt64, rows: Int = 24) -> Keel_Planner_V1_PlanRequest {
        var g = SeededGenerator(seed: seed)
        func decimal(_ range: ClosedRange<Int>, scale: Int) -> String {
            let value = Int.random(in: range, using: &g)
            guard scale > 0 else { return String(value) }
            let magnitude = String(value.magnitude)
            let padded = String(repeating: "0", count: max(0, scale + 1 - magnitude.count)) + magnitude
            return (value < 0 ? "-" : "") + padded.dropLast(scale) + "." + padded.suffix(scale)
        }
        let worlds = (0..<Int.random(in: 2...4, using: &g)).map { "w\($0)" }
        let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
        var request = Keel_Planner_V1_PlanRequest()
        request.totalEquity = decimal(1_000...10_000_000, scale: Int.random(in: 0...2, using: &g))
        for world in worlds {
            // Thirds, sevenths and their like: the scales do not terminate.
            request.worldAllocBefore[world] = decimal(1...97, scale: 2)
            request.worldAllocAfter[world] = decimal(0...97, scale: 2)
        }
        var strategies: [String: [String]] = [:]
        for _ in 0..<rows {
            let world = worlds.randomElement(using: &g)!
            let strategy = "\(world)-s\(Int.random(in: 0..<3, using: &g))"
            strategies[world, default: []].append(strategy)
            request.positions.append(.with {
                $0.worldID = world
                $0.strategyID = strategy
                $0.venue = Bool.random(using: &g) ? "binance" : ""
                $0.symbol = symbols.randomElement(using: &g)!
                $0.qty = decimal(-5_000_000...5_000_000, scale: Int.random(in: 0...6, using: &g))
                $0.mark = decimal(1...9_000_000, scale: Int.random(in: 0...4, using: &g))
            })
        }
        if Bool.random(using: &g) {
            // Strategy allocations too: the capped or strategy-scale combinations of both.
            for (world, ids) in strategies {
                request.strategyAllocBeforeTotal[world] = .with { a in for id in Set(ids) { a.byStrategy[id] = decimal(1...60, scale: 3) } }
                request.strategyAllocAfterTotal[world] = .with { a in for id in Set(ids) { a.byStrategy[id] = decimal(0...60, scale: 3) } }
            }
            request.scaleCombination = Bool.random(using: &g) ? .capped : .strategyScale
        }
        if Int.random(in: 0..<3, using: &g) == 0 { request.lotSizeBySymbol = ["BTCUSDT": "0.001", "ETHUSDT": "0.01"] }
        if Bool.random(using: &g) { request.minTradeNotional = decimal(0...500, scale: 1) }
        return request
    }
}

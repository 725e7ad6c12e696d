import ExactNumbers

/// The default planner: proportional scaling per world and strategy, exact
/// netting per (venue, symbol), dust-free materialisation, global net deltas, and the OVERLAY and
/// HYBRID modes. One pass over the rows indexes everything; each key is then evaluated once.
public struct ProportionalRebalancer: Rebalancer {
    public init() {}

    public func plan(_ context: RebalanceContext) throws(PlanningFailure) -> RebalancePlan {
        let index = RowIndex(context.book)
        var plan = RebalancePlan()
        let hybridRatio: Rational?
        let overlay: OverlaySettings?
        let scales: Bool
        switch context.mode {
        case .scaling: (overlay, hybridRatio, scales) = (nil, nil, true)
        case .overlay(let settings): (overlay, hybridRatio, scales) = (settings, nil, false)
        case .hybrid(let settings, let ratio): (overlay, hybridRatio, scales) = (settings, ratio.rational, true)
        }

        // Per world plan, the key id of each delta (for the global netting).
        var deltaKeyIDs: [[Int32]] = []
        for world in index.worlds {
            let factors = WorldFactors(world: world, context: context)
            // HYBRID: scaling carries (1 − h) of each factor's change.
            let adjust: (Rational) -> Rational = { g in
                guard let h = hybridRatio else { return g }
                return Rational.one + (Rational.one - h) * (g - Rational.one)
            }
            var worldPlan = WorldPlan(
                worldID: world.id, scaleWorld: adjust(factors.worldScale),
                scaleByStrategy: factors.strategyScales.mapValues(adjust), deltas: [], skipped: [])
            if scales {
                var keyIDs: [Int32] = []
                materialise(world: world, index: index, factors: factors.factorTable.map(adjust), context: context, into: &worldPlan, keyIDs: &keyIDs)
                deltaKeyIDs.append(keyIDs)
            }
            plan.perWorld.append(worldPlan)

            if let overlay {
                try overlayLeg(world: world, worldScale: factors.worldScale, share: hybridRatio ?? .one, overlay: overlay, context: context, into: &plan)
            }
        }
        if scales { globalDeltas(index: index, deltaKeyIDs: deltaKeyIDs, context: context, into: &plan) }
        return plan
    }

    /// Per key: the netted notional change, then a delta or a skip record.
    private func materialise(world: RowIndex.World, index: RowIndex, factors: [Rational], context: RebalanceContext, into plan: inout WorldPlan, keyIDs: inout [Int32]) {
        let minimum = context.minTradeNotional.rational
        let changes = FactorChanges(factors)
        for accumulator in world.keys {
            let key = index.keys[Int(accumulator.keyID)]
            let sums = index.factorSums[accumulator.sums]
            if accumulator.positiveMarkCount == 0 {
                // MISSING_MARK when a row with a quantity would change
                if sums.contains(where: { $0.hasNonZeroQuantity && factors[Int($0.factor)] != .one }) {
                    plan.skipped.append(SkippedDelta(worldID: world.id, key: key, reason: .missingMark, notional: .zero, rawQuantity: nil))
                }
                continue
            }
            // n = Σ notional_f × (g_f − 1), summed exactly over the world's common denominator.
            var scaledNotional = DecimalSum()
            for sum in sums where !sum.notional.isZero {
                scaledNotional.add(product: sum.notional.value, changes.numerators[Int(sum.factor)])
            }
            if scaledNotional.isZero { continue }
            let notional = scaledNotional.value.rational / changes.denominator
            if notional.magnitude < minimum {
                plan.skipped.append(SkippedDelta(worldID: world.id, key: key, reason: .belowMinNotional, notional: notional, rawQuantity: nil))
                continue
            }
            // raw = n / (S / c)
            let raw = notional * Rational(BigInt(accumulator.positiveMarkCount)) / accumulator.positiveMarkSum.rational
            let lot = context.lotSizeBySymbol[key.symbol] ?? .zero
            // Without a lot the raw quantity itself (never zero here), written to 34 digits.
            let quantity = lot.isZero ? raw.roundedToSignificantDigits(34) : raw.lotMultiple(lot)
            if quantity.isZero {
                plan.skipped.append(SkippedDelta(worldID: world.id, key: key, reason: .roundedToZero, notional: notional, rawQuantity: raw))
                continue
            }
            plan.deltas.append(SymbolDelta(key: key, quantity: quantity.roundedToSignificantDigits(34)))
            keyIDs.append(accumulator.keyID)
        }
    }

    /// Global deltas: per-world quantities as written, netted per key; the floor again at the
    /// all-rows mean mark.
    private func globalDeltas(index: RowIndex, deltaKeyIDs: [[Int32]], context: RebalanceContext, into plan: inout RebalancePlan) {
        var order: [Int32] = []
        var sums = [ExactDecimal?](repeating: nil, count: index.keys.count)
        for (world, keyIDs) in zip(plan.perWorld, deltaKeyIDs) {
            for (delta, keyID) in zip(world.deltas, keyIDs) {
                if let sum = sums[Int(keyID)] {
                    sums[Int(keyID)] = sum + delta.quantity
                } else {
                    sums[Int(keyID)] = delta.quantity
                    order.append(keyID)
                }
            }
        }
        let minimum = context.minTradeNotional.rational
        for keyID in order {
            let key = index.keys[Int(keyID)]
            let quantity = sums[Int(keyID)]!
            if quantity.isZero { continue }
            let marks = index.globalMarks[Int(keyID)]
            let mark = marks.sum.rational / Rational(BigInt(marks.count))
            let notional = quantity.rational * mark
            if notional.magnitude < minimum {
                plan.globalSkipped.append(SkippedDelta(worldID: "", key: key, reason: .belowMinNotional, notional: notional, rawQuantity: nil))
                continue
            }
            let rounded = quantity.roundedToLot(context.lotSizeBySymbol[key.symbol] ?? .zero)
            if rounded.isZero {
                plan.globalSkipped.append(SkippedDelta(worldID: "", key: key, reason: .roundedToZero, notional: notional, rawQuantity: quantity.rational))
                continue
            }
            // The sum of quantities as written can carry more than 34 significant digits (their
            // exponents differ); it is written with output rounding like every other result.
            plan.globalDeltas.append(SymbolDelta(key: key, quantity: rounded.roundedToSignificantDigits(34)))
        }
    }

    /// OVERLAY (and HYBRID's overlay part, `share` = h): the world's change on its hedge instrument.
    private func overlayLeg(
        world: RowIndex.World, worldScale: Rational, share: Rational, overlay: OverlaySettings,
        context: RebalanceContext, into plan: inout RebalancePlan
    ) throws(PlanningFailure) {
        let change = share * (worldScale - .one) * world.netNotional.rational
        if change.isZero { return }
        guard let instrument = overlay.instrumentByWorld[world.id] else {
            throw PlanningFailure(
                reason: .overlayConfig, field: "overlay.instrument_by_world[\(world.id)]",
                message: "world \(world.id) changes but overlay.instrument_by_world has no instrument for it",
                metadata: ["world_id": world.id])
        }
        guard let price = overlay.priceBySymbol[instrument], !price.isZero else {
            throw PlanningFailure(
                reason: .overlayConfig, field: "overlay.price_by_symbol[\(instrument)]",
                message: "overlay instrument \(instrument) of world \(world.id) needs a positive price in overlay.price_by_symbol",
                metadata: ["world_id": world.id])
        }
        let key = SymbolKey(venue: "", symbol: instrument)
        if change.magnitude < overlay.minOrderNotional.rational {
            plan.overlaySkipped.append(SkippedDelta(worldID: world.id, key: key, reason: .belowMinNotional, notional: change, rawQuantity: nil))
            return
        }
        let raw = change / price.rational
        let quantity = raw.roundedToLot(context.lotSizeBySymbol[instrument] ?? .zero)
        if quantity.isZero {
            plan.overlaySkipped.append(SkippedDelta(worldID: world.id, key: key, reason: .roundedToZero, notional: change, rawQuantity: raw))
            return
        }
        plan.overlayDeltas.append(OverlayDelta(worldID: world.id, instrument: instrument, quantity: quantity.roundedToSignificantDigits(34), notional: change))
    }
}

/// A world's factor changes g_f − 1 over one common denominator D: `numerators[f]` / D each, so a
/// key's notional change is one exact decimal sum and one division.
struct FactorChanges {
    let numerators: [ExactDecimal]
    let denominator: Rational

    init(_ factors: [Rational]) {
        let changes = factors.map { ($0 - .one).reduced() }
        var common = BigInt.one
        for change in changes where !change.isZero {
            common = common / BigInt.gcd(common, change.denominator) * change.denominator
        }
        numerators = changes.map { ExactDecimal($0.numerator * (common / $0.denominator)) }
        denominator = Rational(common)
    }
}

/// The world scale, the strategy allocations before and after, and the factor each row
/// uses. Factor 0 is the world scale (rows whose strategy is not in the after map); the others are
/// one per strategy of the after map.
struct WorldFactors {
    let worldScale: Rational
    let strategyScales: [String: Rational]
    let factorTable: [Rational]

    init(world: RowIndex.World, context: RebalanceContext) {
        let before = context.worldAllocBefore[world.id] ?? .zero
        let after = context.worldAllocAfter[world.id] ?? .zero
        let gw: Rational
        if before.signum > 0 {
            gw = after.rational / before.rational
        } else {
            gw = after.signum > 0 ? .one : .zero
        }
        worldScale = gw

        // before map b: explicit, or derived from the world's rows
        var b: [String: Rational] = [:]
        if let explicit = context.strategyAllocBefore[world.id] {
            b = explicit.mapValues(\.rational)
        } else {
            var total = ExactDecimal.zero
            for notional in world.strategyNotional { total += notional }
            if total.signum > 0 {
                let denominator = context.totalEquity.signum > 0 ? context.totalEquity.rational : total.rational
                for (strategy, notional) in zip(world.strategyOrder, world.strategyNotional) { b[strategy] = notional.rational / denominator }
            } else {
                for strategy in world.strategyOrder { b[strategy] = .zero }
            }
        }

        // after map a and the strategy scales gs
        var gs: [String: Rational] = [:]
        if let explicit = context.strategyAllocAfter[world.id] {
            for (strategy, allocation) in explicit {
                if let prior = b[strategy], prior.signum > 0 {
                    gs[strategy] = allocation.rational / prior
                } else {
                    gs[strategy] = gw
                }
            }
        } else {
            // cascaded: a[s] = b[s] × gw, so gs[s] = gw exactly
            for strategy in b.keys { gs[strategy] = gw }
        }

        var effective: [String: Rational] = [:]
        for (strategy, scale) in gs {
            switch context.scaleCombination {
            case .strategyScale:
                effective[strategy] = scale
            case .capped:
                if gw < .one {
                    effective[strategy] = min(gw, scale)
                } else if gw > .one {
                    effective[strategy] = max(gw, scale)
                } else {
                    effective[strategy] = scale
                }
            }
        }
        strategyScales = effective
        var table = [gw]
        for strategy in world.strategyOrder {
            table.append(effective[strategy] ?? gw)
        }
        factorTable = table
    }
}

/// The pass over the rows of the interned book: worlds in first-appearance order, and per world
/// its keys (first appearance), per key the notional per factor and the positive marks; across worlds
/// the positive marks per key (for the global mean). A row costs one load of its (strategy, key)
/// cell and one product of its quantity and mark.
struct RowIndex {
    struct FactorSum {
        /// 0 = the world scale; i = the world's i-th strategy (1-based).
        var factor: Int32
        /// Σ qty × mark of the key's rows with this factor.
        var notional: DecimalSum
        var hasNonZeroQuantity: Bool
    }

    struct KeyAccumulator {
        let keyID: Int32
        /// The key's factor sums in `RowIndex.factorSums` (one per strategy holding the key).
        var sums: Range<Int> = 0..<0
        var positiveMarks = DecimalSum()
        var positiveMarkCount = 0

        var positiveMarkSum: ExactDecimal { positiveMarks.value }
    }

    struct World {
        let id: String
        var netSum: DecimalSum
        /// In first-appearance order among the world's rows.
        var keys: [KeyAccumulator] = []
        /// Strategies in first-appearance order; a row's factor is 1 + its strategy's position here.
        var strategyOrder: [String] = []
        /// Σ qty × mark per strategy (signed), parallel to `strategyOrder`.
        var strategySums: [DecimalSum] = []

        var strategyNotional: [ExactDecimal] { strategySums.map(\.value) }
        var netNotional: ExactDecimal { netSum.value }
    }

    /// A (strategy, key) pair's sums while the rows are read.
    struct CellSum {
        var notional = DecimalSum()
        var positiveMarks = DecimalSum()
        var positiveMarkCount = 0
        let holding: Int32
        let strategy: Int32
        let key: Int32
        let factor: Int32
        var hasNonZeroQuantity = false

        init(holding: Int32, strategy: Int32, key: Int32, factor: Int32) {
            self.holding = holding
            self.strategy = strategy
            self.key = key
            self.factor = factor
        }
    }

    struct MarkSum {
        var total = DecimalSum()
        var count = 0
        var sum: ExactDecimal { total.value }
    }

    var worlds: [World]
    /// Every key's factor sums, each key's together in the order its cells appeared.
    var factorSums: [FactorSum] = []
    /// By key id of the book.
    var globalMarks: [MarkSum]
    let keys: [SymbolKey]

    init(_ book: PositionBook) {
        keys = book.keys
        var marks = Array(repeating: MarkSum(), count: book.keys.count)
        var strategySums = Array(repeating: DecimalSum(), count: book.strategies.count)
        var netSums = Array(repeating: DecimalSum(), count: book.worlds.count)
        // A cell is a (strategy, key) pair, a holding a (world, key) pair. A row touches only its
        // cell (one struct, so mostly one cache line); holdings are summed from cells afterwards.
        var cells = PairIndex(aCount: book.strategies.count, bCount: book.keys.count, rows: book.count)
        var cellSums: [CellSum] = []
        var holdings = PairIndex(aCount: book.worlds.count, bCount: book.keys.count, rows: book.count)
        var accumulators: [KeyAccumulator] = []
        var holdingWorld: [Int32] = []
        // Two passes: first every row's cell (creating cells and holdings in row order), then the
        // sums, a short loop over fixed buffers whose cache misses on cells can overlap.
        var cellOfRow = [Int32](repeating: 0, count: book.count)
        // At most one cell and one holding per row: reserved (address space only) instead of grown.
        cellSums.reserveCapacity(min(book.count, book.strategies.count * book.keys.count))
        accumulators.reserveCapacity(min(book.count, book.worlds.count * book.keys.count))
        book.rows.withUnsafeBufferPointer { rows in
            for (i, row) in rows.enumerated() {
                let (cell, newCell) = cells.id(row.strategy, row.key)
                if newCell {
                    let (holding, newHolding) = holdings.id(row.world, row.key)
                    if newHolding {
                        accumulators.append(KeyAccumulator(keyID: row.key))
                        holdingWorld.append(row.world)
                    }
                    cellSums.append(CellSum(holding: Int32(holding), strategy: row.strategy, key: row.key, factor: book.strategies[Int(row.strategy)].factor))
                }
                cellOfRow[i] = Int32(cell)
            }
        }
        book.rows.withUnsafeBufferPointer { rows in
            cellOfRow.withUnsafeBufferPointer { cellOfRow in
                cellSums.withUnsafeMutableBufferPointer { cellSums in
                    for i in rows.indices {
                        Self.add(rows[i], to: &cellSums[Int(cellOfRow[i])], book: book)
                    }
                }
            }
        }
        // Each holding's factor sums in the order its cells appeared, laid out holding by holding.
        var start = [Int](repeating: 0, count: accumulators.count + 1)
        var sums: [FactorSum] = []
        // Cells are read in place: a copy of one retains and releases both of its sums' boxes.
        cellSums.withUnsafeBufferPointer { cells in
            for c in cells.indices { start[Int(cells[c].holding) + 1] += 1 }
            for h in accumulators.indices {
                start[h + 1] += start[h]
                accumulators[h].sums = start[h]..<start[h + 1]
            }
            sums = [FactorSum](repeating: FactorSum(factor: 0, notional: DecimalSum(), hasNonZeroQuantity: false), count: cells.count)
            var next = start
            for c in cells.indices {
                let strategy = Int(cells[c].strategy), key = Int(cells[c].key), h = Int(cells[c].holding)
                strategySums[strategy].add(cells[c].notional)
                netSums[Int(book.strategies[strategy].world)].add(cells[c].notional)
                marks[key].total.add(cells[c].positiveMarks)
                marks[key].count += cells[c].positiveMarkCount
                sums[next[h]] = FactorSum(factor: cells[c].factor, notional: cells[c].notional, hasNonZeroQuantity: cells[c].hasNonZeroQuantity)
                next[h] += 1
                accumulators[h].positiveMarks.add(cells[c].positiveMarks)
                accumulators[h].positiveMarkCount += cells[c].positiveMarkCount
            }
        }
        factorSums = sums
        globalMarks = marks
        var worlds = book.worlds.indices.map { World(id: book.worlds[$0], netSum: netSums[$0]) }
        for (strategy, sum) in zip(book.strategies, strategySums) {
            worlds[Int(strategy.world)].strategyOrder.append(strategy.id)
            worlds[Int(strategy.world)].strategySums.append(sum)
        }
        for (accumulator, world) in zip(accumulators, holdingWorld) {
            worlds[Int(world)].keys.append(accumulator)
        }
        self.worlds = worlds
    }
}

extension RowIndex {
    /// qty × mark once, into the row's cell; strategies, worlds and keys are summed from cells afterwards.
    @inline(__always)
    static func add(_ row: PositionBook.Row, to cell: inout CellSum, book: PositionBook) {
        let (quantity, mark) = (row.quantity, row.mark)
        if quantity.isWide || mark.isWide {
            let markValue = book.value(mark)
            cell.notional.add(product: book.value(quantity), markValue)
            if markValue.signum > 0 {
                cell.positiveMarks.add(markValue)
                cell.positiveMarkCount += 1
            }
        } else {
            // (two 64-bit significands: their product always fits 128 bits)
            cell.notional.add(significand: Int128(quantity.significand) * Int128(mark.significand), exponent: Int(quantity.exponent) + Int(mark.exponent))
            if mark.significand > 0 {
                cell.positiveMarks.add(significand: Int128(mark.significand), exponent: Int(mark.exponent))
                cell.positiveMarkCount += 1
            }
        }
        // (a wide value is never zero; its significand is an index)
        if quantity.isWide || quantity.significand != 0 { cell.hasNonZeroQuantity = true }
    }
}

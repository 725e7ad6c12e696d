import ExactNumbers

/// The default planner (spec/planner.md §3–§4): proportional scaling per world and strategy, exact
/// netting per (venue, symbol), dust-free materialisation, global net deltas, and the OVERLAY and
/// HYBRID modes. One pass over the rows indexes everything; each key is then evaluated once.
public struct ProportionalRebalancer: Rebalancer {
    public init() {}

    public func plan(_ context: RebalanceContext) throws(PlanningFailure) -> RebalancePlan {
        let index = RowIndex(context.positions)
        var plan = RebalancePlan()
        let hybridRatio: Rational?
        let overlay: OverlaySettings?
        let scales: Bool
        switch context.mode {
        case .scaling: (overlay, hybridRatio, scales) = (nil, nil, true)
        case .overlay(let settings): (overlay, hybridRatio, scales) = (settings, nil, false)
        case .hybrid(let settings, let ratio): (overlay, hybridRatio, scales) = (settings, ratio.rational, true)
        }

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
                materialise(world: world, factors: factors.factorTable.map(adjust), context: context, into: &worldPlan)
            }
            plan.perWorld.append(worldPlan)

            if let overlay {
                try overlayLeg(world: world, worldScale: factors.worldScale, share: hybridRatio ?? .one, overlay: overlay, context: context, into: &plan)
            }
        }
        if scales { globalDeltas(index: index, context: context, into: &plan) }
        return plan
    }

    /// §3.5–§3.6: per key, the netted notional change, then a delta or a skip record.
    private func materialise(world: RowIndex.World, factors: [Rational], context: RebalanceContext, into plan: inout WorldPlan) {
        let minimum = context.minTradeNotional.rational
        for accumulator in world.keys {
            let key = accumulator.key
            let changing = accumulator.nonZeroQuantityFactors.contains { factors[$0] != .one }
            if accumulator.positiveMarkCount == 0 {
                if changing {
                    plan.skipped.append(SkippedDelta(worldID: world.id, key: key, reason: .missingMark, notional: .zero, rawQuantity: nil))
                }
                continue
            }
            var notional = Rational.zero
            for sum in accumulator.sums where !sum.notional.isZero {
                notional += sum.notional.value.rational * (factors[sum.factor] - .one)
            }
            if notional.isZero { continue }
            if notional.magnitude < minimum {
                plan.skipped.append(SkippedDelta(worldID: world.id, key: key, reason: .belowMinNotional, notional: notional, rawQuantity: nil))
                continue
            }
            // raw = n / (S / c)
            let raw = notional * Rational(BigInt(accumulator.positiveMarkCount)) / accumulator.positiveMarkSum.rational
            let quantity = raw.roundedToLot(context.lotSizeBySymbol[key.symbol] ?? .zero)
            if quantity.isZero {
                plan.skipped.append(SkippedDelta(worldID: world.id, key: key, reason: .roundedToZero, notional: notional, rawQuantity: raw))
                continue
            }
            plan.deltas.append(SymbolDelta(key: key, quantity: quantity.roundedToSignificantDigits(34)))
        }
    }

    /// §3.7: per-world quantities as written, netted per key; the floor again at the all-rows mean mark.
    private func globalDeltas(index: RowIndex, context: RebalanceContext, into plan: inout RebalancePlan) {
        var order: [SymbolKey] = []
        var sums: [SymbolKey: ExactDecimal] = [:]
        for world in plan.perWorld {
            for delta in world.deltas {
                if let sum = sums[delta.key] {
                    sums[delta.key] = sum + delta.quantity
                } else {
                    sums[delta.key] = delta.quantity
                    order.append(delta.key)
                }
            }
        }
        let minimum = context.minTradeNotional.rational
        for key in order {
            let quantity = sums[key]!
            if quantity.isZero { continue }
            let marks = index.marks(of: key)
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
            plan.globalDeltas.append(SymbolDelta(key: key, quantity: rounded))
        }
    }

    /// §4.1 (and the overlay part of §4.2 with `share` = h): the world's change on its hedge instrument.
    private func overlayLeg(
        world: RowIndex.World, worldScale: Rational, share: Rational, overlay: OverlaySettings,
        context: RebalanceContext, into plan: inout RebalancePlan
    ) throws(PlanningFailure) {
        let change = share * (worldScale - .one) * world.netNotional.rational
        if change.isZero { return }
        guard let instrument = overlay.instrumentByWorld[world.id] else {
            throw PlanningFailure(
                reason: "E_OVERLAY_CONFIG", field: "overlay.instrument_by_world[\(world.id)]",
                message: "world \(world.id) changes but overlay.instrument_by_world has no instrument for it",
                metadata: ["world_id": world.id])
        }
        guard let price = overlay.priceBySymbol[instrument], !price.isZero else {
            throw PlanningFailure(
                reason: "E_OVERLAY_CONFIG", field: "overlay.price_by_symbol[\(instrument)]",
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

/// §3.2–§3.4: the world scale, the strategy allocations before and after, and the factor each row
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

/// The one pass over the rows: worlds in first-appearance order, and per world its keys (first
/// appearance), per key the notional per factor and the positive marks; across worlds the positive
/// marks per key (for the global mean). Keys are interned once, so each row costs one hash of its
/// key, one of its world (skipped when it repeats the previous row's) and one of its strategy.
struct RowIndex {
    struct FactorSum {
        /// 0 = the world scale; i = the world's i-th strategy (1-based).
        var factor: Int
        /// Σ qty × mark of the key's rows with this factor.
        var notional: DecimalSum
        var hasNonZeroQuantity: Bool
    }

    struct KeyAccumulator {
        let key: SymbolKey
        /// Few entries (one per strategy holding the key): a list beats a hash table here.
        var sums: [FactorSum] = []
        var positiveMarks = DecimalSum()
        var positiveMarkCount = 0

        var positiveMarkSum: ExactDecimal { positiveMarks.value }

        /// Factors of rows with a non-zero quantity (for MISSING_MARK).
        var nonZeroQuantityFactors: [Int] { sums.filter(\.hasNonZeroQuantity).map(\.factor) }
    }

    struct World {
        let id: String
        /// In first-appearance order among the world's rows.
        var keys: [KeyAccumulator] = []
        var slotByKeyID: [Int: Int] = [:]
        /// Strategies in first-appearance order; a row's factor is 1 + its strategy's position here.
        var strategyOrder: [String] = []
        var strategyIndex: [String: Int] = [:]
        /// Σ qty × mark per strategy (signed), parallel to `strategyOrder`.
        var strategySums: [DecimalSum] = []
        var netSum = DecimalSum()

        var strategyNotional: [ExactDecimal] { strategySums.map(\.value) }
        var netNotional: ExactDecimal { netSum.value }
    }

    struct MarkSum {
        var total = DecimalSum()
        var count = 0
        var sum: ExactDecimal { total.value }
    }

    var worlds: [World] = []
    var keyIDs: [SymbolKey: Int] = [:]
    var globalMarks: [MarkSum] = []

    init(_ rows: [PositionRow]) {
        var worldIndex: [String: Int] = [:]
        var previousWorld: (id: String, index: Int)?
        for row in rows {
            let w: Int
            if let previous = previousWorld, previous.id == row.worldID {
                w = previous.index
            } else if let existing = worldIndex[row.worldID] {
                w = existing
            } else {
                w = worlds.count
                worldIndex[row.worldID] = w
                worlds.append(World(id: row.worldID))
            }
            previousWorld = (row.worldID, w)

            let keyID: Int
            if let existing = keyIDs[row.key] {
                keyID = existing
            } else {
                keyID = globalMarks.count
                keyIDs[row.key] = keyID
                globalMarks.append(MarkSum())
            }
            if row.mark.signum > 0 {
                globalMarks[keyID].total.add(row.mark)
                globalMarks[keyID].count += 1
            }
            worlds[w].add(row, keyID: keyID)
        }
    }

    func marks(of key: SymbolKey) -> MarkSum { globalMarks[keyIDs[key]!] }
}

extension RowIndex.World {
    mutating func add(_ row: PositionRow, keyID: Int) {
        let strategy: Int
        if let s = strategyIndex[row.strategyID] {
            strategy = s
        } else {
            strategy = strategyOrder.count
            strategyIndex[row.strategyID] = strategy
            strategyOrder.append(row.strategyID)
            strategySums.append(DecimalSum())
        }
        strategySums[strategy].add(product: row.quantity, row.mark)
        netSum.add(product: row.quantity, row.mark)

        let slot: Int
        if let existing = slotByKeyID[keyID] {
            slot = existing
        } else {
            slot = keys.count
            slotByKeyID[keyID] = slot
            keys.append(RowIndex.KeyAccumulator(key: row.key))
        }
        let factor = strategy + 1
        let nonZero = !row.quantity.isZero
        if let i = keys[slot].sums.firstIndex(where: { $0.factor == factor }) {
            keys[slot].sums[i].notional.add(product: row.quantity, row.mark)
            if nonZero { keys[slot].sums[i].hasNonZeroQuantity = true }
        } else {
            var sum = DecimalSum()
            sum.add(product: row.quantity, row.mark)
            keys[slot].sums.append(RowIndex.FactorSum(factor: factor, notional: sum, hasNonZeroQuantity: nonZero))
        }
        if row.mark.signum > 0 {
            keys[slot].positiveMarks.add(row.mark)
            keys[slot].positiveMarkCount += 1
        }
    }
}

import Contracts
import Dispatch
import ExactNumbers

public typealias PlanRequest = Keel_Planner_V1_PlanRequest

/// A validated `PlanRequest`: the proportional context, or a target-weight request.
public enum ValidatedPlanRequest: Sendable {
    case proportional(RebalanceContext)
    case targetWeight(TargetWeightInput)
}

/// Validation of `PlanRequest` in the order of docs/architecture.md#plan-validation: the first failure
/// answers, naming the field.
public enum PlanRequestValidation {
    /// `positions`: the request's positions as read from its bytes (`PlanRequestRead`), in place of
    /// `request.positions`.
    public static func validate(_ request: PlanRequest, positions: PositionsRead? = nil) throws(FieldError) -> ValidatedPlanRequest {
        // 1. mode
        let mode = request.mode
        switch mode {
        case .unspecified, .scaling, .overlay, .hybrid, .targetWeight: break
        case .UNRECOGNIZED(let number):
            throw FieldError(.unknownEnum, field: "mode", message: "mode \(number) is not a PlanMode")
        }
        if mode == .targetWeight {
            return .targetWeight(try validateTargetWeightMode(request, positionCount: positions?.count ?? request.positions.count))
        }
        if request.hasTargetWeight {
            throw FieldError(.fieldNotAllowed, field: "target_weight", message: "target_weight is only allowed with mode PLAN_MODE_TARGET_WEIGHT")
        }

        // 2. total_equity
        let totalEquity = try DecimalText.parseExactNonNegative(request.totalEquity, field: "total_equity")
        // 3. world allocations
        let before = try nonNegativeMap(request.worldAllocBefore, field: "world_alloc_before")
        let after = try nonNegativeMap(request.worldAllocAfter, field: "world_alloc_after")
        // 4. strategy allocations
        let strategyBefore = try strategyMap(request.strategyAllocBeforeTotal, field: "strategy_alloc_before_total")
        let strategyAfter = try strategyMap(request.strategyAllocAfterTotal, field: "strategy_alloc_after_total")
        // 5. positions
        let book: PositionBook
        if let positions { book = try positions.book.get() } else { book = try positionBook(request.positions) }
        // 6. min_trade_notional, lots, scale_combination
        let minTradeNotional = request.minTradeNotional.isEmpty ? ExactDecimal.zero : try DecimalText.parseExactNonNegative(request.minTradeNotional, field: "min_trade_notional")
        let lots = try nonNegativeMap(request.lotSizeBySymbol, field: "lot_size_by_symbol")
        let combination: ScaleCombination
        switch request.scaleCombination {
        case .unspecified, .strategyScale: combination = .strategyScale
        case .capped: combination = .capped
        case .UNRECOGNIZED(let number):
            throw FieldError(.unknownEnum, field: "scale_combination", message: "scale_combination \(number) is not a ScaleCombination")
        }
        // 7. overlay, when present
        var overlay: OverlaySettings?
        var hybridRatio: ExactDecimal?
        if request.hasOverlay {
            let config = request.overlay
            for world in FieldPath.sortedKeys(config.instrumentByWorld) where config.instrumentByWorld[world]!.isEmpty {
                throw FieldError.missing("overlay.instrument_by_world[\(world)]")
            }
            let prices = try nonNegativeMap(config.priceBySymbol, field: "overlay.price_by_symbol")
            let minimum = config.minOrderNotional.isEmpty ? ExactDecimal.zero : try DecimalText.parseExactNonNegative(config.minOrderNotional, field: "overlay.min_order_notional")
            if !config.hybridRatio.isEmpty {
                hybridRatio = try DecimalText.parseExact(config.hybridRatio, field: "overlay.hybrid_ratio")
            }
            overlay = OverlaySettings(instrumentByWorld: config.instrumentByWorld, priceBySymbol: prices, minOrderNotional: minimum)
        }
        // 8. every world with positions has an after allocation
        // The book lists worlds in first-appearance order: the first missing one is the first row's.
        for world in book.worlds where after[world] == nil {
            throw FieldError(
                .worldAllocMissing, field: "world_alloc_after[\(world)]",
                message: "world \(world) has positions but no after-allocation; liquidation is requested with \"0\"",
                metadata: ["world_id": world])
        }
        // 9. the mode's own requirements
        let rebalanceMode: RebalanceMode
        switch mode {
        case .overlay, .hybrid:
            guard let overlay else {
                throw FieldError(.overlayConfig, field: "overlay", message: "mode \(mode == .overlay ? "PLAN_MODE_OVERLAY" : "PLAN_MODE_HYBRID") needs an overlay config")
            }
            if mode == .hybrid {
                guard let ratio = hybridRatio else { throw FieldError.missing("overlay.hybrid_ratio") }
                guard ratio.signum >= 0, ratio <= .one else {
                    throw FieldError(.valueOutOfRange, field: "overlay.hybrid_ratio", message: "overlay.hybrid_ratio must be within [0, 1], got \(request.overlay.hybridRatio)")
                }
                rebalanceMode = .hybrid(overlay, ratio: ratio)
            } else {
                rebalanceMode = .overlay(overlay)
            }
        default:
            rebalanceMode = .scaling
        }
        return .proportional(RebalanceContext(
            totalEquity: totalEquity, worldAllocBefore: before, worldAllocAfter: after,
            strategyAllocBefore: strategyBefore, strategyAllocAfter: strategyAfter, book: book,
            minTradeNotional: minTradeNotional, lotSizeBySymbol: lots, mode: rebalanceMode, scaleCombination: combination))
    }

    /// From this many positions on, the two halves of the list are read on two threads and their
    /// books joined; below it a second thread costs more than it saves.
    static let parallelPositionCount = 32_768

    /// The positions as a book, or the first bad position's error (in list order, whichever half it is in).
    static func positionBook(_ positions: [Keel_Planner_V1_Position]) throws(FieldError) -> PositionBook {
        guard positions.count >= parallelPositionCount else { return try positionBook(positions, 0..<positions.count) }
        let middle = positions.count / 2
        let halves = HalfBooks()
        DispatchQueue.concurrentPerform(iterations: 2) { half in
            // The first half's book gets room for all rows: the second's are appended to it.
            let (range, capacity) = half == 0 ? (0..<middle, positions.count) : (middle..<positions.count, positions.count - middle)
            let result = Result { () throws(FieldError) in try positionBook(positions, range, capacity: capacity) }
            if half == 0 { halves.first = result } else { halves.second = result }
        }
        var book = try halves.first!.get()
        book.append(contentsOf: try halves.second!.get())
        return book
    }

    /// Each half's result is written by its own iteration only, and read once `concurrentPerform`
    /// has returned (which orders the writes before the reads).
    private final class HalfBooks: @unchecked Sendable {
        var first: Result<PositionBook, FieldError>?
        var second: Result<PositionBook, FieldError>?
    }

    static func positionBook(_ positions: [Keel_Planner_V1_Position], _ range: Range<Int>, capacity: Int? = nil) throws(FieldError) -> PositionBook {
        try positions.withUnsafeBufferPointer { (positions) throws(FieldError) in try positionBook(positions, range, capacity: capacity ?? range.count) }
    }

    /// The row checks for `range` of the positions. Field paths are only built on failure: this loop
    /// runs once per position.
    static func positionBook(_ positions: UnsafeBufferPointer<Keel_Planner_V1_Position>, _ range: Range<Int>, capacity: Int) throws(FieldError) -> PositionBook {
        var book = PositionBook()
        book.reserveCapacity(capacity)
        for i in range { try appendRow(positions[i], index: i, to: &book) }
        return book
    }

    /// The row checks of position `i`, in field order; the row is appended when they pass.
    @inline(__always)
    static func appendRow(_ position: Keel_Planner_V1_Position, index i: Int, to book: inout PositionBook) throws(FieldError) {
        // Each field is read once (every read of a string costs a retain and a release).
        let world = position.worldID
        if world.isEmpty { throw FieldError.missing("positions[\(i)].world_id") }
        let strategy = position.strategyID
        if strategy.isEmpty { throw FieldError.missing("positions[\(i)].strategy_id") }
        let symbol = position.symbol
        if symbol.isEmpty { throw FieldError.missing("positions[\(i)].symbol") }
        let quantity = try DecimalText.parseParts(position.qty, field: "positions[\(i)].qty")
        let mark = try DecimalText.parsePartsNonNegative(position.mark, field: "positions[\(i)].mark")
        book.append(worldID: world, strategyID: strategy, venue: position.venue, symbol: symbol, quantity: quantity, mark: mark)
    }

    /// The same checks of a position read as field bytes: each decimal parsed once, from its bytes.
    @inline(__always)
    static func appendRow(_ fields: PositionFieldBytes, index i: Int, to book: inout PositionBook) throws(FieldError) {
        if fields.worldID.isEmpty { throw FieldError.missing("positions[\(i)].world_id") }
        if fields.strategyID.isEmpty { throw FieldError.missing("positions[\(i)].strategy_id") }
        if fields.symbol.isEmpty { throw FieldError.missing("positions[\(i)].symbol") }
        let quantity = try DecimalText.parseParts(utf8: fields.qty, field: "positions[\(i)].qty")
        let mark = try DecimalText.parsePartsNonNegative(utf8: fields.mark, field: "positions[\(i)].mark")
        book.append(worldID: fields.worldID, strategyID: fields.strategyID, venue: fields.venue, symbol: fields.symbol, quantity: quantity, mark: mark)
    }

    /// TARGET_WEIGHT: the proportional fields must be empty, then the target-weight checks.
    static func validateTargetWeightMode(_ request: PlanRequest, positionCount: Int) throws(FieldError) -> TargetWeightInput {
        let notAllowed: [(String, Bool)] = [
            ("total_equity", !request.totalEquity.isEmpty),
            ("world_alloc_before", !request.worldAllocBefore.isEmpty),
            ("world_alloc_after", !request.worldAllocAfter.isEmpty),
            ("strategy_alloc_before_total", !request.strategyAllocBeforeTotal.isEmpty),
            ("strategy_alloc_after_total", !request.strategyAllocAfterTotal.isEmpty),
            ("positions", positionCount > 0),
            ("lot_size_by_symbol", !request.lotSizeBySymbol.isEmpty),
            ("overlay", request.hasOverlay),
        ]
        if let (field, _) = notAllowed.first(where: { $0.1 }) {
            throw FieldError(.fieldNotAllowed, field: field, message: "\(field) is not allowed with mode PLAN_MODE_TARGET_WEIGHT")
        }
        guard request.hasTargetWeight else { throw FieldError.missing("target_weight") }
        return try TargetWeightValidation.validate(request.targetWeight, prefix: "target_weight.")
    }


    static func nonNegativeMap(_ map: [String: String], field: String) throws(FieldError) -> [String: ExactDecimal] {
        var result: [String: ExactDecimal] = [:]
        result.reserveCapacity(map.count)
        for (key, text) in map {
            guard let value = try? DecimalText.parseExactNonNegative(text, field: "") else {
                // The first bad entry in key order answers, so sort only when there is one.
                for key in FieldPath.sortedKeys(map) {
                    _ = try DecimalText.parseExactNonNegative(map[key]!, field: "\(field)[\(key)]")
                }
                preconditionFailure("an entry failed unsorted but not sorted")
            }
            result[key] = value
        }
        return result
    }

    static func strategyMap(_ map: [String: Keel_Planner_V1_StrategyAllocation], field: String) throws(FieldError) -> [String: [String: ExactDecimal]] {
        var result: [String: [String: ExactDecimal]] = [:]
        for world in FieldPath.sortedKeys(map) {
            result[world] = try nonNegativeMap(map[world]!.byStrategy, field: "\(field)[\(world)]")
        }
        return result
    }
}

extension PlanningFailure {
    /// The status of a planning failure: FAILED_PRECONDITION.
    public var fieldError: FieldError {
        FieldError(reason, field: field, message: message, metadata: metadata)
    }
}

import Contracts
import ExactNumbers

public enum SplitMode: Sendable {
    /// r_i = ⌊i·T/N⌋ − ⌊(i−1)·T/N⌋: every round ⌊T/N⌋ or ⌈T/N⌉, summing to T.
    case accumulator
    /// ⌊T/N⌋ every round, the last round plus T mod N.
    case remainderLast
}

/// A validated `TargetWeightRequest`.
public struct TargetWeightInput: Sendable {
    public struct Holding: Sendable {
        public var symbol: String
        public var name: String
        public var quantity: ExactDecimal
        public var price: ExactDecimal
        public var evalAmount: ExactDecimal
    }

    public struct Addition: Sendable {
        public var symbol: String
        public var name: String
        public var price: ExactDecimal
    }

    public var positions: [Holding]
    public var cash: ExactDecimal
    public var targetWeights: [String: ExactDecimal]
    public var excludedSymbols: Set<String>
    public var addedSymbols: [Addition]
    public var sellRounds: Int
    public var buyRounds: Int
    public var sellEnabled: Bool
    public var buyEnabled: Bool
    public var splitMode: SplitMode
    public var amountScale: Int
    public var defaultLotSize: ExactDecimal
    public var lotSizeBySymbol: [String: ExactDecimal]
    public var venue: String
}

/// The target-weight checks, in order; field paths carry `prefix` (`target_weight.` in the
/// planner, `target.` in the gateway).
public enum TargetWeightValidation {
    public static func validate(_ request: Keel_Planner_V1_TargetWeightRequest, prefix: String) throws(FieldError) -> TargetWeightInput {
        func field(_ name: String) -> String { prefix + name }
        func optionalNonNegative(_ text: String, _ name: String) throws(FieldError) -> ExactDecimal? {
            text.isEmpty ? nil : try DecimalText.parseExactNonNegative(text, field: field(name))
        }

        var holdings: [TargetWeightInput.Holding] = []
        var listed = Set<String>()
        for (i, position) in request.positions.enumerated() {
            let base = "positions[\(i)]"
            if position.symbol.isEmpty { throw FieldError.missing(field("\(base).symbol")) }
            let quantity = try optionalNonNegative(position.qty, "\(base).qty") ?? .zero
            let price = try optionalNonNegative(position.price, "\(base).price") ?? .zero
            let evalAmount = try optionalNonNegative(position.evalAmount, "\(base).eval_amount") ?? quantity * price
            guard listed.insert(position.symbol).inserted else {
                throw FieldError(.duplicateSymbol, field: field("\(base).symbol"), message: "symbol \(position.symbol) is listed twice")
            }
            holdings.append(.init(symbol: position.symbol, name: position.name, quantity: quantity, price: price, evalAmount: evalAmount))
        }
        let cash = try optionalNonNegative(request.cash, "cash") ?? .zero
        var weights: [String: ExactDecimal] = [:]
        for symbol in FieldPath.sortedKeys(request.targetWeights) {
            weights[symbol] = try DecimalText.parseExactNonNegative(request.targetWeights[symbol]!, field: field("target_weights[\(symbol)]"))
        }
        var additions: [TargetWeightInput.Addition] = []
        for (i, added) in request.addedSymbols.enumerated() {
            if added.symbol.isEmpty { throw FieldError.missing(field("added_symbols[\(i)].symbol")) }
            let price = try optionalNonNegative(added.price, "added_symbols[\(i)].price") ?? .zero
            additions.append(.init(symbol: added.symbol, name: added.name, price: price))
        }
        let excluded = Set(request.excludedSymbols.filter { !$0.isEmpty })
        var input = TargetWeightInput(
            positions: holdings, cash: cash, targetWeights: weights, excludedSymbols: excluded, addedSymbols: additions,
            sellRounds: Int(request.sellRounds), buyRounds: Int(request.buyRounds),
            sellEnabled: request.hasSellEnabled ? request.sellEnabled : true,
            buyEnabled: request.hasBuyEnabled ? request.buyEnabled : true,
            splitMode: .accumulator, amountScale: Int(request.amountScale), defaultLotSize: .one, lotSizeBySymbol: [:], venue: request.venue)

        let universe = TargetWeightPlanner.universe(input)
        var sum = ExactDecimal.zero
        for symbol in universe.symbols { if let weight = weights[symbol] { sum += weight } }
        if sum > ExactDecimal(100) {
            throw FieldError(.weightsExceed100, field: field("target_weights"), message: "target weights of the universe add up to \(sum), more than 100")
        }
        if input.sellEnabled, !(1...1000).contains(request.sellRounds) {
            throw FieldError(.invalidRoundCount, field: field("sell_rounds"), message: "sell_rounds must be 1–1000 when sells are enabled, got \(request.sellRounds)")
        }
        if input.buyEnabled, !(1...1000).contains(request.buyRounds) {
            throw FieldError(.invalidRoundCount, field: field("buy_rounds"), message: "buy_rounds must be 1–1000 when buys are enabled, got \(request.buyRounds)")
        }
        switch request.splitMode {
        case .unspecified, .accumulator: input.splitMode = .accumulator
        case .remainderLast: input.splitMode = .remainderLast
        case .UNRECOGNIZED(let number):
            throw FieldError(.unknownEnum, field: field("split_mode"), message: "split_mode \(number) is not a SplitMode")
        }
        if request.amountScale > 18 {
            throw FieldError(.valueOutOfRange, field: field("amount_scale"), message: "amount_scale must be 0–18, got \(request.amountScale)")
        }
        input.defaultLotSize = try positiveLot(request.defaultLotSize.isEmpty ? "1" : request.defaultLotSize, field: field("default_lot_size"))
        for symbol in FieldPath.sortedKeys(request.lotSizeBySymbol) {
            input.lotSizeBySymbol[symbol] = try positiveLot(request.lotSizeBySymbol[symbol]!, field: field("lot_size_by_symbol[\(symbol)]"))
        }
        return input
    }

    static func positiveLot(_ text: String, field: String) throws(FieldError) -> ExactDecimal {
        let lot = try DecimalText.parseExact(text, field: field)
        guard lot.signum > 0 else {
            throw FieldError(.valueOutOfRange, field: field, message: "\(field) must be > 0, got \(text)")
        }
        return lot
    }
}

/// The target-weight plan (docs/architecture.md#target-weight).
public struct TargetWeightPlan: Sendable {
    public struct Target: Sendable {
        public var symbol: String
        public var weight: Rational
        public var targetAmount: ExactDecimal
        public var evalAmount: ExactDecimal
        public var price: ExactDecimal
    }

    public struct SellLeg: Sendable {
        public var symbol: String
        public var name: String
        public var price: ExactDecimal
        public var evalAmount: ExactDecimal
        public var targetAmount: ExactDecimal
        public var totalQuantity: ExactDecimal
        public var roundQuantities: [ExactDecimal]
        public var lotSize: ExactDecimal
    }

    public struct BuyLeg: Sendable {
        public var symbol: String
        public var name: String
        public var price: ExactDecimal
        public var evalAmount: ExactDecimal
        public var targetAmount: ExactDecimal
        public var totalAmount: ExactDecimal
        public var roundAmounts: [ExactDecimal]
        public var estimatedRoundQuantities: [ExactDecimal]
        public var lotSize: ExactDecimal
    }

    public enum Warning: Sendable, Equatable {
        case weightIgnored(symbol: String)
        case missingPrice(symbol: String)
        case insufficientCash
    }

    public var totalEval: ExactDecimal
    public var targets: [Target] = []
    public var sellLegs: [SellLeg] = []
    public var buyLegs: [BuyLeg] = []
    public var excluded: [(symbol: String, name: String, evalAmount: ExactDecimal)] = []
    public var available: ExactDecimal = .zero
    public var required: ExactDecimal = .zero
    public var shortfall: ExactDecimal = .zero
    public var warnings: [Warning] = []
    public var splitMode: SplitMode
    public var sellRounds: Int
    public var buyRounds: Int
}

public enum TargetWeightPlanner {
    struct Universe {
        var symbols: [String]
        /// (eval, price, name) per symbol
        var details: [String: (evalAmount: ExactDecimal, price: ExactDecimal, name: String)]
    }

    /// The universe: held (not excluded, input order) then new (added, neither excluded nor held,
    /// byte order, once).
    static func universe(_ input: TargetWeightInput) -> Universe {
        var universe = Universe(symbols: [], details: [:])
        for holding in input.positions where !input.excludedSymbols.contains(holding.symbol) {
            universe.symbols.append(holding.symbol)
            universe.details[holding.symbol] = (holding.evalAmount, holding.price, holding.name)
        }
        var added: [TargetWeightInput.Addition] = []
        for addition in input.addedSymbols where !input.excludedSymbols.contains(addition.symbol) && universe.details[addition.symbol] == nil {
            if !added.contains(where: { $0.symbol == addition.symbol }) { added.append(addition) }
        }
        added.sort { $0.symbol.utf8.lexicographicallyPrecedes($1.symbol.utf8) }
        for addition in added {
            universe.symbols.append(addition.symbol)
            universe.details[addition.symbol] = (.zero, addition.price, addition.name)
        }
        return universe
    }

    public static func plan(_ input: TargetWeightInput) -> TargetWeightPlan {
        let universe = universe(input)
        var plan = TargetWeightPlan(totalEval: .zero, splitMode: input.splitMode, sellRounds: input.sellRounds, buyRounds: input.buyRounds)
        var totalEval = input.cash
        for holding in input.positions {
            if input.excludedSymbols.contains(holding.symbol) {
                plan.excluded.append((holding.symbol, holding.name, holding.evalAmount))
            } else {
                totalEval += holding.evalAmount
            }
        }
        plan.totalEval = totalEval

        let inUniverse = Set(universe.symbols)
        for symbol in FieldPath.sortedKeys(input.targetWeights) where !inUniverse.contains(symbol) {
            plan.warnings.append(.weightIgnored(symbol: symbol))
        }
        var specified = ExactDecimal.zero
        var unspecifiedCount = 0
        for symbol in universe.symbols {
            if let weight = input.targetWeights[symbol] { specified += weight } else { unspecifiedCount += 1 }
        }
        let hundred = ExactDecimal(100)
        var missingPrice: [TargetWeightPlan.Warning] = []
        var sellProceeds = ExactDecimal.zero
        var buyTotal = ExactDecimal.zero
        for symbol in universe.symbols {
            let detail = universe.details[symbol]!
            // One quotient: total × w / 100, or total × (100 − S) / (100 × u).
            let weight: Rational
            let target: Rational
            if let given = input.targetWeights[symbol] {
                weight = given.rational
                target = totalEval.rational * given.rational / hundred.rational
            } else {
                weight = (hundred - specified).rational / Rational(BigInt(unspecifiedCount))
                target = totalEval.rational * (hundred - specified).rational / Rational(BigInt(100 * unspecifiedCount))
            }
            let targetAmount = truncate(target, scale: input.amountScale)
            plan.targets.append(.init(symbol: symbol, weight: weight, targetAmount: targetAmount, evalAmount: detail.evalAmount, price: detail.price))

            let diff = detail.evalAmount - targetAmount
            if diff.isZero { continue }
            if detail.price.isZero {
                missingPrice.append(.missingPrice(symbol: symbol))
                continue
            }
            let lot = input.lotSizeBySymbol[symbol] ?? input.defaultLotSize
            if diff.signum > 0, input.sellEnabled {
                let lots = (diff.rational / (detail.price * lot).rational).truncated()
                if lots.signum > 0 {
                    let rounds = split(lots, into: input.sellRounds, mode: input.splitMode)
                    let total = ExactDecimal(significand: lots * lot.significand, exponent: lot.exponent)
                    plan.sellLegs.append(.init(
                        symbol: symbol, name: detail.name, price: detail.price, evalAmount: detail.evalAmount, targetAmount: targetAmount,
                        totalQuantity: total, roundQuantities: rounds.map { ExactDecimal(significand: $0 * lot.significand, exponent: lot.exponent) }, lotSize: lot))
                    sellProceeds += total * detail.price
                }
            } else if diff.signum < 0, input.buyEnabled {
                let amount = (-diff).truncated(toScale: input.amountScale)
                if amount.signum > 0 {
                    let (amounts, estimates) = TargetWeightPlanner.buyRounds(
                        totalAmount: amount, rounds: input.buyRounds, price: detail.price, lot: lot, amountScale: input.amountScale)
                    plan.buyLegs.append(.init(
                        symbol: symbol, name: detail.name, price: detail.price, evalAmount: detail.evalAmount, targetAmount: targetAmount,
                        totalAmount: amount, roundAmounts: amounts, estimatedRoundQuantities: estimates, lotSize: lot))
                    buyTotal += amount
                }
            }
        }
        plan.warnings += missingPrice
        plan.available = input.cash + sellProceeds
        plan.required = buyTotal
        let gap = buyTotal - plan.available
        plan.shortfall = gap.signum > 0 ? gap : .zero
        if gap.signum > 0 { plan.warnings.append(.insufficientCash) }
        return plan
    }

    static func truncate(_ value: Rational, scale: Int) -> ExactDecimal {
        let scaled = value * Rational(BigInt.pow10(scale))
        return ExactDecimal(significand: scaled.truncated(), exponent: -scale)
    }

    /// Round splits of a buy leg: the amount in whole units of 10^-scale split with the accumulator, and
    /// the quantities those cumulative amounts afford (preview only).
    public static func buyRounds(totalAmount: ExactDecimal, rounds: Int, price: ExactDecimal, lot: ExactDecimal, amountScale: Int) -> (amounts: [ExactDecimal], estimates: [ExactDecimal]) {
        let units = totalAmount.rational * Rational(BigInt.pow10(amountScale))
        let amounts = split(units.truncated(), into: rounds, mode: .accumulator).map { ExactDecimal(significand: $0, exponent: -amountScale) }
        let unitCost = (price * lot).rational
        var estimates: [ExactDecimal] = []
        var cumulative = ExactDecimal.zero
        var previousLots = BigInt.zero
        for part in amounts {
            cumulative += part
            let lots = unitCost.isZero ? BigInt.zero : (cumulative.rational / unitCost).truncated()
            estimates.append(ExactDecimal(significand: (lots - previousLots) * lot.significand, exponent: lot.exponent))
            previousLots = lots
        }
        return (amounts, estimates)
    }

    /// `total` whole units over `rounds` rounds, split by `mode`.
    public static func split(_ total: BigInt, into rounds: Int, mode: SplitMode) -> [BigInt] {
        guard rounds > 0 else { return [] }
        let n = BigInt(rounds)
        switch mode {
        case .accumulator:
            var parts: [BigInt] = []
            parts.reserveCapacity(rounds)
            var previous = BigInt.zero
            for i in 1...rounds {
                let cumulative = (total * BigInt(i)) / n
                parts.append(cumulative - previous)
                previous = cumulative
            }
            return parts
        case .remainderLast:
            let (base, remainder) = total.quotientAndRemainder(dividingBy: n)
            var parts = [BigInt](repeating: base, count: rounds)
            parts[rounds - 1] = base + remainder
            return parts
        }
    }
}

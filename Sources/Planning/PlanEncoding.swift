import Contracts
import ExactNumbers

public typealias PlanMessage = Keel_Planner_V1_Plan

/// Plans a validated request and writes the result as the `Plan` message;
/// ids, time and digest are the service's to fill.
public enum PlanComputation {
    /// `positions`: the request's positions as read from its bytes, in place of `request.positions`.
    public static func plan(_ request: PlanRequest, positions: PositionsRead? = nil, rebalancer: any Rebalancer = ProportionalRebalancer()) throws(FieldError) -> PlanMessage {
        let validated = try PlanRequestValidation.validate(request, positions: positions)
        var message = PlanMessage()
        message.intent = request.intent
        message.dryRun = request.dryRun
        message.scaleCombination = request.scaleCombination == .capped ? .capped : .strategyScale
        switch validated {
        case .proportional(let context):
            message.mode = request.mode == .unspecified ? .scaling : request.mode
            let plan: RebalancePlan
            do {
                plan = try rebalancer.plan(context)
            } catch {
                throw error.fieldError
            }
            message.perWorld = plan.perWorld.map(encode)
            message.globalDeltas = plan.globalDeltas.map(encode)
            message.globalSkipped = plan.globalSkipped.map(encode)
            message.overlayDeltas = plan.overlayDeltas.map(encode)
            message.overlaySkipped = plan.overlaySkipped.map(encode)
        case .targetWeight(let input):
            message.mode = .targetWeight
            message.targetWeight = encode(TargetWeightPlanner.plan(input))
        }
        return message
    }

    static func encode(_ world: WorldPlan) -> Keel_Planner_V1_WorldPlan {
        .with {
            $0.worldID = world.worldID
            $0.scaleWorld = world.scaleWorld.outputString
            $0.scaleByStrategy = world.scaleByStrategy.mapValues(\.outputString)
            $0.deltas = world.deltas.map(encode)
            $0.skipped = world.skipped.map(encode)
        }
    }

    static func encode(_ delta: SymbolDelta) -> Keel_Planner_V1_Delta {
        .with {
            $0.venue = delta.key.venue
            $0.symbol = delta.key.symbol
            $0.deltaQty = delta.quantity.description
        }
    }

    static func encode(_ skipped: SkippedDelta) -> Keel_Planner_V1_SkippedDelta {
        .with {
            $0.worldID = skipped.worldID
            $0.venue = skipped.key.venue
            $0.symbol = skipped.key.symbol
            switch skipped.reason {
            case .missingMark: $0.reason = .missingMark
            case .belowMinNotional: $0.reason = .belowMinNotional
            case .roundedToZero: $0.reason = .roundedToZero
            }
            $0.notional = skipped.notional.outputString
            $0.rawQty = skipped.rawQuantity?.outputString ?? ""
        }
    }

    static func encode(_ overlay: OverlayDelta) -> Keel_Planner_V1_OverlayDelta {
        .with {
            $0.worldID = overlay.worldID
            $0.symbol = overlay.instrument
            $0.deltaQty = overlay.quantity.description
            $0.notional = overlay.notional.outputString
        }
    }

    public static func encode(_ plan: TargetWeightPlan) -> Keel_Planner_V1_TargetWeightPlan {
        .with { message in
            message.totalEval = plan.totalEval.description
            message.targets = plan.targets.map { target in
                .with {
                    $0.symbol = target.symbol
                    $0.weight = target.weight.outputString
                    $0.targetAmount = target.targetAmount.description
                    $0.evalAmount = target.evalAmount.description
                    $0.price = target.price.description
                }
            }
            message.sellLegs = plan.sellLegs.map { leg in
                .with {
                    encodeValuation(of: leg, into: &$0)
                    $0.totalQty = leg.totalQuantity.description
                    $0.roundQtys = leg.roundQuantities.map(\.description)
                }
            }
            message.buyLegs = plan.buyLegs.map { leg in
                .with {
                    encodeValuation(of: leg, into: &$0)
                    $0.totalAmount = leg.totalAmount.description
                    $0.roundAmounts = leg.roundAmounts.map(\.description)
                    $0.estimatedRoundQtys = leg.estimatedRoundQuantities.map(\.description)
                }
            }
            message.excluded = plan.excluded.map { holding in
                .with {
                    $0.symbol = holding.symbol
                    $0.name = holding.name
                    $0.evalAmount = holding.evalAmount.description
                }
            }
            message.cashCheck = .with {
                $0.available = plan.available.description
                $0.required = plan.required.description
                $0.shortfall = plan.shortfall.description
            }
            message.warnings = plan.warnings.map { warning in
                switch warning {
                case .weightIgnored(let symbol): .with { $0.kind = .weightIgnored; $0.symbol = symbol }
                case .missingPrice(let symbol): .with { $0.kind = .missingPrice; $0.symbol = symbol }
                case .insufficientCash: .with { $0.kind = .insufficientCash }
                }
            }
            message.splitMode = plan.splitMode == .accumulator ? .accumulator : .remainderLast
            message.sellRounds = UInt32(plan.sellRounds)
            message.buyRounds = UInt32(plan.buyRounds)
        }
    }
}

/// What a target-weight sell leg and buy leg both say: the instrument, its price and valuation, its lot.
protocol TargetWeightLegValuation {
    var symbol: String { get }
    var name: String { get }
    var price: ExactDecimal { get }
    var evalAmount: ExactDecimal { get }
    var targetAmount: ExactDecimal { get }
    var lotSize: ExactDecimal { get }
}

extension TargetWeightPlan.SellLeg: TargetWeightLegValuation {}
extension TargetWeightPlan.BuyLeg: TargetWeightLegValuation {}

/// The wire fields of that valuation, the same on both leg messages.
protocol TargetWeightLegValuationMessage {
    var symbol: String { get set }
    var name: String { get set }
    var price: String { get set }
    var evalAmount: String { get set }
    var targetAmount: String { get set }
    var lotSize: String { get set }
}

extension Keel_Planner_V1_SellLeg: TargetWeightLegValuationMessage {}
extension Keel_Planner_V1_BuyLeg: TargetWeightLegValuationMessage {}

func encodeValuation(of leg: some TargetWeightLegValuation, into message: inout some TargetWeightLegValuationMessage) {
    message.symbol = leg.symbol
    message.name = leg.name
    message.price = leg.price.description
    message.evalAmount = leg.evalAmount.description
    message.targetAmount = leg.targetAmount.description
    message.lotSize = leg.lotSize.description
}

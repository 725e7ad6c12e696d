import Contracts
import ExactNumbers

/// The scaling request a converge sends to the planner: each moving strategy's recorded positions,
/// scaled by `allocated / old` of its capital.
///
/// The allocations are the capital amounts themselves, not shares of the total: the planner's scales
/// are the exact quotients of what it is given, and a share such as 25,000 / 60,000 does not
/// terminate — rounded to 34 digits it would make the scale 1.1999…9 instead of 1.2, and lot
/// truncation would then drop a whole lot.
public enum ConvergePlan {
    /// One strategy's capital in the run: what it had and what it was given.
    public struct CapitalChange: Sendable {
        public var strategyID: String
        public var oldCapital: ExactDecimal
        public var allocatedCapital: ExactDecimal

        public init(strategyID: String, oldCapital: ExactDecimal, allocatedCapital: ExactDecimal) {
            self.strategyID = strategyID
            self.oldCapital = oldCapital
            self.allocatedCapital = allocatedCapital
        }
    }

    /// A strategy's recorded net quantity of a symbol, with the broker's mark ("" = none known).
    public struct Holding: Sendable {
        public var strategyID: String
        public var symbol: String
        public var quantity: ExactDecimal
        public var mark: String

        public init(strategyID: String, symbol: String, quantity: ExactDecimal, mark: String) {
            self.strategyID = strategyID
            self.symbol = symbol
            self.quantity = quantity
            self.mark = mark
        }
    }

    /// The request for one account's world on its venue. `holdings` are those of the strategies in
    /// `changes`; `totalCapital` is the account's total (carried, not divided by).
    public static func request(
        world: String, venue: String, totalCapital: ExactDecimal, changes: [CapitalChange], holdings: [Holding],
        minTradeNotional: ExactDecimal, intent: [String: String]
    ) -> Keel_Planner_V1_PlanRequest {
        var request = Keel_Planner_V1_PlanRequest()
        request.mode = .scaling
        request.scaleCombination = .strategyScale
        request.totalEquity = totalCapital.description
        var before = Keel_Planner_V1_StrategyAllocation()
        var after = Keel_Planner_V1_StrategyAllocation()
        var oldSum = ExactDecimal.zero
        var newSum = ExactDecimal.zero
        for change in changes {
            oldSum += change.oldCapital
            newSum += change.allocatedCapital
            before.byStrategy[change.strategyID] = change.oldCapital.description
            after.byStrategy[change.strategyID] = change.allocatedCapital.description
        }
        request.worldAllocBefore[world] = oldSum.description
        request.worldAllocAfter[world] = newSum.description
        request.strategyAllocBeforeTotal[world] = before
        request.strategyAllocAfterTotal[world] = after
        for holding in holdings {
            var position = Keel_Planner_V1_Position()
            position.worldID = world
            position.strategyID = holding.strategyID
            position.symbol = holding.symbol
            position.qty = holding.quantity.description
            position.mark = holding.mark.isEmpty ? "0" : holding.mark
            position.venue = venue
            request.positions.append(position)
        }
        request.minTradeNotional = minTradeNotional.description
        request.intent = intent
        return request
    }
}

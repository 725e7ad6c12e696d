import Contracts
import ExactNumbers

/// Realized PnL added to allocated capital once per execution id.
public enum PnlCompounding {
    public struct Execution: Sendable {
        public var executionID: String
        /// nil = no PnL (ignored, stays unapplied).
        public var realizedPnl: ExactDecimal?

        public init(executionID: String, realizedPnl: ExactDecimal?) {
            self.executionID = executionID
            self.realizedPnl = realizedPnl
        }
    }

    public struct Result: Sendable, Equatable {
        public var oldCapital: ExactDecimal
        public var allocatedCapital: ExactDecimal
        public var appliedPnl: ExactDecimal
        public var appliedExecutionIDs: [String]
        public var negativeCapital: Bool
    }

    /// `executions` in store order; those already applied are skipped.
    public static func apply(capital: ExactDecimal, executions: [Execution], alreadyApplied: Set<String>) -> Result {
        var applied: [String] = []
        var pnl = ExactDecimal.zero
        for execution in executions where !alreadyApplied.contains(execution.executionID) {
            guard let value = execution.realizedPnl else { continue }
            pnl += value
            applied.append(execution.executionID)
        }
        let after = capital + pnl
        return Result(oldCapital: capital, allocatedCapital: after, appliedPnl: pnl, appliedExecutionIDs: applied, negativeCapital: after.isNegative)
    }
}

/// An account has open positions when any of its quantities is non-zero, exactly.
public enum OpenPositions {
    public static func any(_ quantities: [ExactDecimal]) -> Bool {
        quantities.contains { !$0.isZero }
    }
}

/// Should an account be rebalanced now (docs/architecture.md#rebalance-decision).
public enum RebalanceDecision {
    public enum Policy: Sendable { case interval, threshold, intervalAndThreshold }
    public enum Reason: Sendable, Equatable {
        case openPositions, firstAllocation, noRebalanceHistory, minIntervalNotElapsed, conditionsMet, checkFailed
        case balanceUnavailable, nonPositiveBalance, absChangeTooSmall, relChangeTooSmall, balanceChanged, previousNonPositive
    }

    public struct Input: Sendable {
        public var policy: Policy
        public var nowMs: Int64 = 0
        /// nil = the position read failed.
        public var hasOpenPositions: Bool?
        /// Whether any active strategy account has a StrategyCapital row, and their last rebalances.
        public var hasCapitalRows: Bool
        public var lastRebalanceAtMs: [Int64]
        public var minIntervalHours: ExactDecimal = .one
        /// THRESHOLD: nil current = balance unavailable; nil previous = never allocated.
        public var currentTotal: ExactDecimal?
        public var previousTotal: ExactDecimal?
        public var minAbsChange = ExactDecimal(10)
        public var minRelChange = ExactDecimal(significand: BigInt(1), exponent: -3)

        public init(policy: Policy, hasOpenPositions: Bool?, hasCapitalRows: Bool, lastRebalanceAtMs: [Int64]) {
            self.policy = policy
            self.hasOpenPositions = hasOpenPositions
            self.hasCapitalRows = hasCapitalRows
            self.lastRebalanceAtMs = lastRebalanceAtMs
        }
    }

    public struct Result: Sendable, Equatable {
        public var shouldRebalance: Bool
        public var reason: Reason
        /// elapsed hours (display value), when the interval rule computed it.
        public var hoursSinceLast: Rational?
    }

    public static func decide(_ input: Input) -> Result {
        guard let open = input.hasOpenPositions else { return Result(shouldRebalance: false, reason: .checkFailed) }
        if open { return Result(shouldRebalance: false, reason: .openPositions) }
        switch input.policy {
        case .interval:
            return interval(input)
        case .threshold:
            return threshold(input, hours: nil)
        case .intervalAndThreshold:
            let first = interval(input)
            return first.shouldRebalance ? threshold(input, hours: first.hoursSinceLast) : first
        }
    }

    static func interval(_ input: Input) -> Result {
        if !input.hasCapitalRows { return Result(shouldRebalance: true, reason: .firstAllocation) }
        guard let last = input.lastRebalanceAtMs.max() else { return Result(shouldRebalance: true, reason: .noRebalanceHistory) }
        let elapsed = input.nowMs - last
        let hours = Rational(BigInt(elapsed)) / Rational(3_600_000)
        if Rational(BigInt(elapsed)) < input.minIntervalHours.rational * Rational(3_600_000) {
            return Result(shouldRebalance: false, reason: .minIntervalNotElapsed, hoursSinceLast: hours)
        }
        return Result(shouldRebalance: true, reason: .conditionsMet, hoursSinceLast: hours)
    }

    static func threshold(_ input: Input, hours: Rational?) -> Result {
        guard let current = input.currentTotal else { return Result(shouldRebalance: false, reason: .balanceUnavailable, hoursSinceLast: hours) }
        if current.signum <= 0 { return Result(shouldRebalance: false, reason: .nonPositiveBalance, hoursSinceLast: hours) }
        guard let previous = input.previousTotal else { return Result(shouldRebalance: true, reason: .firstAllocation, hoursSinceLast: hours) }
        if previous.signum <= 0 { return Result(shouldRebalance: true, reason: .previousNonPositive, hoursSinceLast: hours) }
        let change = (current - previous).magnitude
        if change < input.minAbsChange { return Result(shouldRebalance: false, reason: .absChangeTooSmall, hoursSinceLast: hours) }
        if change < input.minRelChange * previous { return Result(shouldRebalance: false, reason: .relChangeTooSmall, hoursSinceLast: hours) }
        return Result(shouldRebalance: true, reason: .balanceChanged, hoursSinceLast: hours)
    }
}

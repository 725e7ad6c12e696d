import Contracts
import ExactNumbers

/// Account capital over the active strategy accounts by relative weight. Each share is one
/// exact quotient `T × w_i / W` truncated toward zero to the currency scale; the remainder is
/// reported, never spread as dust.
public enum CapitalAllocator {
    public struct Line: Sendable, Equatable {
        public var weight: ExactDecimal
        public var oldCapital: ExactDecimal
        public var allocatedCapital: ExactDecimal
        public var change: ExactDecimal { allocatedCapital - oldCapital }
    }

    public struct Result: Sendable {
        public var lines: [Line]
        public var unallocated: ExactDecimal
        public var totalWeight: ExactDecimal
        /// No active strategy account: nothing is allocated (not an error).
        public var noActiveStrategies: Bool
    }

    /// `weights` in strategy-account id order; `oldCapitals` parallel (0 when no row).
    /// `weightField(i)` names the i-th weight in errors (the service names the strategy account).
    public static func allocate(
        total: ExactDecimal, weights: [ExactDecimal], oldCapitals: [ExactDecimal]? = nil, currencyScale: Int,
        weightField: (Int) -> String = { "weights[\($0)]" }
    ) throws(FieldError) -> Result {
        if weights.isEmpty {
            return Result(lines: [], unallocated: total, totalWeight: .zero, noActiveStrategies: true)
        }
        if total.isNegative {
            throw FieldError(.invalidTotalCapital, field: "total_capital", message: "the total capital \(total) is negative")
        }
        if let i = weights.firstIndex(where: { $0.signum <= 0 }) {
            throw FieldError(.invalidWeight, field: weightField(i), message: "weight \(weights[i]) must be > 0")
        }
        let totalWeight = weights.reduce(ExactDecimal.zero, +)
        var lines: [Line] = []
        var allocated = ExactDecimal.zero
        for (i, weight) in weights.enumerated() {
            let share = truncate(total.rational * weight.rational / totalWeight.rational, scale: currencyScale)
            allocated += share
            lines.append(Line(weight: weight, oldCapital: oldCapitals?[i] ?? .zero, allocatedCapital: share))
        }
        return Result(lines: lines, unallocated: total - allocated, totalWeight: totalWeight, noActiveStrategies: false)
    }

    /// Truncated toward zero to `scale` decimals.
    public static func truncate(_ value: Rational, scale: Int) -> ExactDecimal {
        let scaled = value * Rational(BigInt.pow10(scale))
        return ExactDecimal(significand: scaled.truncated(), exponent: -scale)
    }
}

/// The total capital of an account from the stored daily balance and at most one live read.
public enum TotalCapital {
    public enum Source: Sendable, Equatable { case db, live, dbFallback, liveFallback }

    /// The one live read: `nil` equity means the read failed (an error status, no answer, an
    /// undecodable or missing equity); a failure is never a balance of 0.
    public struct LiveRead: Sendable {
        public var equity: ExactDecimal?
        public var currency: String
        public var error: String

        public init(equity: ExactDecimal?, currency: String = "", error: String = "") {
            self.equity = equity
            self.currency = currency
            self.error = error
        }
    }

    public struct Resolved: Sendable, Equatable {
        public var total: ExactDecimal
        public var source: Source
        /// Why the live read failed (with `dbFallback`).
        public var liveError: String
    }

    /// `live` is called at most once, and only when needed: with `useLive`, or without a db balance.
    public static func resolve(
        useLive: Bool, quoteCurrency: String, dbBalance: ExactDecimal?, live: () async -> LiveRead
    ) async throws(FieldError) -> Resolved {
        if !useLive, let dbBalance { return Resolved(total: dbBalance, source: .db, liveError: "") }
        let read = await live()
        let currencyMatches = read.currency.isEmpty || read.currency == quoteCurrency
        if let equity = read.equity, read.error.isEmpty, currencyMatches {
            return Resolved(total: equity, source: useLive ? .live : .liveFallback, liveError: "")
        }
        let failure = !read.error.isEmpty ? read.error
            : read.equity == nil ? "the live balance could not be read"
            : "the live balance is in \(read.currency), the account's quote currency is \(quoteCurrency)"
        if useLive, let dbBalance { return Resolved(total: dbBalance, source: .dbFallback, liveError: failure) }
        throw FieldError(.balanceUnavailable, field: "account_id",
                         message: "no balance: \(failure)", metadata: ["live_error": failure])
    }
}

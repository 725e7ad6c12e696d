import ExactNumbers
import Foundation

/// The paper broker's market: the quote of a symbol as a function of time, so that a paced schedule
/// (fills, and amends of orders the market moved away from) runs the same way every time.
public enum QuotePath: Sendable, Equatable {
    /// One price all day.
    case constant(ExactDecimal)
    /// A seeded random walk of ±1 tick per `stepMs`, restarting at `start` every UTC midnight and
    /// never below one tick.
    case walk(start: ExactDecimal, tick: ExactDecimal, seed: UInt64, stepMs: Int64)
    /// Listed prices, one per `stepMs` from `originMs`; before the origin the first, after the last the last.
    case steps(prices: [ExactDecimal], stepMs: Int64, originMs: Int64)

    public func price(atMs t: Int64) -> ExactDecimal {
        switch self {
        case .constant(let price):
            return price
        case .walk(let start, let tick, let seed, let stepMs):
            let day = t >= 0 ? t / 86_400_000 : (t - 86_399_999) / 86_400_000
            let steps = (t - day * 86_400_000) / stepMs
            // A day has at most 86,400,000 steps, so the walk fits machine integers; the floor
            // (one tick above zero) is clamped to that range.
            let startTicks = (start.rational / tick.rational).truncated()
            let floorTicks = startTicks > BigInt(Int(Int32.max)) ? Int.min / 2 : 1 - Int(startTicks.description)!
            var ticks = 0
            var state = seed ^ (UInt64(bitPattern: day) &* 0x9E37_79B9_7F4A_7C15)
            for _ in 0..<steps {
                let draw = Self.splitMix(&state)
                ticks = draw & 1 == 0 ? ticks + 1 : max(ticks - 1, floorTicks)
            }
            return start + ExactDecimal(significand: BigInt(ticks) * tick.significand, exponent: tick.exponent)
        case .steps(let prices, let stepMs, let originMs):
            let index = t < originMs ? 0 : Int(min(Int64(prices.count - 1), (t - originMs) / stepMs))
            return prices[index]
        }
    }

    static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

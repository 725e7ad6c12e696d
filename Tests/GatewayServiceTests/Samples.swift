import Contracts
import Execution

/// The requests the gateway tests share.
enum Samples {
    /// Per-strategy example: `world-a` 0.3 → 0.2, strat-1 0.6 and strat-2 0.9 BTCUSDT @ 60000 on
    /// binance, split per strategy (SELL 0.2 and SELL 0.3, reduce-only).
    static func perStrategy(submit: Bool) -> ExecuteRequest {
        var request = ExecuteRequest()
        request.submit = submit
        request.perStrategy = true
        request.planRequest = .with {
            $0.totalEquity = "1000000"
            $0.worldAllocBefore = ["world-a": "0.3"]
            $0.worldAllocAfter = ["world-a": "0.2"]
            $0.positions = [
                .with { $0.worldID = "world-a"; $0.strategyID = "strat-1"; $0.symbol = "BTCUSDT"; $0.qty = "0.6"; $0.mark = "60000"; $0.venue = "binance" },
                .with { $0.worldID = "world-a"; $0.strategyID = "strat-2"; $0.symbol = "BTCUSDT"; $0.qty = "0.9"; $0.mark = "60000"; $0.venue = "binance" },
            ]
        }
        return request
    }

    /// One world halving 2 BTC @ 100 on `x`: one SELL 1 order, submitted.
    static func halveSubmit() -> ExecuteRequest {
        var request = ExecuteRequest()
        request.submit = true
        request.planRequest = .with {
            $0.totalEquity = "1000"
            $0.worldAllocBefore = ["w": "1"]
            $0.worldAllocAfter = ["w": "0.5"]
            $0.positions = [.with { $0.worldID = "w"; $0.strategyID = "s"; $0.symbol = "BTC"; $0.qty = "2"; $0.mark = "100"; $0.venue = "x" }]
        }
        return request
    }
}

import Contracts
import KeelTestSupport
import KeelWire
import Testing

/// Every decimal keel-capital writes (allocations, the unallocated rest, order quantities, compounded
/// capital) is one Keel's input grammar accepts.
@Suite struct CapitalWrittenDecimalsTests {
    @Test func everyDecimalOfRandomAllocationsAndQuantitiesParses() async throws {
        try await withCapital(withGateway: false) { capital in
            var g = SeededGenerator(seed: 23)
            var checked = 0
            for n in 0..<12 {
                let account = "acct-\(n)"
                try await capital.account(account)
                let strategies = Int.random(in: 2...7, using: &g)
                for s in 0..<strategies {
                    // Weights such as 1, 3 and 7 divide the balance into repeating fractions.
                    try await capital.strategy("\(account)-sa\(s)", account: account, strategyID: "s\(s)",
                                               weight: "\(Int.random(in: 1...9, using: &g)).\(Int.random(in: 0...99, using: &g))") {
                        $0.leverage = "\(Int.random(in: 1...5, using: &g))"
                    }
                }
                try await capital.balance(account, "2026-03-01", "\(Int.random(in: 1_000...9_999_999, using: &g)).\(Int.random(in: 0...999_999, using: &g))")
                let reallocated = try await capital.reallocate(account)
                let fetched = try await capital.getAccount(account)
                for s in 0..<strategies {
                    let quantity: Keel_Capital_V1_CalculateOrderQuantityResponse = try await capital.call(
                        KeelRPC.capitalCalculateOrderQuantity, Keel_Capital_V1_CalculateOrderQuantityRequest.with {
                            $0.strategyAccountID = "\(account)-sa\(s)"
                            $0.symbol = "BTC"
                            $0.qtyPer = "\(Int.random(in: 1...100, using: &g))"
                            $0.orderType = .market
                            $0.side = .buy
                            $0.marketPrice = "\(Int.random(in: 1...99_999, using: &g)).\(Int.random(in: 1...9_999, using: &g))"
                            $0.symbolRules = .with { $0.stepSize = "0.000001"; $0.minQty = "0.000001"; $0.maxQty = "1000000000"; $0.minNotional = "1" }
                        })
                    let bad = try WrittenDecimals.unreadable(in: quantity)
                    #expect(bad.isEmpty, "\(account) sa\(s): \(bad)")
                    checked += 1
                }
                for message in [try WrittenDecimals.unreadable(in: reallocated), try WrittenDecimals.unreadable(in: fetched)] {
                    #expect(message.isEmpty, "\(account): \(message)")
                }
            }
            #expect(checked >= 24)
        }
    }
}

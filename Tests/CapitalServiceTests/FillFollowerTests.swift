import CapitalAllocation
@testable import CapitalService
import Contracts
import ExactNumbers
import Foundation
import KeelTestSupport
import KeelWire
import Testing

/// The loop: the gateway's fills of orders attributed to a strategy become its trades, once
/// each, also across a restart, so converge finds the strategies' quantities adding up to the broker's.
@Suite struct FillFollowerTests {
    @Test func fillsOfAttributedOrdersBecomeTradesOnce() async throws {
        let directory = NSTemporaryDirectory() + "keel-cap-follow-\(UUID().uuidString)"
        try await withCapital(dataDirectory: directory, followFills: true) { h in
            try await h.account("acct", venue: "x") { $0.worldID = "w" }
            try await h.strategy("sa1", account: "acct", strategyID: "s")
            try await h.strategy("sa2", account: "acct", strategyID: "t")
            try await h.balance("acct", "2026-03-01", "1000")
            _ = try await h.reallocate("acct")
            try await h.sellOneBTCAtTheBroker()
            await h.capital.follower.waitUntilHandled(try await h.filledEventSeq(count: 1))
            #expect(try await h.capital.store.trades.netQuantity(strategyAccountID: "sa1", symbol: "BTC") == ExactDecimal(-1))

            // Converge with no trade recorded by hand: the follower's record adds up to the broker's.
            try await h.strategy("sa1", account: "acct", strategyID: "s", weight: "3")
            let moved = try await h.reallocate("acct", converge: .execute, metadata: ["x-allow-live": "true"])
            #expect(moved.converge.state == .executed, "\(moved.converge)")
            let last = try await h.filledEventSeq(count: 2)
            await h.capital.follower.waitUntilHandled(last)
            #expect(try await h.capital.store.trades.netQuantity(strategyAccountID: "sa1", symbol: "BTC") == DecimalGrammar.parse("-1.5")!)

            // A restart that even reads every event again (cursor reset) records nothing twice:
            // each fill is known by its order and cumulative quantity.
            await h.capital.stop()
            try await h.capital.store.trades.setFillCursor(0)
            let restarted = try await CapitalServer.start(.init(
                endpoint: .init(port: 0, drainTimeout: .seconds(2)), dataDirectory: directory, gateway: "127.0.0.1:\(h.gateway!.address.port!)", planner: "127.0.0.1:\(h.planner.address.port!)",
                clock: h.clock), startScheduler: false, followFills: true)
            try await withStarted({ restarted }, stop: { await $0.stop() }) { (capital: CapitalServer) async throws in
                await capital.follower.waitUntilHandled(last)
                #expect(try await capital.store.trades.netQuantity(strategyAccountID: "sa1", symbol: "BTC") == DecimalGrammar.parse("-1.5")!)
                #expect(try await capital.store.trades.fillCursor() >= last)
            }
        }
    }
}

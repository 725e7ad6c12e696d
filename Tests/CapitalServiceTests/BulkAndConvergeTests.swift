import CapitalAllocation
import CapitalService
import Contracts
import Foundation
import KeelTestSupport
import KeelWire
import Testing

@Suite struct BulkAndConvergeTests {
    /// Bulk: rebalanced, skipped and failed counted separately; a per-account error does not stop the others.
    @Test func bulkOutcomesAreCountedSeparately() async throws {
        var settings = CapitalSettings()
        settings.autoUseLive = false
        try await withCapital(settings: settings) { h in
            let none: BulkResponse = try await h.call(KeelRPC.capitalAutoRebalanceAll, Keel_Capital_V1_AutoRebalanceAllRequest())
            #expect(none.totalAccounts == 0 && none.note == .noActiveAccounts)
            try await h.account("a-ok")
            try await h.strategy("ok1", account: "a-ok", strategyID: "alpha")
            try await h.balance("a-ok", "2026-03-01", "500")
            try await h.account("b-empty")
            try await h.account("c-nobalance", gatewayAccount: "nobody")
            try await h.strategy("nb1", account: "c-nobalance", strategyID: "alpha")
            try await h.account("d-off") { $0.isActive = false }

            let auto: BulkResponse = try await h.call(KeelRPC.capitalAutoRebalanceAll, Keel_Capital_V1_AutoRebalanceAllRequest())
            #expect(auto.results.map(\.accountID) == ["a-ok", "b-empty", "c-nobalance"])
            #expect(auto.results.map(\.outcome) == [.rebalanced, .skipped, .skipped])
            // c's position read fails (the broker has no such account): the check says CHECK_FAILED.
            #expect(auto.results.map(\.reason) == [.firstAllocation, .noActiveStrategies, .checkFailed])
            #expect(auto.totalAccounts == 3 && auto.rebalanced == 1 && auto.skipped == 2 && auto.failed == 0)

            let again: BulkResponse = try await h.call(KeelRPC.capitalAutoRebalanceAll, Keel_Capital_V1_AutoRebalanceAllRequest())
            #expect(again.results.first?.reason == .minIntervalNotElapsed && again.rebalanced == 0)

            let forced: BulkResponse = try await h.call(KeelRPC.capitalAutoRebalanceAll, Keel_Capital_V1_AutoRebalanceAllRequest.with { $0.force = true })
            #expect(forced.forced && forced.results.map(\.outcome) == [.rebalanced, .skipped, .failed])
            #expect(forced.results[0].reason == .forced && forced.results[2].error.reason == "E_BALANCE_UNAVAILABLE")
            #expect(forced.rebalanced == 1 && forced.skipped == 1 && forced.failed == 1)

            let listed: BulkResponse = try await h.call(KeelRPC.capitalReallocateAll, Keel_Capital_V1_ReallocateAllRequest.with {
                $0.accountIds = ["d-off", "a-ok", "ghost", "a-ok", "b-empty"]
            })
            #expect(listed.results.map(\.accountID) == ["d-off", "a-ok", "ghost", "b-empty"])
            #expect(listed.results.map(\.outcome) == [.failed, .rebalanced, .failed, .skipped])
            #expect(listed.results[0].error.reason == "E_ACCOUNT_INACTIVE" && listed.results[2].error.reason == "E_ACCOUNT_NOT_FOUND")
            #expect(listed.results[2].error.code == 5 && listed.results[2].error.field == "account_id")
            #expect(listed.results[1].result.runID.hasPrefix("run_"))
            let runs: Keel_Capital_V1_ListRebalanceRunsResponse = try await h.call(KeelRPC.capitalListRebalanceRuns, Keel_Capital_V1_ListRebalanceRunsRequest.with { $0.accountID = "a-ok" })
            #expect(runs.runs.map(\.trigger) == [.reallocateAll, .autoRebalanceAll, .autoRebalanceAll])
        }
    }

    /// Bulk reallocation in chunks of two, two chunks in flight: results in the order asked, each
    /// account's failure its own, and every rebalanced account's capital and run written.
    @Test func bulkChunksKeepTheOrderAndWriteEveryAccount() async throws {
        try await withCapital(bulkChunk: 2) { h in
            let ids = ["k7", "k1", "k5", "k3", "ghost", "k2", "k6", "k4"]
            for (i, id) in ids.enumerated() where id != "k5" && id != "ghost" {
                try await h.account(id)
                try await h.strategy("\(id)-a", account: id, strategyID: "alpha")
                try await h.strategy("\(id)-b", account: id, strategyID: "beta") { $0.weight = "3" }
                try await h.balance(id, "2026-03-01", "\(100 * (i + 1))")
            }
            try await h.account("k5", gatewayAccount: "nobody")  // no balance and no live one: fails alone
            try await h.strategy("k5-a", account: "k5", strategyID: "alpha")
            let bulk: BulkResponse = try await h.call(KeelRPC.capitalReallocateAll, Keel_Capital_V1_ReallocateAllRequest.with { $0.accountIds = ids })
            #expect(bulk.results.map(\.accountID) == ids)
            #expect(bulk.results.map(\.outcome) == [.rebalanced, .rebalanced, .failed, .rebalanced, .failed, .rebalanced, .rebalanced, .rebalanced])
            #expect(bulk.results.map(\.error.reason) == ["", "", "E_BALANCE_UNAVAILABLE", "", "E_ACCOUNT_NOT_FOUND", "", "", ""])
            #expect(bulk.rebalanced == 6 && bulk.skipped == 0 && bulk.failed == 2)
            for (i, id) in ids.enumerated() where id != "k5" && id != "ghost" {
                let total = 100 * (i + 1)
                let result = bulk.results[i].result
                #expect(result.allocations.map(\.allocatedCapital) == ["\(total / 4)", "\(total * 3 / 4)"])
                let runs: Keel_Capital_V1_ListRebalanceRunsResponse = try await h.call(KeelRPC.capitalListRebalanceRuns, Keel_Capital_V1_ListRebalanceRunsRequest.with { $0.accountID = id })
                #expect(runs.runs.map(\.runID) == [result.runID])
                let account: Keel_Capital_V1_GetAccountResponse = try await h.call(KeelRPC.capitalGetAccount, Keel_Capital_V1_GetAccountRequest.with { $0.accountID = id })
                #expect(account.strategyAccounts.map(\.capital.allocatedCapital) == ["\(total / 4)", "\(total * 3 / 4)"])
            }
        }
    }

    /// Converge: a strategy holding a position gets more capital; PLAN scales its recorded position by
    /// allocated / old, EXECUTE submits the orders at the paper broker; a retry never executes twice.
    @Test func convergeMovesThePositionsWithTheCapital() async throws {
        try await withCapital { h in
            try await h.account("acct", venue: "x") { $0.worldID = "w" }
            try await h.strategy("sa1", account: "acct", strategyID: "s")
            try await h.strategy("sa2", account: "acct", strategyID: "t")
            try await h.balance("acct", "2026-03-01", "1000")
            let first = try await h.reallocate("acct", converge: .plan)
            // No position anywhere yet.
            #expect(first.converge.state == .notNeeded)
            await expectStatus(.failedPrecondition, reason: "E_CONVERGE_PRECONDITION", field: "run_id") {
                let _: Keel_Capital_V1_ConvergeResult = try await h.call(KeelRPC.capitalConverge, Keel_Capital_V1_ConvergeRequest.with { $0.runID = first.runID; $0.mode = .plan })
            }
            await expectStatus(.notFound, reason: "E_RUN_NOT_FOUND", field: "run_id") {
                let _: Keel_Capital_V1_ConvergeResult = try await h.call(KeelRPC.capitalConverge, Keel_Capital_V1_ConvergeRequest.with { $0.runID = "run_x"; $0.mode = .plan })
            }
            await expectStatus(.invalidArgument, reason: "E_OUT_OF_RANGE", field: "mode") {
                let _: Keel_Capital_V1_ConvergeResult = try await h.call(KeelRPC.capitalConverge, Keel_Capital_V1_ConvergeRequest.with { $0.runID = first.runID })
            }

            // The broker holds −1 BTC for strategy s (sold through the gateway); capital records it.
            try await h.sellOneBTCAtTheBroker()
            _ = try await h.trade("sa1", "fill-1", side: .sell, qty: "1")

            // A mismatch first: sa2 claims a position the broker does not have.
            _ = try await h.trade("sa2", "fill-2", side: .buy, qty: "0.5")
            try await h.strategy("sa1", account: "acct", strategyID: "s", weight: "3")
            let mismatch = try await h.reallocate("acct", converge: .plan)
            #expect(mismatch.converge.state == .failed && mismatch.converge.error.reason == "E_POSITION_MISMATCH")
            #expect(mismatch.converge.error.field == "positions[BTC]" && mismatch.converge.error.code == 9)
            _ = try await h.trade("sa2", "fill-3", side: .sell, qty: "0.5")

            try await h.strategy("sa1", account: "acct", strategyID: "s", weight: "1")
            _ = try await h.reallocate("acct")  // back to 500 / 500
            try await h.strategy("sa1", account: "acct", strategyID: "s", weight: "3")
            let planned = try await h.reallocate("acct", converge: .plan)
            #expect(planned.allocations.map(\.allocatedCapital) == ["750", "250"])
            #expect(planned.converge.state == .planned && planned.converge.planID.hasPrefix("pln_"))
            let plan = KWPClient(host: "127.0.0.1", port: h.planner.address.port!)
            let stored = try await plan.unary(KeelRPC.plannerGetPlan, Keel_Planner_V1_GetPlanRequest.with { $0.planID = planned.converge.planID }, as: Keel_Planner_V1_GetPlanResponse.self)
            await plan.close()
            // s holds −1 and its capital goes 500 → 750: target −1.5, a SELL of 0.5.
            #expect(stored.plan.globalDeltas.map { "\($0.symbol) \($0.deltaQty)" } == ["BTC -0.5"])
            #expect(stored.request.intent["run_id"] == planned.runID && stored.request.intent["source"] == "keel-capital")

            let executed: Keel_Capital_V1_ConvergeResult = try await h.call(KeelRPC.capitalConverge, Keel_Capital_V1_ConvergeRequest.with { $0.runID = planned.runID; $0.mode = .execute }, metadata: ["x-allow-live": "true"])
            #expect(executed.state == .executed && executed.planID == planned.converge.planID && !executed.executionID.isEmpty && !executed.batchIds.isEmpty)
            let retry: Keel_Capital_V1_ConvergeResult = try await h.call(KeelRPC.capitalConverge, Keel_Capital_V1_ConvergeRequest.with { $0.runID = planned.runID; $0.mode = .execute }, metadata: ["x-allow-live": "true"])
            #expect(retry.executionID == executed.executionID)
            await h.gateway!.dispatcher.idle()
            let positions = try await h.gatewayClient.unary(KeelRPC.gatewayGetPositions, Keel_Gateway_V1_GetPositionsRequest(), as: Keel_Gateway_V1_GetPositionsResponse.self)
            #expect(positions.positions.map { "\($0.symbol) \($0.qty)" } == ["BTC -1.5"])

            // The converge fill, recorded as the capital service's trade (by hand here).
            _ = try await h.trade("sa1", "fill-4", side: .sell, qty: "0.5")
            // Without x-allow-live the gateway's guard refuses; the allocation stands, the error is reported.
            try await h.strategy("sa1", account: "acct", strategyID: "s", weight: "1")
            let guarded = try await h.reallocate("acct", converge: .execute)
            #expect(guarded.converge.state == .failed && guarded.converge.error.reason == "E_LIVE_GUARD" && guarded.converge.error.metadata["upstream"] == "keel-gateway")
            #expect(try await h.getAccount("acct").strategyAccounts.map(\.capital.allocatedCapital) == ["500", "500"])
        }
    }
}

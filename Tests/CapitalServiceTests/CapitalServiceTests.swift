import CapitalAllocation
import CapitalService
import Contracts
import Foundation
import KeelTestSupport
import KeelWire
import Testing

@Suite struct CapitalServiceTests {
    /// Every upsert and balance validation rule over KWP/1, each naming its field;
    /// none of the refused calls leaves anything behind.
    @Test func upsertValidationNamesTheField() async throws {
        try await withCapital { h in
            let bad: [(String, StatusCode, String, (inout Account) -> Void)] = [
                ("account.account_id", .invalidArgument, "E_MISSING_FIELD", { $0.accountID = "" }),
                ("account.account_id", .invalidArgument, "E_INVALID_ID", { $0.accountID = "bad id" }),
                ("account.quote_currency", .invalidArgument, "E_MISSING_FIELD", { $0.quoteCurrency = "" }),
                ("account.quote_currency", .invalidArgument, "E_OUT_OF_RANGE", { $0.quoteCurrency = "usdt" }),
                ("account.currency_scale", .invalidArgument, "E_OUT_OF_RANGE", { $0.currencyScale = 19 }),
            ]
            for (field, code, reason, edit) in bad {
                await expectStatus(code, reason: reason, field: field) { try await h.account("a1", edit) }
            }
            await expectStatus(.notFound, reason: "E_ACCOUNT_NOT_FOUND", field: "account_id") { _ = try await h.getAccount("a1") }

            let account = try await h.account("a1")
            #expect(account.currencyScale == 8 && account.isActive && account.worldID == "a1")
            let krw = try await h.account("k1", currency: "KRW")
            #expect(krw.currencyScale == 0)

            let badStrategies: [(String, StatusCode, String, (inout StrategyAccount) -> Void)] = [
                ("strategy_account.strategy_account_id", .invalidArgument, "E_MISSING_FIELD", { $0.strategyAccountID = "" }),
                ("strategy_account.account_id", .notFound, "E_ACCOUNT_NOT_FOUND", { $0.accountID = "nope" }),
                ("strategy_account.strategy_id", .invalidArgument, "E_MISSING_FIELD", { $0.strategyID = "" }),
                ("strategy_account.market_type", .invalidArgument, "E_UNKNOWN_ENUM", { $0.marketType = .UNRECOGNIZED(9) }),
                ("strategy_account.weight", .invalidArgument, "E_INVALID_DECIMAL", { $0.weight = "1e2" }),
                ("strategy_account.weight", .invalidArgument, "E_OUT_OF_RANGE", { $0.weight = "0.001" }),
                ("strategy_account.weight", .invalidArgument, "E_OUT_OF_RANGE", { $0.weight = "-1" }),
                ("strategy_account.leverage", .invalidArgument, "E_OUT_OF_RANGE", { $0.leverage = "126" }),
                ("strategy_account.max_symbols", .invalidArgument, "E_OUT_OF_RANGE", { $0.maxSymbols = 1001 }),
            ]
            for (field, code, reason, edit) in badStrategies {
                await expectStatus(code, reason: reason, field: field) { try await h.strategy("s1", account: "a1", strategyID: "alpha", edit) }
            }
            let sa = try await h.strategy("s1", account: "a1", strategyID: "alpha")
            #expect(sa.weight == "1" && sa.leverage == "1" && sa.marketType == .spot && sa.isActive && !sa.hasCapital)
            await expectStatus(.alreadyExists, reason: "E_STRATEGY_ACCOUNT_CONFLICT", field: "strategy_account.strategy_id") {
                try await h.strategy("s2", account: "a1", strategyID: "alpha")
            }
            await expectStatus(.failedPrecondition, reason: "E_IMMUTABLE_FIELD", field: "strategy_account.account_id") {
                try await h.strategy("s1", account: "k1", strategyID: "alpha")
            }

            await expectStatus(.invalidArgument, reason: "E_INVALID_DATE", field: "balance.date") { try await h.balance("a1", "2026-02-30", "100") }
            await expectStatus(.invalidArgument, reason: "E_INVALID_DECIMAL", field: "balance.ending_balance") { try await h.balance("a1", "2026-02-28", "1,000") }
            await expectStatus(.notFound, reason: "E_ACCOUNT_NOT_FOUND", field: "balance.account_id") { try await h.balance("zz", "2026-02-28", "100") }

            let stored = try await h.getAccount("a1")
            #expect(stored.strategyAccounts.map(\.strategyAccountID) == ["s1"])
            #expect(!stored.hasLatestBalance)

            // Once capital is allocated the quote currency and scale are fixed.
            try await h.balance("a1", "2026-03-01", "1000")
            _ = try await h.reallocate("a1")
            await expectStatus(.failedPrecondition, reason: "E_IMMUTABLE_FIELD", field: "account.quote_currency") { try await h.account("a1", currency: "USDC") }
            await expectStatus(.failedPrecondition, reason: "E_IMMUTABLE_FIELD", field: "account.currency_scale") { try await h.account("a1") { $0.currencyScale = 2 } }
            let renamed = try await h.account("a1") { $0.name = "Renamed" }
            #expect(renamed.previousTotalCapital == "1000" && renamed.lastRebalanceAtMs == h.clock.now())
        }
    }

    /// Allocation over the service: 10,000 over 0.5 : 0.3, written once, with the run listed,
    /// then the same inputs again give zero changes.
    @Test func reallocateFromTheDailyBalance() async throws {
        try await withCapital { h in
            // The broker has no account "nobody": the live read made for want of a db row fails.
            try await h.account("a1", gatewayAccount: "nobody")
            try await h.strategy("s-a", account: "a1", strategyID: "alpha", weight: "0.5")
            try await h.strategy("s-b", account: "a1", strategyID: "beta", weight: "0.3")
            try await h.strategy("s-c", account: "a1", strategyID: "gamma") { $0.isActive = false }
            await expectStatus(.unavailable, reason: "E_BALANCE_UNAVAILABLE", field: "account_id") { _ = try await h.reallocate("a1") }
            try await h.balance("a1", "2026-02-28", "9000")
            try await h.balance("a1", "2026-03-01", "10000")
            let first = try await h.reallocate("a1")
            #expect(first.source == .db && first.totalCapital == "10000" && first.totalWeight == "0.8" && first.unallocated == "0")
            #expect(first.allocations.map(\.allocatedCapital) == ["6250", "3750"])
            #expect(first.allocations.map(\.change) == ["6250", "3750"])
            #expect(first.runID.hasPrefix("run_") && first.converge.state == .notRequested && first.rebalancedAtMs == h.clock.now())
            let account = try await h.getAccount("a1")
            #expect(account.strategyAccounts.map(\.capital.allocatedCapital) == ["6250", "3750", ""])
            #expect(account.latestBalance.date == "2026-03-01")
            let again = try await h.reallocate("a1")
            #expect(again.allocations.map(\.change) == ["0", "0"] && again.runID != first.runID)
            let runs: Keel_Capital_V1_ListRebalanceRunsResponse = try await h.call(KeelRPC.capitalListRebalanceRuns, Keel_Capital_V1_ListRebalanceRunsRequest.with { $0.accountID = "a1"; $0.limit = 1 })
            #expect(runs.runs.map(\.runID) == [again.runID] && runs.runs.first?.trigger == .manual)
            let next: Keel_Capital_V1_ListRebalanceRunsResponse = try await h.call(KeelRPC.capitalListRebalanceRuns, Keel_Capital_V1_ListRebalanceRunsRequest.with { $0.pageToken = runs.nextPageToken })
            #expect(next.runs.map(\.runID) == [first.runID] && next.nextPageToken.isEmpty)
            await expectStatus(.invalidArgument, reason: "E_INVALID_PAGE_TOKEN", field: "page_token") {
                let _: Keel_Capital_V1_ListRebalanceRunsResponse = try await h.call(KeelRPC.capitalListRebalanceRuns, Keel_Capital_V1_ListRebalanceRunsRequest.with { $0.pageToken = "x" })
            }
            await expectStatus(.invalidArgument, reason: "E_OUT_OF_RANGE", field: "limit") {
                let _: Keel_Capital_V1_ListRebalanceRunsResponse = try await h.call(KeelRPC.capitalListRebalanceRuns, Keel_Capital_V1_ListRebalanceRunsRequest.with { $0.limit = 501 })
            }

            // No active strategy: nothing written, a note.
            try await h.account("empty")
            try await h.balance("empty", "2026-03-01", "50")
            let empty = try await h.reallocate("empty")
            #expect(empty.note == .noActiveStrategies && empty.runID.isEmpty && empty.unallocated == "50")
            try await h.account("off") { $0.isActive = false }
            await expectStatus(.failedPrecondition, reason: "E_ACCOUNT_INACTIVE", field: "account_id") { _ = try await h.reallocate("off") }
            await expectStatus(.notFound, reason: "E_ACCOUNT_NOT_FOUND", field: "account_id") { _ = try await h.reallocate("ghost") }
            await expectStatus(.invalidArgument, reason: "E_UNKNOWN_ENUM", field: "converge") { _ = try await h.reallocate("a1", converge: .UNRECOGNIZED(7)) }

            // A negative equity is refused and leaves the allocation as it was.
            try await h.balance("a1", "2026-03-02", "-5")
            await expectStatus(.failedPrecondition, reason: "E_INVALID_TOTAL_CAPITAL", field: "total_capital") { _ = try await h.reallocate("a1") }
            #expect(try await h.getAccount("a1").strategyAccounts.map(\.capital.allocatedCapital) == ["6250", "3750", ""])
            // Zero is a total a manual reallocation may allocate.
            try await h.balance("a1", "2026-03-02", "0")
            #expect(try await h.reallocate("a1").allocations.map(\.allocatedCapital) == ["0", "0"])
        }
    }

    /// Converge: a planner that cannot be reached fails the converge, not the allocation.
    @Test func convergeWithThePlannerDown() async throws {
        try await withCapital { h in
            try await h.account("acct") { $0.worldID = "w" }
            try await h.strategy("sa1", account: "acct", strategyID: "s")
            try await h.balance("acct", "2026-03-01", "1000")
            _ = try await h.reallocate("acct")
            try await h.sellOneBTCAtTheBroker()
            _ = try await h.trade("sa1", "f1", side: .sell, qty: "1")
            await h.planner.stop()
            try await h.balance("acct", "2026-03-02", "2000")
            let response = try await h.reallocate("acct", converge: .plan)
            #expect(response.allocations.first?.allocatedCapital == "2000")
            #expect(response.converge.state == .failed && response.converge.error.reason == "E_PLANNER_UNAVAILABLE" && response.converge.error.code == 14)
            let runs: Keel_Capital_V1_ListRebalanceRunsResponse = try await h.call(KeelRPC.capitalListRebalanceRuns, Keel_Capital_V1_ListRebalanceRunsRequest.with { $0.accountID = "acct" })
            #expect(runs.runs.first?.converge.state == .failed)
        }
    }

    /// Live balance from the gateway, a failed live read falls back to the db row (never 0),
    /// another currency is a failure, and no db row with a failed read writes nothing.
    @Test func liveBalanceAndFallback() async throws {
        var harness: CapitalHarness?
        try await withCapital { h in
            harness = h
            try await h.account("live")
            try await h.strategy("l1", account: "live", strategyID: "alpha")
            let live = try await h.reallocate("live", useLive: true)
            #expect(live.source == .live && live.totalCapital == "10000" && live.allocations.first?.allocatedCapital == "10000")
            // No db row, use_live false: the live read is made once, as LIVE_FALLBACK.
            let fallback = try await h.reallocate("live", useLive: false)
            #expect(fallback.source == .liveFallback && fallback.totalCapital == "10000")

            try await h.account("euro", gatewayAccount: "eur")
            try await h.strategy("e1", account: "euro", strategyID: "alpha")
            let error = await expectStatus(.unavailable, reason: "E_BALANCE_UNAVAILABLE", field: "account_id") { _ = try await h.reallocate("euro", useLive: true) }
            #expect(error?.metadata["live_error"]?.contains("EUR") == true)
            #expect(try await h.getAccount("euro").strategyAccounts.first?.hasCapital == false)

            try await h.balance("live", "2026-03-01", "4000")
            await h.gateway?.stop()
            let db = try await h.reallocate("live", useLive: true)
            #expect(db.source == .dbFallback && db.totalCapital == "4000" && !db.liveError.isEmpty)
            try await h.account("nodb")
            try await h.strategy("n1", account: "nodb", strategyID: "alpha")
            await expectStatus(.unavailable, reason: "E_BALANCE_UNAVAILABLE", field: "account_id") { _ = try await h.reallocate("nodb", useLive: true) }
            await expectStatus(.unavailable, reason: "E_BALANCE_UNAVAILABLE", field: "account_id") { _ = try await h.reallocate("nodb", useLive: false) }
            let runs: Keel_Capital_V1_ListRebalanceRunsResponse = try await h.call(KeelRPC.capitalListRebalanceRuns, Keel_Capital_V1_ListRebalanceRunsRequest.with { $0.accountID = "nodb" })
            #expect(runs.runs.isEmpty)
        }
        _ = harness
    }

    /// Idempotency: a replay answers the stored response and does nothing; another request under
    /// the key conflicts.
    @Test func reallocateIdempotency() async throws {
        try await withCapital { h in
            try await h.account("a1")
            try await h.strategy("s1", account: "a1", strategyID: "alpha")
            try await h.balance("a1", "2026-03-01", "100")
            let first = try await h.reallocate("a1", metadata: ["idempotency-key": "k1"])
            try await h.balance("a1", "2026-03-02", "200")
            let replay = try await h.reallocate("a1", metadata: ["idempotency-key": "k1"])
            #expect(replay.replayed && replay.runID == first.runID && replay.totalCapital == "100")
            let error = await expectStatus(.alreadyExists, reason: "E_IDEMPOTENCY_KEY_REUSED", field: "idempotency-key") {
                _ = try await h.reallocate("a1", useLive: true, metadata: ["idempotency-key": "k1"])
            }
            #expect(error?.metadata["run_id"] == first.runID)
            await expectStatus(.invalidArgument, reason: "E_INVALID_IDEMPOTENCY_KEY", field: "idempotency-key") { _ = try await h.reallocate("a1", metadata: ["idempotency-key": ""]) }
            let bulk: BulkResponse = try await h.call(KeelRPC.capitalReallocateAll, Keel_Capital_V1_ReallocateAllRequest(), metadata: ["idempotency-key": "k2"])
            let bulkReplay: BulkResponse = try await h.call(KeelRPC.capitalReallocateAll, Keel_Capital_V1_ReallocateAllRequest(), metadata: ["idempotency-key": "k2"])
            #expect(bulkReplay.replayed && bulkReplay.results.first?.result.runID == bulk.results.first?.result.runID)
            #expect(try await h.getAccount("a1").strategyAccounts.first?.capital.allocatedCapital == "200")
        }
    }

    /// Exact per-trade compounding, once per execution id; replays and conflicts; net quantities.
    @Test func tradesCompoundOncePerExecution() async throws {
        try await withCapital { h in
            try await h.account("a1")
            try await h.strategy("s1", account: "a1", strategyID: "alpha")
            // Before any allocation the trade is stored, its PnL waits.
            let early = try await h.trade("s1", "e0", qty: "2", pnl: "7")
            #expect(!early.hasPnl && early.positionQty == "2")
            await expectStatus(.failedPrecondition, reason: "E_NO_ALLOCATED_CAPITAL", field: "strategy_account_id") {
                let _: Keel_Capital_V1_ApplyRealizedPnlResponse = try await h.call(KeelRPC.capitalApplyRealizedPnl, Keel_Capital_V1_ApplyRealizedPnlRequest.with { $0.strategyAccountID = "s1" })
            }
            try await h.balance("a1", "2026-03-01", "1000")
            _ = try await h.reallocate("a1")  // consumes e0's PnL (the balance holds it)
            let capitals = try await [
                h.trade("s1", "e1", side: .sell, qty: "0.5", pnl: "10", atMs: 1).pnl.allocatedCapital,
                h.trade("s1", "e2", side: .sell, qty: "0.5", pnl: "5", atMs: 2).pnl.allocatedCapital,
                h.trade("s1", "e3", side: .sell, qty: "0.5", pnl: "-20", atMs: 3).pnl.allocatedCapital,
            ]
            #expect(capitals == ["1010", "1015", "995"])
            let replay = try await h.trade("s1", "e3", side: .sell, qty: "0.5", pnl: "-20", atMs: 3)
            #expect(replay.replayed && !replay.hasPnl && replay.positionQty == "0.5")
            await expectStatus(.alreadyExists, reason: "E_TRADE_CONFLICT", field: "execution_id") { _ = try await h.trade("s1", "e3", side: .sell, qty: "0.6", pnl: "-20", atMs: 3) }
            let again: Keel_Capital_V1_ApplyRealizedPnlResponse = try await h.call(KeelRPC.capitalApplyRealizedPnl, Keel_Capital_V1_ApplyRealizedPnlRequest.with { $0.strategyAccountID = "s1" })
            #expect(again.appliedPnl == "0" && again.appliedExecutionIds.isEmpty && again.allocatedCapital == "995")
            let loss = try await h.trade("s1", "e4", pnl: "-2000", atMs: 4)
            #expect(loss.pnl.allocatedCapital == "-1005" && loss.pnl.warnings == [.negativeCapital])

            await expectStatus(.notFound, reason: "E_STRATEGY_ACCOUNT_NOT_FOUND", field: "strategy_account_id") { _ = try await h.trade("nope", "x") }
            await expectStatus(.invalidArgument, reason: "E_MISSING_FIELD", field: "execution_id") { _ = try await h.trade("s1", "") }
            await expectStatus(.invalidArgument, reason: "E_MISSING_FIELD", field: "side") { _ = try await h.trade("s1", "x", side: .unspecified) }
            await expectStatus(.invalidArgument, reason: "E_OUT_OF_RANGE", field: "qty") { _ = try await h.trade("s1", "x", qty: "0") }
            await expectStatus(.invalidArgument, reason: "E_OUT_OF_RANGE", field: "price") { _ = try await h.trade("s1", "x", price: "-1") }
            await expectStatus(.invalidArgument, reason: "E_INVALID_DECIMAL", field: "realized_pnl") { _ = try await h.trade("s1", "x", pnl: "NaN") }
        }
    }

    /// Order quantity over the service: 0.06 for futures at leverage 10, the close sized from the
    /// recorded position, and the errors in validation order.
    @Test func orderQuantity() async throws {
        try await withCapital { h in
            try await h.account("a1")
            try await h.strategy("fut", account: "a1", strategyID: "alpha") { $0.marketType = .futures; $0.leverage = "10" }
            try await h.strategy("off", account: "a1", strategyID: "beta") { $0.isActive = false }
            func quantity(_ edit: (inout Keel_Capital_V1_CalculateOrderQuantityRequest) -> Void) async throws -> Keel_Capital_V1_CalculateOrderQuantityResponse {
                var request = Keel_Capital_V1_CalculateOrderQuantityRequest()
                request.strategyAccountID = "fut"
                request.qtyPer = "10"
                request.marketPrice = "100000"
                request.symbolRules = .with { $0.stepSize = "0.001" }
                edit(&request)
                return try await h.call(KeelRPC.capitalCalculateOrderQuantity, request)
            }
            await expectStatus(.failedPrecondition, reason: "E_NO_ALLOCATED_CAPITAL", field: "strategy_account_id") { _ = try await quantity { _ in } }
            try await h.balance("a1", "2026-03-01", "6000")
            _ = try await h.reallocate("a1")
            let entry = try await quantity { _ in }
            #expect(entry.quantity == "0.06" && entry.leverageApplied == "10" && entry.priceUsed == "100000" && entry.allocatedCapital == "6000")
            let skipped = try await quantity { $0.qtyPer = "0" }
            #expect(skipped.quantity == "0" && skipped.skipReason == .zeroQtyPer)

            _ = try await h.trade("fut", "t1", symbol: "BTCUSDT", qty: "0.5")
            let close = try await quantity { $0.qtyPer = "-100"; $0.side = .sell; $0.symbol = "BTCUSDT" }
            #expect(close.quantity == "0.5")
            let clamped = try await quantity { $0.qtyPer = "-150"; $0.side = .buy; $0.positionQty = "-0.25" }
            #expect(clamped.quantity == "0.25" && clamped.warnings == [.closePercentClamped])

            await expectStatus(.invalidArgument, reason: "E_MISSING_FIELD", field: "strategy_account_id") { _ = try await quantity { $0.strategyAccountID = "" } }
            await expectStatus(.notFound, reason: "E_STRATEGY_ACCOUNT_NOT_FOUND", field: "strategy_account_id") { _ = try await quantity { $0.strategyAccountID = "ghost" } }
            await expectStatus(.failedPrecondition, reason: "E_STRATEGY_ACCOUNT_INACTIVE", field: "strategy_account_id") { _ = try await quantity { $0.strategyAccountID = "off" } }
            await expectStatus(.invalidArgument, reason: "E_QTY_PER_OUT_OF_RANGE", field: "qty_per") { _ = try await quantity { $0.qtyPer = "101"; $0.orderType = .UNRECOGNIZED(99) } }
            await expectStatus(.invalidArgument, reason: "E_UNKNOWN_ENUM", field: "order_type") { _ = try await quantity { $0.orderType = .UNRECOGNIZED(99) } }
            await expectStatus(.invalidArgument, reason: "E_INVALID_PRICE", field: "price") { _ = try await quantity { $0.price = "0"; $0.marketPrice = "x" } }
            await expectStatus(.invalidArgument, reason: "E_INVALID_DECIMAL", field: "market_price") { _ = try await quantity { $0.marketPrice = "x" } }
            await expectStatus(.notFound, reason: "E_SYMBOL_RULES_NOT_FOUND", field: "symbol_rules") { _ = try await quantity { $0.clearSymbolRules() } }
            await expectStatus(.invalidArgument, reason: "E_NEGATIVE_VALUE", field: "symbol_rules.min_qty") { _ = try await quantity { $0.symbolRules.minQty = "-1" } }
            await expectStatus(.invalidArgument, reason: "E_MISSING_SIDE", field: "side") { _ = try await quantity { $0.qtyPer = "-50" } }
            await expectStatus(.invalidArgument, reason: "E_MISSING_FIELD", field: "symbol") { _ = try await quantity { $0.qtyPer = "-50"; $0.side = .sell } }
            await expectStatus(.failedPrecondition, reason: "E_NO_SHORT_POSITION", field: "position_qty") { _ = try await quantity { $0.qtyPer = "-50"; $0.side = .buy; $0.symbol = "BTCUSDT" } }
            await expectStatus(.failedPrecondition, reason: "E_NO_PRICE", field: "market_price") { _ = try await quantity { $0.marketPrice = "" } }
        }
    }

    /// The INTERVAL policy from the injected clock: exactly one hour passes, a second less does not.
    @Test func rebalanceStatusOnTheInterval() async throws {
        let clock = ManualClock(ms("2026-03-02T02:30:00Z"))
        try await withCapital(clock: clock) { h in
            try await h.account("a1")
            try await h.strategy("s1", account: "a1", strategyID: "alpha")
            func status() async throws -> Keel_Capital_V1_RebalanceStatusResponse {
                try await h.call(KeelRPC.capitalRebalanceStatus, Keel_Capital_V1_RebalanceStatusRequest.with { $0.accountID = "a1" })
            }
            let first = try await status()
            #expect(first.shouldRebalance && first.reason == .firstAllocation && first.hasOpenPositions_p == false && first.policy == .interval)
            try await h.balance("a1", "2026-03-01", "1000")
            _ = try await h.reallocate("a1")
            clock.set(ms("2026-03-02T03:30:00Z"))
            let due = try await status()
            #expect(due.shouldRebalance && due.reason == .conditionsMet && due.timeSinceLastHours == "1" && due.previousTotalCapital == "1000")
            // 03:30Z is 12:30 KST: the next slot is 16:07 KST.
            #expect(due.nextSlotAtMs == ms("2026-03-02T07:07:00Z"))

            try await h.account("a2")
            try await h.strategy("s2", account: "a2", strategyID: "alpha")
            try await h.balance("a2", "2026-03-01", "1000")
            clock.set(ms("2026-03-02T02:30:01Z"))
            _ = try await h.reallocate("a2")
            clock.set(ms("2026-03-02T03:30:00Z"))
            let early = try await h.call(KeelRPC.capitalRebalanceStatus, Keel_Capital_V1_RebalanceStatusRequest.with { $0.accountID = "a2" }, as: Keel_Capital_V1_RebalanceStatusResponse.self)
            #expect(!early.shouldRebalance && early.reason == .minIntervalNotElapsed && early.timeSinceLastHours == "0.9997222222222222222222222222222222")
        }
    }
}

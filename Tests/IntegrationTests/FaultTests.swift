import Contracts
import ExactNumbers
import Foundation
import KeelTestSupport
import KeelWire
import SwiftProtobuf
import Testing

/// Issue 9, faults: the demo flow over the three real processes, with one service (each in turn)
/// killed (SIGKILL) at a seeded moment of a seeded step and restarted on its port and store, for at least 20 points
/// (`KEEL_FAULT_POINTS` sets how many, `KEEL_FAULT_SEED` the first seed). The caller retries with its
/// idempotency keys, as a real caller would. Whatever was killed when: every order reaches the broker
/// exactly once (the final positions are exact), every acknowledged batch is in the commit log once,
/// and capital holds exactly one run per allocation with the expected capital.
@Suite struct FaultTests {
    static let points = Int(ProcessInfo.processInfo.environment["KEEL_FAULT_POINTS"] ?? "") ?? 21
    static let firstSeed = UInt64(ProcessInfo.processInfo.environment["KEEL_FAULT_SEED"] ?? "") ?? 1

    /// Retries `body` while the service it calls is down or restarting (a caller's retry policy).
    static func retrying<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as RPCError where [.unavailable, .deadlineExceeded, .cancelled, .unknown].contains(error.code) && attempt < 200 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(50))  // back off while the service restarts
            } catch {
                Issue.record("\(what): \(error)")
                throw error
            }
        }
    }

    /// The caller: one connection to keel-capital, which reconnects when the service restarts.
    struct Flow: Sendable {
        let capital: KWPClient

        func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
            _ rpc: RPCDescriptor, _ request: Request, as: Response.Type = Response.self, key: String? = nil
        ) async throws -> Response {
            let client = capital
            var metadata = ["x-allow-live": "true"]
            if let key { metadata["idempotency-key"] = key }
            return try await FaultTests.retrying(rpc.method) {
                try await client.unary(rpc, request, as: Response.self, metadata: metadata, timeout: .seconds(10))
            }
        }

        func account(_ id: String, _ venue: String) async throws {
            let _: Keel_Capital_V1_Account = try await call(KeelRPC.capitalUpsertAccount, Keel_Capital_V1_UpsertAccountRequest.with {
                $0.account = .with { $0.accountID = id; $0.venue = venue; $0.quoteCurrency = "USDT"; $0.gatewayAccountID = "default"; $0.worldID = id }
            })
        }
        func strategy(_ id: String, _ account: String, _ strategy: String, _ weight: String) async throws {
            let _: Keel_Capital_V1_StrategyAccount = try await call(KeelRPC.capitalUpsertStrategyAccount, Keel_Capital_V1_UpsertStrategyAccountRequest.with {
                $0.strategyAccount = .with { $0.strategyAccountID = id; $0.accountID = account; $0.strategyID = strategy; $0.weight = weight }
            })
        }
        func trade(_ sa: String, _ id: String, _ symbol: String, _ side: Keel_Capital_V1_OrderSide, _ qty: String) async throws {
            let _: Keel_Capital_V1_RecordTradeResponse = try await call(KeelRPC.capitalRecordTrade, Keel_Capital_V1_RecordTradeRequest.with {
                $0.strategyAccountID = sa; $0.executionID = id; $0.symbol = symbol; $0.side = side; $0.qty = qty; $0.price = "100"; $0.executionTimeMs = 1
            })
        }
        func balance(_ account: String, _ date: String, _ value: String) async throws {
            let _: Keel_Capital_V1_DailyBalance = try await call(KeelRPC.capitalRecordDailyBalance, Keel_Capital_V1_RecordDailyBalanceRequest.with {
                $0.balance = .with { $0.accountID = account; $0.date = date; $0.endingBalance = value }
            })
        }
        /// A reallocation under its key; with converge, `Converge` until the run is executed.
        func reallocate(_ account: String, key: String, converge: Keel_Capital_V1_ConvergeMode) async throws {
            let response: Keel_Capital_V1_ReallocateResponse = try await call(KeelRPC.capitalReallocate, Keel_Capital_V1_ReallocateRequest.with {
                $0.accountID = account; $0.converge = converge
            }, key: key)
            guard converge == .execute, response.converge.state != .executed else { return }
            for _ in 0..<200 {
                let result: Keel_Capital_V1_ConvergeResult = try await call(KeelRPC.capitalConverge, Keel_Capital_V1_ConvergeRequest.with { $0.runID = response.runID; $0.mode = .execute })
                if result.state == .executed { return }
                try await Task.sleep(for: .milliseconds(50))  // the planner or the gateway is restarting
            }
            Issue.record("run \(response.runID) never executed")
        }
        /// The flow's steps, each safe to repeat.
        var steps: [(String, @Sendable () async throws -> Void)] {
            let f = self
            return [
                ("accounts", { try await f.account("growth", "binance"); try await f.account("hedge", "okx") }),
                ("strategies", {
                    try await f.strategy("growth-momentum", "growth", "momentum", "1"); try await f.strategy("growth-carry", "growth", "carry", "1")
                    try await f.strategy("hedge-basis", "hedge", "basis", "1"); try await f.strategy("hedge-meanrev", "hedge", "meanrev", "1")
                }),
                ("trades", {
                    try await f.trade("growth-momentum", "open-1", "BTCUSDT", .buy, "0.4"); try await f.trade("growth-carry", "open-2", "BTCUSDT", .buy, "0.2")
                    try await f.trade("growth-carry", "open-3", "ETHUSDT", .buy, "4"); try await f.trade("hedge-meanrev", "open-4", "ETHUSDT", .buy, "2")
                    try await f.trade("hedge-basis", "open-5", "SOLUSDT", .sell, "50")
                }),
                ("balances", { try await f.balance("growth", "2026-03-01", "100000"); try await f.balance("hedge", "2026-03-01", "50000") }),
                ("allocate", {
                    try await f.reallocate("growth", key: "alloc-growth", converge: .none); try await f.reallocate("hedge", key: "alloc-hedge", converge: .none)
                }),
                ("change", { try await f.strategy("growth-momentum", "growth", "momentum", "3"); try await f.balance("hedge", "2026-03-02", "62500") }),
                ("move growth", { try await f.reallocate("growth", key: "move-growth", converge: .execute) }),
                ("move hedge", { try await f.reallocate("hedge", key: "move-hedge", converge: .execute) }),
            ]
        }
    }

    @Test func aKilledServiceLosesNothingAndRepeatsNothing() async throws {
        let names = ["keel-planner", "keel-gateway", "keel-capital"]
        for seed in Self.firstSeed..<(Self.firstSeed + UInt64(Self.points)) {
            var g = SeededGenerator(seed: seed)
            let cluster = Cluster(token: "fault-token")
            try await withStarted({ cluster }, stop: { await $0.stopAll() }) { cluster in
                try await cluster.startAll()
                let flow = Flow(capital: cluster.client("keel-capital"))
                defer { Task { await flow.capital.close() } }
                let steps = flow.steps
                let killedStep = Int.random(in: 0..<steps.count, using: &g)
                // Each service in turn (so each is killed at a third of the points); the step and the moment are seeded.
                let victim = names[Int(seed % UInt64(names.count))]
                let delay = Int.random(in: 0...40, using: &g)
                let point = "seed \(seed): \(victim) killed \(delay) ms into \"\(steps[killedStep].0)\""
                for (i, step) in steps.enumerated() {
                    if i == killedStep {
                        let running = Task { try await step.1() }
                        try await Task.sleep(for: .milliseconds(delay))
                        try await cluster.restart(victim)
                        try await running.value
                        // A killed step may have been cut short: the caller repeats it.
                        try await step.1()
                    } else {
                        try await step.1()
                    }
                }
                // A gateway start dispatches its whole outbox before it serves: restarting it gracefully
                // is the signal that every acknowledged order has reached the broker.
                try await cluster.restart("keel-gateway", signal: SIGTERM)
                let gateway = cluster.client("keel-gateway")
                let positions = try await gateway.unary(KeelRPC.gatewayGetPositions, Keel_Gateway_V1_GetPositionsRequest(), as: Keel_Gateway_V1_GetPositionsResponse.self)
                let held = Dictionary(uniqueKeysWithValues: positions.positions.map { ("\($0.venue) \($0.symbol)", DecimalGrammar.parse($0.qty)!) })
                #expect(held == [
                    "binance BTCUSDT": DecimalGrammar.parse("0.7")!, "binance ETHUSDT": ExactDecimal(2),
                    "okx ETHUSDT": DecimalGrammar.parse("2.5")!, "okx SOLUSDT": DecimalGrammar.parse("-62.5")!,
                ], "\(point)")
                let orders = try await gateway.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest.with { $0.limit = 1000 }, as: Keel_Gateway_V1_ListOrdersResponse.self)
                #expect(Set(orders.orders.map(\.order.clientOrderID)).count == orders.orders.count, "\(point): an order twice")
                #expect(orders.orders.allSatisfy { $0.status == .filled || $0.status == .recorded }, "\(point): \(orders.orders.map(\.status))")
                var records: [Keel_Gateway_V1_CommitLogRecord] = []
                for try await record in gateway.serverStream(KeelRPC.gatewayReadCommitLog, Keel_Gateway_V1_ReadCommitLogRequest.with { $0.fromOffset = 1 }, as: Keel_Gateway_V1_CommitLogRecord.self) {
                    records.append(record)
                }
                #expect(Set(records.map(\.batchID)).count == records.count && records.count == 4, "\(point): commit log \(records.map(\.batchID))")
                await gateway.close()

                let capital = cluster.client("keel-capital")
                for (account, capitals) in [("growth", ["25000", "75000"]), ("hedge", ["31250", "31250"])] {
                    let state: Keel_Capital_V1_GetAccountResponse = try await capital.unary(KeelRPC.capitalGetAccount, Keel_Capital_V1_GetAccountRequest.with { $0.accountID = account })
                    #expect(state.strategyAccounts.map(\.capital.allocatedCapital) == capitals, "\(point): \(account)")
                    let runs: Keel_Capital_V1_ListRebalanceRunsResponse = try await capital.unary(KeelRPC.capitalListRebalanceRuns, Keel_Capital_V1_ListRebalanceRunsRequest.with { $0.accountID = account })
                    #expect(runs.runs.count == 2, "\(point): \(account) has \(runs.runs.count) runs")
                    #expect(runs.runs.first?.converge.state == .executed, "\(point): \(account)'s converge is \(runs.runs.first?.converge.state ?? .unspecified)")
                    // The plan the run executed is the planner's stored plan.
                    if let planID = runs.runs.first?.converge.planID {
                        let planner = cluster.client("keel-planner")
                        let plan = try await planner.unary(KeelRPC.plannerGetPlan, Keel_Planner_V1_GetPlanRequest.with { $0.planID = planID }, as: Keel_Planner_V1_GetPlanResponse.self)
                        #expect(plan.request.intent["run_id"] == runs.runs.first?.runID, "\(point): \(account)'s plan")
                        await planner.close()
                    }
                }
                await capital.close()
            }
        }
    }
}

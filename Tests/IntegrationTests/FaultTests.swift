import Contracts
import ExactNumbers
import Foundation
import KeelTestSupport
import KeelWire
import SwiftProtobuf
import Testing

/// Faults: the demo flow over the three real processes, with one service (each in turn)
/// killed (SIGKILL) at a seeded moment of a seeded step and restarted on its port and store, for at least 20 points
/// (`KEEL_FAULT_POINTS` sets how many, `KEEL_FAULT_SEED` the first seed). The caller retries with its
/// idempotency keys, as a real caller would. Whatever was killed when: every order reaches the broker
/// exactly once (the final positions are exact), every acknowledged batch is in the commit log once,
/// and capital holds exactly one run per allocation with the expected capital.
@Suite struct FaultTests {
    static let points = Int(ProcessInfo.processInfo.environment["KEEL_FAULT_POINTS"] ?? "") ?? 21
    static let firstSeed = UInt64(ProcessInfo.processInfo.environment["KEEL_FAULT_SEED"] ?? "") ?? 1

    @Test func aKilledServiceLosesNothingAndRepeatsNothing() async throws {
        let names = ["keel-planner", "keel-gateway", "keel-capital"]
        for seed in Self.firstSeed..<(Self.firstSeed + UInt64(Self.points)) {
            var g = SeededGenerator(seed: seed)
            let cluster = Cluster(token: "fault-token")
            try await withStarted({ cluster }, stop: { await $0.stopAll() }) { cluster in
                try await cluster.startAll()
                let flow = DemoFlow(capital: cluster.client("keel-capital"))
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

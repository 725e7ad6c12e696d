import Contracts
import ExactNumbers
import Foundation
import KeelTestSupport
import KeelWire
import SwiftProtobuf
import Testing

/// The three real executables as separate processes on ephemeral loopback ports, with a token, and
/// the demo's flow through KWP/1: a portfolio at the paper broker, two capital accounts, an
/// allocation, a restart of keel-capital in the middle, then a reallocation with converge EXECUTE.
/// The final positions, the commit log and the audit log are checked; every process is stopped, also
/// when the test fails.
@Suite struct EndToEndTests {
    static let token = "integration-token"
    static let repository = Cluster.repository

    static func decimal(_ text: String) -> ExactDecimal { DecimalGrammar.parse(text)! }

    @Test func theDemoFlowAcrossThreeProcessesWithARestart() async throws {
        let cluster = Cluster(token: Self.token)
        try await withStarted({ cluster }, stop: { await $0.stopAll() }) { cluster in
            try await cluster.startAll()
            let capitalArguments = cluster.capitalArguments

            let flow = DemoFlow(capital: cluster.client("keel-capital"))
            let gateway = cluster.client("keel-gateway")
            let steps = Dictionary(uniqueKeysWithValues: flow.steps)
            for step in ["accounts", "strategies", "trades", "balances"] { try await steps[step]!() }
            #expect(try await flow.reallocate("growth", key: "e2e-growth", converge: .none).allocations.map(\.allocatedCapital) == ["50000", "50000"])
            #expect(try await flow.reallocate("hedge", key: "e2e-hedge", converge: .none).allocations.map(\.allocatedCapital) == ["25000", "25000"])

            // keel-capital restarts in the middle of the flow (SIGTERM): its store carries the state over.
            #expect(await cluster.processes["keel-capital"]!.stop() == 0)
            try await cluster.start("keel-capital", capitalArguments, port: cluster.ports["keel-capital"]!)

            try await steps["change"]!()
            let growth = try await flow.reallocate("growth", key: "e2e-growth-move", converge: .execute)
            let hedge = try await flow.reallocate("hedge", key: "e2e-hedge-move", converge: .execute)
            #expect(growth.converge.state == .executed, "\(growth.converge)")
            #expect(hedge.converge.state == .executed, "\(hedge.converge)")
            // The same call again replays: nothing is planned or executed twice.
            let replay = try await flow.reallocate("growth", key: "e2e-growth-move", converge: .execute)
            #expect(replay.replayed && replay.converge.executionID == growth.converge.executionID)

            let positions = try await gateway.unary(KeelRPC.gatewayGetPositions, Keel_Gateway_V1_GetPositionsRequest(), as: Keel_Gateway_V1_GetPositionsResponse.self)
            let held = Dictionary(uniqueKeysWithValues: positions.positions.map { ("\($0.venue) \($0.symbol)", Self.decimal($0.qty)) })
            #expect(held == [
                "binance BTCUSDT": Self.decimal("0.7"), "binance ETHUSDT": Self.decimal("2"),
                "okx ETHUSDT": Self.decimal("2.5"), "okx SOLUSDT": Self.decimal("-62.5"),
            ])

            // The commit log holds the converge batches, in order; the audit log the executions.
            var records: [Keel_Gateway_V1_CommitLogRecord] = []
            for try await record in gateway.serverStream(KeelRPC.gatewayReadCommitLog, Keel_Gateway_V1_ReadCommitLogRequest.with { $0.fromOffset = 1 }, as: Keel_Gateway_V1_CommitLogRecord.self) {
                records.append(record)
            }
            let batches = growth.converge.batchIds + hedge.converge.batchIds
            #expect(Set(records.map(\.batchID)) == Set(batches))
            #expect(records.map(\.offset) == Array(1...UInt64(records.count)))
            let audit = try await gateway.unary(KeelRPC.gatewayListAuditEvents, Keel_Gateway_V1_ListAuditEventsRequest(), as: Keel_Gateway_V1_ListAuditEventsResponse.self)
            let auditText = audit.events.map { "\($0.key) \($0.type) \($0.bodyJson)" }.joined(separator: "\n")
            for execution in [growth.converge.executionID, hedge.converge.executionID] {
                #expect(auditText.contains(execution), "the audit log names \(execution):\n\(auditText)")
            }

            // The loop closed: keel-capital recorded the five converge fills (its log says so for each),
            // so its per-strategy quantities add up to the broker's again and a plan-only converge goes
            // through (no E_POSITION_MISMATCH).
            #expect(await cluster.processes["keel-capital"]!.waitForLog("fill recorded as a trade", count: 5))
            try await flow.strategy("growth-momentum", "growth", "momentum", "2")
            let planned = try await flow.reallocate("growth", key: "e2e-growth-plan", converge: .plan)
            #expect(planned.converge.state == .planned, "\(planned.converge)")
            await flow.capital.close()
            await gateway.close()
        }
    }
    /// Converge moves exactly the lots the exact scale implies when a strategy's share of its
    /// account does not terminate: growth 100,000 → 120,000 and hedge 50,000 → 60,000 at equal
    /// weights scale every strategy by exactly 1.2 (shares such as 50,000 / 120,000 do not terminate,
    /// and a scale rounded to 1.1999…9 would lose a whole lot to truncation: SOL −59.9, BTC 0.719).
    @Test func convergeMovesWholeLotsWhenSharesDoNotTerminate() async throws {
        let cluster = Cluster(token: Self.token)
        try await withStarted({ cluster }, stop: { await $0.stopAll() }) { cluster in
            try await cluster.startAll()
            let flow = DemoFlow(capital: cluster.client("keel-capital"))
            let gateway = cluster.client("keel-gateway")
            let steps = Dictionary(uniqueKeysWithValues: flow.steps)
            for step in ["accounts", "strategies", "trades", "balances", "allocate"] { try await steps[step]!() }
            try await flow.balance("growth", "2026-03-02", "120000")
            try await flow.balance("hedge", "2026-03-02", "60000")
            let growth = try await flow.reallocate("growth", key: "lots-growth", converge: .execute)
            let hedge = try await flow.reallocate("hedge", key: "lots-hedge", converge: .execute)
            #expect(growth.allocations.map(\.allocatedCapital) == ["60000", "60000"] && hedge.allocations.map(\.allocatedCapital) == ["30000", "30000"])
            #expect(growth.converge.state == .executed && hedge.converge.state == .executed, "\(growth.converge) \(hedge.converge)")

            let positions = try await gateway.unary(KeelRPC.gatewayGetPositions, Keel_Gateway_V1_GetPositionsRequest(), as: Keel_Gateway_V1_GetPositionsResponse.self)
            let held = Dictionary(uniqueKeysWithValues: positions.positions.map { ("\($0.venue) \($0.symbol)", Self.decimal($0.qty)) })
            #expect(held == [
                "binance BTCUSDT": Self.decimal("0.72"), "binance ETHUSDT": Self.decimal("4.8"),
                "okx ETHUSDT": Self.decimal("2.4"), "okx SOLUSDT": Self.decimal("-60"),
            ])
            await flow.capital.close()
            await gateway.close()
        }
    }
}

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

            var capital = cluster.client("keel-capital")
            let gateway = cluster.client("keel-gateway")
            func account(_ id: String, venue: String) async throws {
                let _: Keel_Capital_V1_Account = try await capital.unary(KeelRPC.capitalUpsertAccount, Keel_Capital_V1_UpsertAccountRequest.with {
                    $0.account = .with { $0.accountID = id; $0.venue = venue; $0.quoteCurrency = "USDT"; $0.gatewayAccountID = "default"; $0.worldID = id }
                })
            }
            func strategy(_ id: String, _ account: String, _ strategy: String, weight: String = "1") async throws {
                let _: Keel_Capital_V1_StrategyAccount = try await capital.unary(KeelRPC.capitalUpsertStrategyAccount, Keel_Capital_V1_UpsertStrategyAccountRequest.with {
                    $0.strategyAccount = .with { $0.strategyAccountID = id; $0.accountID = account; $0.strategyID = strategy; $0.weight = weight }
                })
            }
            func trade(_ sa: String, _ id: String, _ symbol: String, _ side: Keel_Capital_V1_OrderSide, _ qty: String, _ price: String) async throws {
                let _: Keel_Capital_V1_RecordTradeResponse = try await capital.unary(KeelRPC.capitalRecordTrade, Keel_Capital_V1_RecordTradeRequest.with {
                    $0.strategyAccountID = sa; $0.executionID = id; $0.symbol = symbol; $0.side = side; $0.qty = qty; $0.price = price
                })
            }
            func balance(_ account: String, _ date: String, _ value: String) async throws {
                let _: Keel_Capital_V1_DailyBalance = try await capital.unary(KeelRPC.capitalRecordDailyBalance, Keel_Capital_V1_RecordDailyBalanceRequest.with {
                    $0.balance = .with { $0.accountID = account; $0.date = date; $0.endingBalance = value }
                })
            }
            func reallocate(_ account: String, converge: Keel_Capital_V1_ConvergeMode = .none) async throws -> Keel_Capital_V1_ReallocateResponse {
                try await capital.unary(KeelRPC.capitalReallocate, Keel_Capital_V1_ReallocateRequest.with { $0.accountID = account; $0.converge = converge },
                                        metadata: ["x-allow-live": "true", "idempotency-key": "e2e-\(account)-\(converge)"], timeout: .seconds(30))
            }

            try await account("growth", venue: "binance")
            try await account("hedge", venue: "okx")
            try await strategy("growth-momentum", "growth", "momentum")
            try await strategy("growth-carry", "growth", "carry")
            try await strategy("hedge-basis", "hedge", "basis")
            try await strategy("hedge-meanrev", "hedge", "meanrev")
            try await trade("growth-momentum", "open-1", "BTCUSDT", .buy, "0.4", "58000")
            try await trade("growth-carry", "open-2", "BTCUSDT", .buy, "0.2", "58000")
            try await trade("growth-carry", "open-3", "ETHUSDT", .buy, "4", "2900")
            try await trade("hedge-meanrev", "open-4", "ETHUSDT", .buy, "2", "3100")
            try await trade("hedge-basis", "open-5", "SOLUSDT", .sell, "50", "160")
            try await balance("growth", "2026-03-01", "100000")
            try await balance("hedge", "2026-03-01", "50000")
            #expect(try await reallocate("growth").allocations.map(\.allocatedCapital) == ["50000", "50000"])
            #expect(try await reallocate("hedge").allocations.map(\.allocatedCapital) == ["25000", "25000"])

            // keel-capital restarts in the middle of the flow: its store carries the state over.
            await capital.close()
            #expect(await cluster.processes["keel-capital"]!.stop() == 0)
            try await cluster.start("keel-capital", capitalArguments)
            capital = cluster.client("keel-capital")

            try await strategy("growth-momentum", "growth", "momentum", weight: "3")
            try await balance("hedge", "2026-03-02", "62500")
            let growth = try await reallocate("growth", converge: .execute)
            let hedge = try await reallocate("hedge", converge: .execute)
            #expect(growth.converge.state == .executed, "\(growth.converge)")
            #expect(hedge.converge.state == .executed, "\(hedge.converge)")
            // The same call again replays: nothing is planned or executed twice.
            let replay = try await reallocate("growth", converge: .execute)
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
            try await strategy("growth-momentum", "growth", "momentum", weight: "2")
            let planned: Keel_Capital_V1_ReallocateResponse = try await capital.unary(
                KeelRPC.capitalReallocate, Keel_Capital_V1_ReallocateRequest.with { $0.accountID = "growth"; $0.converge = .plan })
            #expect(planned.converge.state == .planned, "\(planned.converge)")
            await capital.close()
            await gateway.close()
        }
    }
}

import Contracts
import Foundation
import KeelWire
import SwiftProtobuf
import Testing

/// The demo's flow as a caller drives it (the integration and fault tests): one connection to
/// keel-capital, which reconnects when the service restarts, every call retried while the service is
/// down, mutations under idempotency keys, so each step is safe to repeat.
struct DemoFlow: Sendable {
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

    let capital: KWPClient

    func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ rpc: RPCDescriptor, _ request: Request, as: Response.Type = Response.self, key: String? = nil
    ) async throws -> Response {
        let client = capital
        var metadata = ["x-allow-live": "true"]
        if let key { metadata["idempotency-key"] = key }
        return try await DemoFlow.retrying(rpc.method) {
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
    func trade(_ sa: String, _ id: String, _ symbol: String, _ side: Keel_Capital_V1_OrderSide, _ qty: String, _ price: String) async throws {
        let _: Keel_Capital_V1_RecordTradeResponse = try await call(KeelRPC.capitalRecordTrade, Keel_Capital_V1_RecordTradeRequest.with {
            $0.strategyAccountID = sa; $0.executionID = id; $0.symbol = symbol; $0.side = side; $0.qty = qty; $0.price = price; $0.executionTimeMs = 1
        })
    }
    func balance(_ account: String, _ date: String, _ value: String) async throws {
        let _: Keel_Capital_V1_DailyBalance = try await call(KeelRPC.capitalRecordDailyBalance, Keel_Capital_V1_RecordDailyBalanceRequest.with {
            $0.balance = .with { $0.accountID = account; $0.date = date; $0.endingBalance = value }
        })
    }
    /// A reallocation under its key; with converge EXECUTE, `Converge` until the run is executed.
    /// Answers the reallocation with the run's final converge result.
    @discardableResult
    func reallocate(_ account: String, key: String, converge: Keel_Capital_V1_ConvergeMode) async throws -> Keel_Capital_V1_ReallocateResponse {
        var response: Keel_Capital_V1_ReallocateResponse = try await call(KeelRPC.capitalReallocate, Keel_Capital_V1_ReallocateRequest.with {
            $0.accountID = account; $0.converge = converge
        }, key: key)
        guard converge == .execute, response.converge.state != .executed else { return response }
        for _ in 0..<200 {
            response.converge = try await call(KeelRPC.capitalConverge, Keel_Capital_V1_ConvergeRequest.with { $0.runID = response.runID; $0.mode = .execute })
            if response.converge.state == .executed { return response }
            try await Task.sleep(for: .milliseconds(50))  // the planner or the gateway is restarting
        }
        Issue.record("run \(response.runID) never executed")
        return response
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
                try await f.trade("growth-momentum", "open-1", "BTCUSDT", .buy, "0.4", "58000")
                try await f.trade("growth-carry", "open-2", "BTCUSDT", .buy, "0.2", "58000")
                try await f.trade("growth-carry", "open-3", "ETHUSDT", .buy, "4", "2900")
                try await f.trade("hedge-meanrev", "open-4", "ETHUSDT", .buy, "2", "3100")
                try await f.trade("hedge-basis", "open-5", "SOLUSDT", .sell, "50", "160")
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

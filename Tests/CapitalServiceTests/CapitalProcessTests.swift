import Contracts
import Foundation
import KeelTestSupport
import KeelWire
import Testing

/// The real keel-capital executable: it starts on an ephemeral port with a token, serves, refuses
/// a bad config naming the JSON path, and drains on SIGTERM.
@Suite struct CapitalProcessTests {
    /// `--help` lists exactly the methods the router answers.
    @Test func helpListsWhatTheRouterServes() async throws {
        try await withCapital(withGateway: false) { capital in
            let listed = try await HelpText.listedMethods("keel-capital")
            #expect(!listed.isEmpty && listed == HelpText.shortNames(capital.capital.server.methods))
        }
    }

    @Test func theExecutableServesAndStops() async throws {
        let directory = NSTemporaryDirectory() + "keel-cap-proc-\(UUID().uuidString)"
        let capital = ServiceProcess(
            executable: "keel-capital", arguments: ["--port", "0", "--data-dir", directory, "--gateway", "127.0.0.1:1", "--metrics-port", "0"],
            environment: ["KEEL_TOKEN": "capital-token"], readyMarker: "keel-capital ready")
        try await withStarted({ try await capital.start(); return capital }, stop: { _ = await $0.stop() }) { process in
            let port = try #require(process.loggedNumber("port"))
            let client = KWPClient(host: "127.0.0.1", port: port, configuration: .init(token: "capital-token"))
            let account: Keel_Capital_V1_Account = try await client.unary(KeelRPC.capitalUpsertAccount, Keel_Capital_V1_UpsertAccountRequest.with {
                $0.account = .with { $0.accountID = "a1"; $0.quoteCurrency = "KRW" }
            })
            #expect(account.currencyScale == 0)
            // The gateway is not there: the live read fails, never a balance of 0.
            do {
                let _: Keel_Capital_V1_ReallocateResponse = try await client.unary(KeelRPC.capitalReallocate, Keel_Capital_V1_ReallocateRequest.with { $0.accountID = "a1"; $0.useLive = true })
                Issue.record("a reallocation without any balance was served")
            } catch let error as RPCError {
                #expect(error.code == .unavailable && error.reason == "E_BALANCE_UNAVAILABLE")
            }
            let anonymous = KWPClient(host: "127.0.0.1", port: port)
            do {
                let _: Keel_Capital_V1_GetAccountResponse = try await anonymous.unary(KeelRPC.capitalGetAccount, Keel_Capital_V1_GetAccountRequest.with { $0.accountID = "a1" })
                Issue.record("a call without the token was served")
            } catch let error as RPCError {
                #expect(error.code == .unauthenticated)
            }
            await anonymous.close()
            // A manual reallocation from the daily balance, then the counters on /metrics.
            let _: Keel_Capital_V1_StrategyAccount = try await client.unary(KeelRPC.capitalUpsertStrategyAccount, Keel_Capital_V1_UpsertStrategyAccountRequest.with {
                $0.strategyAccount = .with { $0.strategyAccountID = "s1"; $0.accountID = "a1"; $0.strategyID = "alpha" }
            })
            let _: Keel_Capital_V1_DailyBalance = try await client.unary(KeelRPC.capitalRecordDailyBalance, Keel_Capital_V1_RecordDailyBalanceRequest.with {
                $0.balance = .with { $0.accountID = "a1"; $0.date = "2026-03-01"; $0.endingBalance = "1000000" }
            })
            let _: Keel_Capital_V1_ReallocateResponse = try await client.unary(KeelRPC.capitalReallocate, Keel_Capital_V1_ReallocateRequest.with { $0.accountID = "a1" })
            let metricsPort = try #require(process.loggedNumber("metrics_port"))
            let metrics = try await HTTPScrape.get(port: metricsPort)
            #expect(metrics.contains(#"keel_capital_allocations_total{trigger="manual"} 1"#), "\(metrics)")
            #expect(try await HTTPScrape.fetch(port: metricsPort, path: "/healthz").status == 200)
            await client.close()
            #expect(await process.stop() == 0)
            #expect(!process.log.contains("capital-token"))
        }
    }

    @Test func aBadConfigStopsTheServiceNamingThePath() async throws {
        let file = NSTemporaryDirectory() + "keel-cap-config-\(UUID().uuidString).json"
        try Data(#"{"schedule": {"slots": ["01:17", "25:00"]}}"#.utf8).write(to: URL(fileURLWithPath: file))
        let result = try await runCommand("keel-capital", ["--port", "0", "--config", file])
        #expect(result.status != 0)
        #expect(result.stderr.contains("schedule.slots[1]"), "\(result.stderr)")
    }
}

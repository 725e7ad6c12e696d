import Contracts
import Foundation
import KeelTestSupport
import KeelWire
import Testing

/// Security: with a token configured every RPC but Health refuses a call without it or with
/// another one; no token reaches a log; live submission needs the guard header; SQL is only ever
/// written as parameterised statements.
@Suite struct SecurityTests {
    @Test func everyRPCButHealthNeedsTheTokenAndNoTokenIsLogged() async throws {
        let cluster = Cluster(token: "the-real-token-\(UUID().uuidString)")
        try await withStarted({ cluster }, stop: { await $0.stopAll() }) { cluster in
            try await cluster.startAll()
            let services = ["keel-planner": "keel.planner.v1", "keel-gateway": "keel.gateway.v1", "keel-capital": "keel.capital.v1"]
            for (name, package) in services {
                let anonymous = cluster.client(name, authenticated: false)
                let impostor = cluster.client(name, token: "a-guessed-token")
                for rpc in KeelRPC.all where rpc.service.hasPrefix(package) {
                    for client in [anonymous, impostor] {
                        do {
                            if rpc.isServerStreaming {
                                for try await _ in client.serverStreamBytes(rpc.path, body: Data(), timeout: .seconds(5)) { break }
                            } else {
                                _ = try await client.unaryBytes(rpc.path, body: Data(), timeout: .seconds(5))
                            }
                            Issue.record("\(rpc.path) answered without the token")
                        } catch let error as RPCError {
                            #expect(error.code == .unauthenticated, "\(rpc.path): \(error)")
                        }
                    }
                }
                let health = try await anonymous.unary(KeelRPC.healthCheck, Keel_Health_V1_HealthCheckRequest(), as: Keel_Health_V1_HealthCheckResponse.self)
                #expect(health.status == .serving)
                await anonymous.close()
                await impostor.close()
            }
            // The services call each other with the token too (a reallocation reads the gateway's balance).
            let capital = cluster.client("keel-capital")
            let _: Keel_Capital_V1_Account = try await capital.unary(KeelRPC.capitalUpsertAccount, Keel_Capital_V1_UpsertAccountRequest.with {
                $0.account = .with { $0.accountID = "a1"; $0.quoteCurrency = "USDT"; $0.gatewayAccountID = "default" }
            })
            let _: Keel_Capital_V1_StrategyAccount = try await capital.unary(KeelRPC.capitalUpsertStrategyAccount, Keel_Capital_V1_UpsertStrategyAccountRequest.with {
                $0.strategyAccount = .with { $0.strategyAccountID = "s1"; $0.accountID = "a1"; $0.strategyID = "alpha" }
            })
            let live: Keel_Capital_V1_ReallocateResponse = try await capital.unary(KeelRPC.capitalReallocate, Keel_Capital_V1_ReallocateRequest.with { $0.accountID = "a1"; $0.useLive = true })
            #expect(live.source == .live)
            await capital.close()
            for (name, process) in cluster.processes {
                #expect(!process.log.contains(cluster.token), "\(name) logged its token")
                #expect(!process.log.contains("a-guessed-token"), "\(name) logged a presented token")
            }
        }
    }

    /// Every SQL text in the sources is a literal without interpolation: values go in as arguments.
    @Test func sqlIsOnlyParameterised() throws {
        let sources = Cluster.repository.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        let literal = try Regex(#"sql:\s*(?:"""(?<block>(?s:.*?))"""|"(?<line>(?:[^"\\]|\\.)*)")"#)
        var statements = 0
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: literal) {
                statements += 1
                let sql = (match.output["block"]?.substring ?? match.output["line"]?.substring).map(String.init) ?? ""
                #expect(!sql.contains("\\("), "\(file.lastPathComponent): SQL with interpolation: \(sql.prefix(120))")
            }
        }
        #expect(statements > 50, "the scan found the stores' statements (\(statements))")
    }
}

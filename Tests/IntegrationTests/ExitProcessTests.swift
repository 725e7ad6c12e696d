import Contracts
import Foundation
import KeelTestSupport
import KeelWire
import Testing

/// The exit engine across real processes, driven with the CLI: `keel risk evaluate` breaches a
/// limit at keel-planner, keel-gateway (exit policy in approval mode over the default account's
/// book) holds the signal, `keel exit approve` submits the reduce plan, and the paper broker's
/// positions — longs and the short — are halved by reduce-only orders.
@Suite struct ExitProcessTests {
    static func gatewayConfig(directory: String) throws -> String {
        let demo = Cluster.repository.appendingPathComponent("config/demo/gateway.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: demo)) as! [String: Any]
        object["exit_policy"] = ["mode": "approval", "positions": "account", "account_id": "default"]
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/gateway-exit.json"
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aHeldSignalIsApprovedWithTheCLIAndReducesTheBook() async throws {
        let cluster = Cluster(token: "exit-\(UUID().uuidString)")
        try await withStarted({ cluster }, stop: { await $0.stopAll() }) { cluster in
            try await cluster.start("keel-planner", [])
            try await cluster.start("keel-gateway", ["--planner", "127.0.0.1:\(cluster.ports["keel-planner"]!)",
                                                     "--config", try Self.gatewayConfig(directory: cluster.directory)])
            let planner = "127.0.0.1:\(cluster.ports["keel-planner"]!)"
            let gateway = "127.0.0.1:\(cluster.ports["keel-gateway"]!)"
            let auth = ["--token", cluster.token]
            // The default account: BTC 0.6 × 60,000 of about 100,000 + 54,000 held = 45 % in one name; the limit is 40 %.
            let body = #"""
                {"snapshots":[{"world_id":"book","symbols":["BTCUSDT","ETHUSDT","SOLUSDT"],"weights":["0.45","0.23","-0.05"],
                  "rules":[{"rule_id":"max-weight","measure":"RISK_MEASURE_CONCENTRATION","limit":"0.4",
                            "action":"EXIT_ACTION_REDUCE","reduce_fraction":"0.5"}]}]}
                """#
            let evaluated = try await runCommand("keel", ["risk", "evaluate", planner, "--json", "-"] + auth, stdin: body)
            #expect(evaluated.status == 0, "\(evaluated.stderr)")
            #expect(evaluated.stdout.contains("max-weight") && evaluated.stdout.contains("yes") && evaluated.stdout.contains("concentration 0.45 > limit 0.4"))

            // The gateway's exit.signals stream says when the relayed signal is held.
            let client = cluster.client("keel-gateway")
            defer { Task { await client.close() } }
            let stream = client.serverStream(KeelRPC.gatewayWatch, Keel_Gateway_V1_WatchRequest.with { $0.topics = ["exit.signals"] },
                                             as: Keel_Gateway_V1_GatewayEvent.self, timeout: .seconds(30))
            var signalID = ""
            for try await event in stream where event.exitSignal.state == .awaitingApproval {
                signalID = event.exitSignal.signal.signalID
                break
            }
            stream.cancel()
            #expect(!signalID.isEmpty)
            let listed = try await runCommand("keel", ["exit", "list", gateway, "--state", "awaiting-approval"] + auth)
            #expect(listed.stdout.contains(signalID), "\(listed.stdout)")

            let refused = try await runCommand("keel", ["exit", "approve", gateway, signalID, "--operator", "ops-anna"] + auth)
            #expect(refused.status != 0 && refused.stderr.contains("E_LIVE_GUARD"), "\(refused.stderr)")
            let approved = try await runCommand("keel", ["exit", "approve", gateway, signalID, "--operator", "ops-anna", "--reason", "too concentrated", "--allow-live"] + auth)
            #expect(approved.status == 0, "\(approved.stderr)")
            #expect(approved.stdout.contains("APPLIED"), "\(approved.stdout)")

            // Dispatch is asynchronous: the orders topic reports each reduce order's fill.
            let orders = client.serverStream(KeelRPC.gatewayWatch, Keel_Gateway_V1_WatchRequest.with { $0.topics = ["orders"] },
                                             as: Keel_Gateway_V1_GatewayEvent.self, timeout: .seconds(30))
            var filled = 0
            for try await event in orders where event.order.status == .filled {
                filled += 1
                if filled == 4 { break }
            }
            orders.cancel()
            let positions = try await client.unary(KeelRPC.gatewayGetPositions, Keel_Gateway_V1_GetPositionsRequest(),
                                                   as: Keel_Gateway_V1_GetPositionsResponse.self).positions
            #expect(positions.map { "\($0.venue) \($0.symbol) \($0.qty)" } == ["binance BTCUSDT 0.3", "binance ETHUSDT 2", "okx ETHUSDT 1", "okx SOLUSDT -25"])
            let sent = try await client.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest(), as: Keel_Gateway_V1_ListOrdersResponse.self)
                .orders.filter { $0.status != .recorded }
            #expect(sent.count == 4)
            #expect(sent.allSatisfy { $0.order.reduceOnly })
            let audit = try await client.unary(KeelRPC.gatewayListAuditEvents, Keel_Gateway_V1_ListAuditEventsRequest.with { $0.key = "exit:book" },
                                               as: Keel_Gateway_V1_ListAuditEventsResponse.self).events
            #expect(audit.map(\.type) == ["EXIT_SIGNAL", "EXIT_APPROVED", "EXIT_APPLIED"])
            #expect(audit[1].bodyJson.contains("\"decided_by\":\"ops-anna\""))
        }
    }
}

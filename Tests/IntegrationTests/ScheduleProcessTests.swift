import Contracts
import ExactNumbers
import Foundation
import KeelTestSupport
import KeelWire
import Testing

/// A paced schedule across real processes on the demo's configuration (venue krx, account krx,
/// quotes from seeded walks, 1.5 s fill delay), in real time: started with the CLI, the gateway
/// killed after the first order and started again on its store, and `keel schedule follow`
/// printing progress until the schedule completes.
@Suite struct ScheduleProcessTests {
    /// Wall times in the zone where it is now about noon, so that now and now + 3 minutes are one
    /// trading day whatever the hour (as scripts/demo does).
    static func request(now: Date = Date()) -> String {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let parts = utc.dateComponents([.hour, .minute, .second], from: now)
        let shift = 12 - parts.hour!
        let zone = shift > 0 ? "Etc/GMT-\(shift)" : shift < 0 ? "Etc/GMT+\(-shift)" : "UTC"
        let start = String(format: "12:%02d:%02d", parts.minute!, parts.second!)
        let endMinute = parts.minute! + 3
        let end = String(format: "%02d:%02d:%02d", 12 + endMinute / 60, endMinute % 60, parts.second!)
        return """
            {"account_id":"krx","venue":"krx","fill_from_account":true,"target":{"sell_rounds":3,"buy_rounds":3},
             "policy":{"time_zone":"\(zone)","sell_start":"\(start)","buy_start":"\(start)","session_end":"\(end)",
                       "round_interval_s":2,"poll_interval_s":1,"amend_after_s":3},
             "intent":{"source":"integration-test"}}
            """
    }

    @Test func aScheduleSurvivesAKilledGatewayAndTheCLIFollowsItToTheEnd() async throws {
        let cluster = Cluster(token: "schedule-\(UUID().uuidString)")
        try await withStarted({ cluster }, stop: { await $0.stopAll() }) { cluster in
            try await cluster.start("keel-planner", [])
            try await cluster.start("keel-gateway", ["--planner", "127.0.0.1:\(cluster.ports["keel-planner"]!)",
                                                     "--config", Cluster.repository.appendingPathComponent("config/demo/gateway.json").path])
            let target = "127.0.0.1:\(cluster.ports["keel-gateway"]!)"
            let auth = ["--token", cluster.token]
            let before = try await Self.holdings(of: cluster)

            let started = try await runCommand("keel", ["schedule", "start", target, "--json", "-", "--allow-live", "--raw"] + auth, stdin: Self.request())
            #expect(started.status == 0, "\(started.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(started.stdout.utf8)) as? [String: Any]
            let id = try #require(json?["schedule_id"] as? String)

            // The first order's ROUND_SUBMITTED is the signal to kill the gateway mid-schedule.
            let watcher = cluster.client("keel-gateway")
            let stream = watcher.serverStream(KeelRPC.gatewayWatch, Keel_Gateway_V1_WatchRequest.with { $0.topics = ["schedule.progress"] },
                                              as: Keel_Gateway_V1_GatewayEvent.self, timeout: .seconds(60))
            for try await event in stream where event.schedule.scheduleID == id && event.schedule.kind == .roundSubmitted { break }
            stream.cancel()
            await watcher.close()
            try await cluster.restart("keel-gateway")

            let followed = try await runCommand("keel", ["schedule", "follow", target, id] + auth)
            #expect(followed.status == 0, "\(followed.stdout)\n\(followed.stderr)")
            for kind in ["CREATED", "PHASE_STARTED", "ROUND_SUBMITTED", "ORDER_FILL", "RESUMED", "COMPLETED"] {
                #expect(followed.stdout.contains(kind), "\(kind) missing from:\n\(followed.stdout)")
            }

            let client = cluster.client("keel-gateway")
            defer { Task { await client.close() } }
            let schedule = try await client.unary(KeelRPC.gatewayGetSchedule, Keel_Gateway_V1_GetScheduleRequest.with { $0.scheduleID = id }, as: Keel_Gateway_V1_Schedule.self)
            #expect(schedule.state == .completed, "\(schedule.stateReason)")
            let issued = schedule.legs.flatMap(\.rounds).filter { !$0.clientOrderID.isEmpty }
            #expect(issued.allSatisfy { $0.state == .filled })
            let orders = try await client.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest.with { $0.batchID = id },
                                                as: Keel_Gateway_V1_ListOrdersResponse.self).orders
            // No round was issued twice: one order row per issued round, each filled.
            #expect(orders.count == issued.count)
            #expect(Set(orders.map(\.order.clientOrderID)) == Set(issued.map(\.clientOrderID)))
            #expect(orders.allSatisfy { $0.status == .filled })
            // The quotes walk through the day, so which symbols are sold and which bought depends on
            // the hour: each symbol's holding moved by exactly what its legs filled.
            var expected = before
            var anythingFilled = false
            for leg in schedule.legs {
                let filled = try #require(DecimalGrammar.parse(leg.filledQty), "leg \(leg.symbol) filled_qty \(leg.filledQty)")
                expected[leg.symbol, default: .zero] += leg.side == .sell ? -filled : filled
                anythingFilled = anythingFilled || !filled.isZero
            }
            #expect(anythingFilled, "nothing was filled")
            #expect(try await Self.holdings(of: cluster) == expected.filter { !$0.value.isZero })
        }
    }

    /// The krx account's holdings by symbol, as the gateway reports them.
    static func holdings(of cluster: Cluster) async throws -> [String: ExactDecimal] {
        let client = cluster.client("keel-gateway")
        defer { Task { await client.close() } }
        let positions = try await client.unary(KeelRPC.gatewayGetPositions, Keel_Gateway_V1_GetPositionsRequest.with { $0.accountID = "krx" },
                                               as: Keel_Gateway_V1_GetPositionsResponse.self).positions
        var holdings: [String: ExactDecimal] = [:]
        for position in positions where position.venue == "krx" {
            let qty = DecimalGrammar.parse(position.qty)
            #expect(qty != nil, "\(position.symbol) qty \(position.qty)")
            holdings[position.symbol] = qty
        }
        return holdings
    }
}

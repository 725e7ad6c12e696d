import Contracts
import Execution
import Foundation
import KeelTestSupport
import KeelWire
import Testing

/// The gateway killed (SIGKILL) at points of a submission, restarted, and checked: every order
/// reached the paper broker exactly once and nothing acknowledged was lost.
///
/// Crash points (KEEL_FAILPOINTS): after the outbox transaction committed but before the answer;
/// after an order was marked SENT but before the broker call; after the broker filled it but before
/// the fill was recorded; after it was recorded — for the first and the second order of the batch.
/// They are the boundaries between the outbox's durable steps, where a crash could lose or repeat work.
@Suite(.serialized) struct GatewayCrashTests {
    static let crashPoints = [
        "execute.after_commit",
        "dispatch.after_sent@1", "dispatch.after_broker@1", "dispatch.after_record@1",
        "dispatch.after_sent@2", "dispatch.after_broker@2",
    ]

    static func request() -> ExecuteRequest { Samples.perStrategy(submit: true) }

    static func submit(_ client: KWPClient) async -> Result<ExecuteResponse, RPCError> {
        do {
            return .success(try await client.unary(KeelRPC.gatewayExecute, request(), as: ExecuteResponse.self, metadata: ["idempotency-key": "crash"], timeout: .seconds(20)))
        } catch {
            return .failure(error)
        }
    }

    @Test(arguments: crashPoints)
    func everyOrderReachesTheBrokerOnceAcrossACrash(crashPoint: String) async throws {
        let directory = NSTemporaryDirectory() + "keel-crash-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configPath = directory + "/gateway.json"
        try Data(#"{"live_guard": {"enforce": false}, "paper_broker": {"accounts": {"default": {"currency": "USDT", "cash": "100000"}}}}"#.utf8)
            .write(to: URL(fileURLWithPath: configPath))
        let planner = ServiceProcess(executable: "keel-planner", arguments: ["--port", "0", "--data-dir", directory], readyMarker: "keel-planner ready")
        var gateways: [ServiceProcess] = []
        func gateway(failpoints: String?) -> ServiceProcess {
            let process = ServiceProcess(
                executable: "keel-gateway",
                arguments: ["--port", "0", "--data-dir", directory, "--config", configPath, "--planner", "127.0.0.1:\(planner.loggedNumber("port") ?? 0)"],
                environment: failpoints.map { ["KEEL_FAILPOINTS": $0] } ?? [:], readyMarker: "keel-gateway ready")
            gateways.append(process)
            return process
        }
        do {
            try await planner.start()
            let first = gateway(failpoints: crashPoint)
            try await first.start()
            let client = KWPClient(host: "127.0.0.1", port: try #require(first.loggedNumber("port")))
            let outcome = await Self.submit(client)
            // Killed before the answer, the caller sees the connection go.
            if case .failure(let error) = outcome { #expect(error.code == .unavailable, "\(error)") }
            let acknowledged = try? outcome.get()
            await client.close()
            #expect(await first.exited(within: .seconds(20)), "the failpoint \(crashPoint) was not reached")
            #expect(first.log.contains("failpoint"))

            // Restart: pending and sent orders are resent before the gateway says it is ready.
            let second = gateway(failpoints: nil)
            try await second.start()
            let again = KWPClient(host: "127.0.0.1", port: try #require(second.loggedNumber("port")))
            let replay = try await again.unary(KeelRPC.gatewayExecute, Self.request(), as: ExecuteResponse.self, metadata: ["idempotency-key": "crash"])
            #expect(replay.replayed)
            if let acknowledged { #expect(replay.executionID == acknowledged.executionID) }
            let orders = try await again.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest(), as: Keel_Gateway_V1_ListOrdersResponse.self)
            #expect(orders.orders.filter { $0.status == .filled }.map(\.order.quantity) == ["0.2", "0.3"], "\(crashPoint): \(orders.orders.map(\.status))")
            // Exactly once: one short of 0.5 and 0.5 × 60,000 of cash, not twice that.
            let positions = try await again.unary(KeelRPC.gatewayGetPositions, Keel_Gateway_V1_GetPositionsRequest.with { $0.includeAttributed = true }, as: Keel_Gateway_V1_GetPositionsResponse.self)
            #expect(positions.positions.map(\.qty) == ["-0.5"], "\(crashPoint)")
            #expect(Set(positions.attributed.map { "\($0.strategyID)=\($0.qty)" }) == ["strat-1=-0.2", "strat-2=-0.3"], "\(crashPoint)")
            let balance = try await again.unary(KeelRPC.gatewayGetBalance, Keel_Gateway_V1_GetBalanceRequest(), as: Keel_Gateway_V1_GetBalanceResponse.self)
            #expect(balance.cash == "130000", "\(crashPoint)")
            await again.close()
            #expect(await second.stop() == 0)
            #expect(await planner.stop() == 0)
        } catch {
            for process in gateways { await process.stop(signal: SIGKILL) }
            await planner.stop(signal: SIGKILL)
            throw error
        }
    }
}

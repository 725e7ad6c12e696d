import Contracts
import Execution
import Foundation
import KeelTestSupport
import KeelWire
import Testing

/// keel-planner and keel-gateway as separate processes with a token: a preview through the gateway.
@Suite struct GatewayProcessTests {
    /// `--help` lists exactly the methods the router answers.
    @Test func helpListsWhatTheRouterServes() async throws {
        try await withGateway { harness in
            let listed = try await HelpText.listedMethods("keel-gateway")
            #expect(!listed.isEmpty && listed == HelpText.shortNames(harness.gateway.server.methods))
        }
    }

    @Test func gatewayProcessPreviewsThroughThePlannerProcess() async throws {
        let directory = NSTemporaryDirectory() + "keel-gw-process-\(UUID().uuidString)"
        let planner = ServiceProcess(
            executable: "keel-planner", arguments: ["--port", "0", "--data-dir", directory],
            environment: ["KEEL_TOKEN": "shared-token"], readyMarker: "keel-planner ready")
        var gateway: ServiceProcess?
        do {
            try await planner.start()
            let plannerPort = try #require(planner.loggedNumber("port"))
            let started = ServiceProcess(
                executable: "keel-gateway", arguments: ["--port", "0", "--planner", "127.0.0.1:\(plannerPort)", "--data-dir", directory, "--metrics-port", "0"],
                environment: ["KEEL_TOKEN": "shared-token"], readyMarker: "keel-gateway ready")
            gateway = started
            try await started.start()
            let client = KWPClient(host: "127.0.0.1", port: try #require(started.loggedNumber("port")), configuration: .init(token: "shared-token"))
            let request = Samples.perStrategy(submit: false)
            let response = try await client.unary(KeelRPC.gatewayExecute, request, as: ExecuteResponse.self)
            #expect(response.ordersPerWorld.first?.orders.map(\.quantity) == ["0.5"])
            #expect(response.ordersPerStrategy.map(\.quantity) == ["0.2", "0.3"])
            #expect(response.ordersPerStrategy.allSatisfy { $0.reduceOnly && $0.side == .sell })
            await client.close()
            #expect(await started.stop() == 0)
            // SIGTERM shuts the process down in order, each step done before the next.
            let steps = [
                "keel-gateway shutting down: draining", "loop=planner relay", "step=KWP/1 server", "loop=schedule engine",
                "loop=dispatcher", "step=planner client", "step=metrics endpoint", "keel-gateway stopped",
            ]
            let log = started.log
            let positions = steps.map { log.range(of: $0)?.lowerBound }
            #expect(positions.allSatisfy { $0 != nil }, "missing: \(zip(steps, positions).filter { $0.1 == nil }.map(\.0))")
            let found = positions.compactMap { $0 }
            #expect(found == found.sorted(), "shutdown out of order:\n\(log.split(separator: "\n").suffix(14).joined(separator: "\n"))")
            #expect(await planner.stop() == 0)
        } catch {
            await gateway?.stop(signal: SIGKILL)
            await planner.stop(signal: SIGKILL)
            throw error
        }
    }
}

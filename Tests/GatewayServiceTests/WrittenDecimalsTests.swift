import Contracts
import Execution
import KeelTestSupport
import KeelWire
import Testing

/// Every decimal the gateway writes (orders, quantities, notionals, the policy context) is one
/// Keel's input grammar accepts.
@Suite struct GatewayWrittenDecimalsTests {
    @Test func everyDecimalOfRandomExecutePreviewsParses() async throws {
        let config = try GatewayConfig.parse(object: [
            "shared_account_policy": ["enabled": true, "max_gross_notional": "1000000000000", "max_net_notional": "1000000000000"],
        ])
        try await withGateway(config: config) { harness in
            var answered = 0
            for seed in UInt64(0)..<40 {
                let request = ExecuteRequest.with { $0.planRequest = RandomPlanRequests.make(seed: seed); $0.disableReduceOnly = seed % 2 == 0 }
                let response = try await harness.client.unary(KeelRPC.gatewayExecute, request, as: ExecuteResponse.self)
                answered += 1
                let bad = try WrittenDecimals.unreadable(in: response)
                #expect(bad.isEmpty, "seed \(seed): \(bad)")
            }
            #expect(answered == 40)
        }
    }
}

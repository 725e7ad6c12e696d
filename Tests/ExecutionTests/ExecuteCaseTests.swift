import Contracts
import ExactNumbers
import Execution
import Foundation
import KeelTestSupport
import Planning
import Testing

/// The `execute` cases of the planner-gateway.json fixture through the pure steps of Execute (the
/// gateway's checks, planning as a dry run, order assembly, the policy, the venue checks). What
/// needs the service — ids, batches, the commit and audit logs, metrics — is checked by the
/// gateway's own service tests.
@Suite struct ExecuteCaseTests {
    static let file = "planner-gateway"
    static let serviceOnly: Set<String> = ["plan_id", "batches", "execution_id", "submitted", "replayed"]

    static func run(_ input: [String: Any]) throws -> Result<ExecuteResponse, FieldError> {
        let config = try GatewayConfig.parse(object: input["gateway_config"] ?? [String: Any]())
        let request = try Cases.message(ExecuteRequest.self, from: input["request"]!)
        let metadata = input["metadata"] as? [String: String] ?? [:]
        return Result { () throws(FieldError) -> ExecuteResponse in
            try ExecuteAssembly.check(request, allowLive: metadata["x-allow-live"] == "true", config: config)
            if request.submit { try ExecuteAssembly.checkShadowWorlds(request, config: config) }
            var planRequest = request.planRequest
            planRequest.dryRun = true
            let plan = try plannedAsUpstream(planRequest)
            let response = try ExecuteAssembly.assemble(plan: plan, request: request, config: config)
            if request.submit { try ExecuteAssembly.checkVenues(response, config: config) }
            return response
        }
    }

    /// Planner errors reach the caller with `upstream = keel-planner` added.
    static func plannedAsUpstream(_ request: PlanRequest) throws(FieldError) -> PlanMessage {
        switch Result(catching: { () throws(FieldError) in try PlanComputation.plan(request) }) {
        case .success(let plan): return plan
        case .failure(var error):
            error.metadata["upstream"] = "keel-planner"
            throw error
        }
    }

    @Test(arguments: try Cases.named(file, kind: "execute"))
    func executeCase(name: String) throws {
        let testCase = try Cases.case(Self.file, name)
        let expected = testCase["expected"] as! [String: Any]
        switch try Self.run(testCase["input"] as! [String: Any]) {
        case .success(let response):
            guard var want = expected["response"] as? [String: Any] else {
                Issue.record("\(name): expected \(expected["error"] ?? "an error"), got a response")
                return
            }
            let expectedBatches = want["batches"] as? [[String: Any]] ?? []
            for key in Self.serviceOnly { want.removeValue(forKey: key) }
            let differences = Cases.differences(expected: want, actual: try Cases.json(response))
            #expect(differences.isEmpty, "\(name):\n\(differences.joined(separator: "\n"))")
            // A submit's batches: scope, world, counts, ratio, dispatched (ids are assigned at run time).
            let request = try Cases.message(ExecuteRequest.self, from: (testCase["input"] as! [String: Any])["request"]!)
            if request.submit {
                let batches = BatchAssembly.batches(of: response, batchID: BatchAssembly.randomBatchID(world:))
                let batchDifferences = Cases.differences(expected: expectedBatches, actual: try batches.map { try Cases.json($0.ref) })
                #expect(batchDifferences.isEmpty, "\(name) batches:\n\(batchDifferences.joined(separator: "\n"))")
                for batch in batches {
                    #expect(batch.ref.batchID.hasPrefix(batch.ref.worldID + ":") && batch.ref.batchID.count == batch.ref.worldID.count + 33)
                    for order in batch.orders {
                        #expect(order.clientOrderID.count == 32 && order.clientOrderID.hasPrefix("k"))
                    }
                    #expect(Set(batch.orders.map(\.clientOrderID)).count == batch.orders.count)
                }
            }
        case .failure(let error):
            guard let want = expected["error"] as? [String: Any] else {
                Issue.record("\(name): unexpected \(error)")
                return
            }
            #expect(error.code.name == want["code"] as? String, "\(name): \(error)")
            #expect(error.reason == want["reason"] as? String, "\(name): \(error)")
            #expect(error.field == want["field"] as? String, "\(name): \(error)")
            if let metadata = want["metadata"] as? [String: String] {
                let differences = Cases.differences(expected: metadata, actual: error.allMetadata, field: "metadata")
                #expect(differences.isEmpty, "\(name):\n\(differences.joined(separator: "\n"))")
            }
        }
    }

}

@Suite struct ClientOrderIDTests {
    @Test func clientOrderIDsAreDeterministicAndDistinctPerPosition() {
        var order = VenueOrder()
        order.worldID = "w1"
        order.venue = "binance"
        order.symbol = "BTCUSDT"
        order.leg = .single
        let id = BatchAssembly.clientOrderID(batchID: "w1:00112233445566778899aabbccddeeff", order: order, position: 1)
        #expect(id == BatchAssembly.clientOrderID(batchID: "w1:00112233445566778899aabbccddeeff", order: order, position: 1))
        #expect(id != BatchAssembly.clientOrderID(batchID: "w1:00112233445566778899aabbccddeeff", order: order, position: 2))
        #expect(id.count == 32 && id.hasPrefix("k") && id.dropFirst().allSatisfy { $0.isHexDigit && !$0.isUppercase })
        // The documented formula, computed independently.
        let expected = "k" + String(SHA256.hex("w1:00112233445566778899aabbccddeeff|w1||binance|BTCUSDT|SINGLE|1").prefix(31))
        #expect(id == expected)
    }
}

/// A plan decimal the gateway cannot read is an error that names it, never a zero that silently
/// drops the order.
@Suite struct UnreadablePlanDecimalTests {
    static func request(sharedAccount: Bool) -> ExecuteRequest {
        .with {
            $0.sharedAccount = sharedAccount
            $0.planRequest = .with {
                $0.totalEquity = "1000"
                $0.worldAllocBefore = ["a": "0.3"]
                $0.worldAllocAfter = ["a": "0.2"]
                $0.positions = [.with { $0.worldID = "a"; $0.strategyID = "s"; $0.symbol = "X"; $0.qty = "3"; $0.mark = "10" }]
            }
        }
    }

    @Test(arguments: [false, true])
    func aPlanDeltaThatDoesNotParseIsInternalNamingTheField(sharedAccount: Bool) throws {
        let request = Self.request(sharedAccount: sharedAccount)
        var plan = try PlanComputation.plan(request.planRequest)
        // What the planner wrote before its global deltas were output-rounded: 37 significant digits.
        let unreadable = "-22.32133333333333333333333333333333333"
        // (The per-world orders are built in every scope, so the shared-account case corrupts only the net.)
        if sharedAccount { plan.globalDeltas[0].deltaQty = unreadable } else { plan.perWorld[0].deltas[0].deltaQty = unreadable }
        do {
            _ = try ExecuteAssembly.assemble(plan: plan, request: request, config: GatewayConfig())
            Issue.record("an unreadable plan decimal was accepted")
        } catch {
            #expect(error.code == .internal)
            #expect(error.reason == "E_UNREADABLE_PLAN_DECIMAL")
            #expect(error.field == (sharedAccount ? "plan.global_deltas[0].delta_qty" : "plan.per_world[a].deltas[0].delta_qty"))
        }
    }

    @Test func anUnreadablePositionQuantityIsInvalidArgumentNamingIt() throws {
        var request = Self.request(sharedAccount: false)
        let plan = try PlanComputation.plan(request.planRequest)
        request.planRequest.positions[0].qty = "3e0"
        do {
            _ = try ExecuteAssembly.assemble(plan: plan, request: request, config: GatewayConfig())
            Issue.record("an unreadable position quantity was read")
        } catch {
            #expect(error.code == .invalidArgument && error.reason == "E_INVALID_DECIMAL" && error.field == "plan_request.positions[0].qty", "\(error)")
        }
    }
}

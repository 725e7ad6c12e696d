import Contracts
import Execution
import Foundation
import KeelWire
import Logging
import Metrics
import Planning

/// keel-gateway's RPCs (spec/gateway.md). This part serves `Plan` (proxied to the planner) and
/// `Execute` previews; submission through the outbox, the broker and the read RPCs are not built yet.
public final class GatewayService: Sendable {
    let config: GatewayConfig
    let planner: KWPClient
    let logger: Logger

    public init(config: GatewayConfig, planner: KWPClient, logger: Logger = Logger(label: "keel.gateway")) {
        self.config = config
        self.planner = planner
        self.logger = logger
    }

    public func register(into router: inout RPCRouter) {
        router.unaryBytes(KeelRPC.gatewayPlan) { body, context in
            try await self.proxyPlan(body: body, context: context)
        }
        router.unary(KeelRPC.gatewayExecute) { (request: ExecuteRequest, context: ServerContext) -> ExecuteResponse in
            try await self.execute(request, context: context)
        }
    }

    // MARK: Plan (§1)

    /// Forwards the request bytes unchanged with the caller's request id, idempotency key and
    /// remaining deadline; the planner's answer or status is the answer, plus `upstream`.
    func proxyPlan(body: Data, context: ServerContext) async throws -> [UInt8] {
        Array(try await callPlanner(body: body, context: context, idempotencyKey: context.idempotencyKey))
    }

    func callPlanner(body: Data, context: ServerContext, idempotencyKey: String?) async throws(RPCError) -> Data {
        var metadata: [String: String] = [MetadataKey.requestID: context.requestID]
        if let idempotencyKey { metadata[MetadataKey.idempotencyKey] = idempotencyKey }
        do {
            return try await planner.unaryBytes(KeelRPC.plannerPlan.path, body: body, metadata: metadata, timeout: context.remainingTime)
        } catch {
            throw Self.upstream(error)
        }
    }

    /// A planner status passes through with `upstream = keel-planner`; a planner that cannot be
    /// reached is UNAVAILABLE `E_PLANNER_UNAVAILABLE`.
    static func upstream(_ error: RPCError) -> RPCError {
        var passed = error
        if error.code == .unavailable, error.reason.isEmpty || error.reason == "E_GOING_AWAY" {
            passed = RPCError(.unavailable, "the planner cannot be reached: \(error.message)", reason: "E_PLANNER_UNAVAILABLE")
        }
        passed.metadata["upstream"] = "keel-planner"
        return passed
    }

    // MARK: Execute (§4)

    func execute(_ request: ExecuteRequest, context: ServerContext) async throws -> ExecuteResponse {
        do {
            let allowLive = context.metadata[MetadataKey.allowLive] == "true"
            do {
                try ExecuteAssembly.check(request, allowLive: allowLive, config: config)
            } catch {
                throw RPCError(error)
            }
            guard !request.submit else {
                throw RPCError(.unimplemented, "submission through the outbox is not available in this build; use a preview (submit = false)", reason: "E_SUBMIT_UNAVAILABLE")
            }
            var planRequest = request.planRequest
            planRequest.dryRun = true
            let reply = try await callPlanner(body: try planRequest.serializedBytes(), context: context, idempotencyKey: nil)
            let plan: PlanMessage
            do {
                plan = try Keel_Planner_V1_PlanResponse(serializedBytes: reply).plan
            } catch {
                throw RPCError(.internal, "the planner's answer does not decode: \(error)", reason: "E_UPSTREAM_UNDECODABLE")
            }
            let response: ExecuteResponse
            do {
                response = try ExecuteAssembly.assemble(plan: plan, request: request, config: config)
            } catch {
                if error.reason == "E_SHARED_ACCOUNT_POLICY" {
                    Counter(label: "shared_account_policy_rejections_total", dimensions: [("violation", error.metadata["violation"]?.lowercased() ?? "")]).increment()
                }
                throw RPCError(error)
            }
            ExecuteMetrics.count(outcome: "preview", reason: "")
            context.logger.info("execute preview", metadata: [
                "worlds": "\(response.ordersPerWorld.count)", "violations": "\(response.violations.count)",
                "scope": "\(response.executionScope)",
            ])
            return response
        } catch let error as RPCError {
            ExecuteMetrics.count(outcome: "rejected", reason: error.reason)
            throw error
        }
    }
}

/// `rebalance_execute_requests_total{outcome, reason}` (spec/gateway.md §6).
enum ExecuteMetrics {
    static func count(outcome: String, reason: String) {
        Counter(label: "rebalance_execute_requests_total", dimensions: [("outcome", outcome), ("reason", reason)]).increment()
    }
}

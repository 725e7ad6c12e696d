import Contracts
import ExactNumbers
import Execution
import Foundation
import KeelWire
import KeelOps
import KeelStore
import Logging
import Metrics
import Planning
import SwiftProtobuf

/// keel-gateway's RPCs: `Plan` proxied to the planner, `Execute` (preview, or a
/// submit written through the outbox and handed to the broker by the dispatcher), and the read RPCs.
public final class GatewayService: Sendable {
    let config: GatewayConfig
    let planner: KWPClient
    let store: GatewayStore
    let broker: any Broker
    let dispatcher: Dispatcher
    let schedules: ScheduleEngine
    let clock: @Sendable () -> Int64
    let logger: Logger

    public init(config: GatewayConfig, planner: KWPClient, store: GatewayStore, broker: any Broker, dispatcher: Dispatcher,
                schedules: ScheduleEngine, clock: @escaping @Sendable () -> Int64 = nowMs, logger: Logger = Logger(label: "keel.gateway")) {
        self.config = config
        self.planner = planner
        self.store = store
        self.broker = broker
        self.dispatcher = dispatcher
        self.schedules = schedules
        self.clock = clock
        self.logger = logger
    }

    public func register(into router: inout RPCRouter) {
        router.unaryBytes(KeelRPC.gatewayPlan) { body, context in
            try await self.proxyPlan(body: body, context: context)
        }
        router.unary(KeelRPC.gatewayExecute) { (request: ExecuteRequest, context: ServerContext) -> ExecuteResponse in
            try await self.execute(request, context: context)
        }
        registerReads(into: &router)
        registerSchedules(into: &router)
        registerExitSignals(into: &router)
    }

    // MARK: Plan (proxy)

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
        if error.code == .unavailable, error.reason.isEmpty || error.has(.goingAway) {
            passed = RPCError(.plannerUnavailable, "the planner cannot be reached: \(error.message)")
        }
        passed.metadata["upstream"] = "keel-planner"
        return passed
    }

    // MARK: Execute

    func execute(_ request: ExecuteRequest, context: ServerContext) async throws -> ExecuteResponse {
        do {
            let allowLive = context.metadata[MetadataKey.allowLive] == "true"
            do {
                try ExecuteAssembly.check(request, allowLive: allowLive, config: config)
            } catch {
                throw RPCError(error)
            }
            return request.submit ? try await submit(request, context: context) : try await preview(request, context: context)
        } catch let error as RPCError {
            ExecuteMetrics.count(outcome: "rejected", reason: error.reason)
            throw error
        }
    }

    func preview(_ request: ExecuteRequest, context: ServerContext) async throws -> ExecuteResponse {
        var planRequest = request.planRequest
        planRequest.dryRun = true
        let plan = try await plan(planRequest, context: context, idempotencyKey: nil)
        let response = try assemble(plan: plan, request: request)
        ExecuteMetrics.count(outcome: "preview", reason: "")
        context.logger.info("execute preview", metadata: ["worlds": "\(response.ordersPerWorld.count)", "violations": "\(response.violations.count)"])
        return response
    }

    /// A submit: replay or conflict, account and shadow checks, a stored plan, orders, the
    /// policy, venue checks, one transaction, then the dispatcher.
    func submit(_ request: ExecuteRequest, context: ServerContext) async throws -> ExecuteResponse {
        let call = try IdempotentCall<ExecuteResponse>(context: context, digest: try ExecuteRequestDigest.digest(request), lookup: { key in
            try await self.storeCall { try await self.store.execution(forKey: key) }.map {
                let response = $0.response
                return KeyedAnswer(digest: $0.digest, answer: { response }, madeID: ("execution_id", $0.executionID))
            }
        })
        return try await call.run { try await self.submitNew(request, key: call.key, digest: call.digest, context: context) }
    }

    /// A submission not answered before: everything after the replay check.
    func submitNew(_ request: ExecuteRequest, key: String?, digest: String, context: ServerContext) async throws -> ExecuteResponse {
        let accountID = request.accountID.isEmpty ? "default" : request.accountID
        guard try await storeCall({ try await self.broker.hasAccount(accountID) }) else {
            throw RPCError.field(.accountNotFound, field: "account_id", "the broker has no account \(accountID)", metadata: ["account_id": accountID])
        }
        do {
            try ExecuteAssembly.checkShadowWorlds(request, config: config)
        } catch {
            throw RPCError(error)
        }
        let plan = try await plan(request.planRequest, context: context, idempotencyKey: key.map { "execute:\($0)" })
        let worlds = plan.perWorld.map(\.worldID)
        for world in worlds { Counter(label: "rebalance_plan_execution_attempts_total", dimensions: [("world_id", world)]).increment() }
        do {
            var response = try assemble(plan: plan, request: request)
            do {
                try ExecuteAssembly.checkVenues(response, config: config)
            } catch {
                throw RPCError(error)
            }
            let now = clock()
            let executionID = "exe_" + ULID.make(timeMs: now)
            let batches = BatchAssembly.batches(of: response, batchID: BatchAssembly.randomBatchID(world:))
            if let limits = config.risk.limits(for: accountID) {
                let exposure = try await storeCall { try await self.broker.exposure(accountID: accountID) }
                do {
                    try PreTradeRisk.checkSubmission(batches, limits: limits, exposure: exposure)
                } catch {
                    RiskMetrics.violation(error)
                    throw RPCError(error)
                }
            }
            response.planID = plan.planID
            response.executionID = executionID
            response.batches = batches.map(\.ref)
            response.submitted = batches.contains { $0.ref.dispatched }
            Self.identify(&response, with: batches)
            let entries = batches.map { batch in
                (batch: batch,
                 record: commitLogRecord(batch, response: response, request: request, plan: plan, accountID: accountID, now: now),
                 audit: auditEvent(batch, response: response, request: request, accountID: accountID, now: now))
            }
            let submission = GatewayStore.Submission(
                executionID: executionID, createdAtMs: now, planID: plan.planID, idempotencyKey: key, requestDigest: digest,
                response: response, accountID: accountID, batches: entries)
            try await KeyedWrite.perform("the submission could not be written", logger: context.logger) {
                try await store.write(submission)
            }
            Failpoint.hit("execute.after_commit")
            for batch in batches {
                let labels = [("world_id", batch.ref.worldID), ("scope", Self.scopeLabel(batch.ref.scope))]
                Counter(label: "rebalance_batches_submitted_total", dimensions: labels).increment()
                Gauge(label: "rebalance_last_batch_size", dimensions: labels).record(Double(batch.ref.orderCount))
                Gauge(label: "rebalance_reduce_only_ratio", dimensions: labels).record(Double(batch.ref.reduceOnlyRatio) ?? 0)
            }
            ExecuteMetrics.count(outcome: response.submitted ? "submitted" : "empty", reason: "")
            context.logger.info("execute submitted", metadata: ["execution_id": "\(executionID)", "plan_id": "\(plan.planID)", "batches": "\(batches.count)"])
            if response.submitted { dispatcher.kick() }
            return response
        } catch let taken as IdempotencyKeyTaken {
            // Another call with the key won the race: its answer is replayed, nothing failed.
            throw taken
        } catch {
            for world in worlds { Counter(label: "rebalance_plan_execution_failures_total", dimensions: [("world_id", world)]).increment() }
            throw error
        }
    }

    func plan(_ request: PlanRequest, context: ServerContext, idempotencyKey: String?) async throws -> PlanMessage {
        let reply = try await callPlanner(body: try request.serializedBytes(), context: context, idempotencyKey: idempotencyKey)
        do {
            return try Keel_Planner_V1_PlanResponse(serializedBytes: reply).plan
        } catch {
            throw RPCError(.upstreamUndecodable, "the planner's answer does not decode: \(error)")
        }
    }

    func assemble(plan: PlanMessage, request: ExecuteRequest) throws(RPCError) -> ExecuteResponse {
        do {
            return try ExecuteAssembly.assemble(plan: plan, request: request, config: config)
        } catch {
            if error.has(.sharedAccountPolicy) {
                Counter(label: "shared_account_policy_rejections_total", dimensions: [("violation", error.metadata["violation"]?.lowercased() ?? "")]).increment()
            }
            throw RPCError(error)
        }
    }

    /// Store and broker failures are UNAVAILABLE `E_STORE_UNAVAILABLE`.
    func storeCall<T>(_ body: () async throws -> T) async throws(RPCError) -> T {
        do {
            return try await body()
        } catch is CancellationError {
            // The caller went away (a closed Watch stream): nothing failed.
            throw RPCError(.callCancelled, "the call was cancelled")
        } catch let error as UnreadableStoredValue {
            logger.storedValueUnreadable(error)
            throw RPCError(error)
        } catch {
            logger.error("store failed", metadata: ["error": "\(error)"])
            throw RPCError(.storeUnavailable, "the gateway store cannot be used: \(error)")
        }
    }

    /// The response's order lists carry the client order ids of the batches that were written.
    static func identify(_ response: inout ExecuteResponse, with batches: [BatchAssembly.Batch]) {
        for batch in batches {
            switch batch.ref.scope {
            case .perWorld:
                if let i = response.ordersPerWorld.firstIndex(where: { $0.worldID == batch.ref.worldID }) {
                    response.ordersPerWorld[i].orders = batch.orders
                }
            case .global:
                response.ordersGlobal = batch.orders
            default:
                break
            }
        }
        let perStrategy = batches.filter { $0.ref.scope == .perStrategy }.flatMap(\.orders)
        if !perStrategy.isEmpty { response.ordersPerStrategy = perStrategy }
    }

    static func scopeLabel(_ scope: Keel_Gateway_V1_BatchScope) -> String {
        switch scope {
        case .global: "global"
        case .perStrategy: "per_strategy"
        default: "per_world"
        }
    }

    func worldMode(_ world: String) -> String { config.worlds[world]?.mode ?? "" }

    func commitLogRecord(_ batch: BatchAssembly.Batch, response: ExecuteResponse, request: ExecuteRequest, plan: PlanMessage, accountID: String, now: Int64) -> CommitLogRecord {
        let ref = batch.ref
        return .with {
            $0.key = "rebalance:\(ref.batchID)"
            $0.recordType = "gateway.rebalance"
            $0.timestampMs = now
            $0.batchID = ref.batchID
            $0.payload = .with {
                $0.event = "gateway.rebalance"
                $0.version = 1
                $0.batchID = ref.batchID
                $0.worldID = ref.worldID
                $0.scope = ref.scope
                $0.orders = batch.orders
                $0.orderCount = ref.orderCount
                $0.reduceOnlyCount = UInt32(batch.orders.filter(\.reduceOnly).count)
                $0.reduceOnlyRatio = ref.reduceOnlyRatio
                $0.sharedAccount = ref.scope == .global || (ref.scope == .perWorld && request.sharedAccount)
                $0.mode = ref.scope == .global ? "" : worldMode(ref.worldID)
                $0.planMode = plan.mode
                $0.planID = plan.planID
                $0.executionID = response.executionID
                $0.dispatched = ref.dispatched
                $0.submittedAtMs = now
                $0.accountID = accountID
            }
        }
    }

    func auditEvent(_ batch: BatchAssembly.Batch, response: ExecuteResponse, request: ExecuteRequest, accountID: String, now: Int64) -> AuditEvent {
        let ref = batch.ref
        var body: [String: Any] = [
            "account_id": accountID, "batch_id": ref.batchID, "dispatched": ref.dispatched, "execution_id": response.executionID,
            "order_count": Int(ref.orderCount), "plan_id": response.planID, "reduce_only_ratio": ref.reduceOnlyRatio,
            "scope": Self.scopeLabel(ref.scope), "shared_account": ref.scope == .global || (ref.scope == .perWorld && request.sharedAccount),
            "submitted_at_ms": now, "world_id": ref.worldID,
        ]
        let mode = ref.scope == .global ? "" : worldMode(ref.worldID)
        if !mode.isEmpty { body["mode"] = mode }
        let json = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return .with {
            $0.key = "rebalance:\(ref.worldID)"
            $0.type = "REB_SUBMIT"
            $0.timeMs = now
            $0.bodyJson = json
        }
    }
}

/// `rebalance_execute_requests_total{outcome, reason}` (docs/operations.md#metrics).
enum ExecuteMetrics {
    static func count(outcome: String, reason: String) {
        Counter(label: "rebalance_execute_requests_total", dimensions: [("outcome", outcome), ("reason", reason)]).increment()
    }
}

/// `keel_gateway_risk_violations_total{limit}`: orders refused by a pre-trade limit.
enum RiskMetrics {
    static func violation(_ error: FieldError) {
        Counter(label: "keel_gateway_risk_violations_total", dimensions: [("limit", error.metadata["limit"] ?? "")]).increment()
    }
}

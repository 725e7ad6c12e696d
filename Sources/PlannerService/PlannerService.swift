import Contracts
import Foundation
import KeelStore
import KeelWire
import Logging
import Metrics
import Planning
import SwiftProtobuf

/// keel-planner's RPCs: `Plan` validates, plans with the pure module, stores the
/// plan and its events in one transaction and answers; `GetPlan` answers a stored plan as it was;
/// `Watch` streams the event outbox from a resume point.
public final class PlannerService: Sendable {
    public static let topic = "rebalancing.planned"
    public static let exitTopic = "exit_signal_emitted"
    static let topics: Set<String> = [topic, exitTopic]

    let store: PlannerStore
    let rebalancer: any Rebalancer
    let clock: @Sendable () -> Int64
    let logger: Logger
    let outcomes = PlanOutcomeCounters()

    public init(store: PlannerStore, rebalancer: any Rebalancer = ProportionalRebalancer(),
                clock: @escaping @Sendable () -> Int64 = nowMs, logger: Logger = Logger(label: "keel.planner")) {
        self.store = store
        self.rebalancer = rebalancer
        self.clock = clock
        self.logger = logger
    }

    public func register(into router: inout RPCRouter) {
        router.unaryBytes(KeelRPC.plannerPlan) { body, context in
            try await self.plan(body: body, context: context)
        }
        router.unaryBytes(KeelRPC.plannerGetPlan) { body, context in
            try await self.getPlan(RPCRouter.decode(Keel_Planner_V1_GetPlanRequest.self, body))
        }
        router.unary(KeelRPC.plannerEvaluateRisk) { (request: EvaluateRiskRequest, context: ServerContext) -> Keel_Planner_V1_EvaluateRiskResponse in
            try await self.evaluateRisk(request, context: context)
        }
        router.serverStreaming(KeelRPC.plannerWatch) { (request: Keel_Planner_V1_WatchRequest, writer: ResponseStreamWriter<Keel_Planner_V1_PlannerEvent>, context: ServerContext) in
            try await self.watch(request, writer: writer, context: context)
        }
    }

    // MARK: Plan

    func plan(body: Data, context: ServerContext) async throws -> [UInt8] {
        // One pass over the positions: each read where it lies, its decimals parsed once into the
        // book, its entry written into the digest (a dry run needs none).
        let read = try RPCRouter.read(PlanRequest.protoMessageName, body, using: PlanRequestRead.init)
        let request = read.request
        var plan: PlanMessage
        do {
            plan = try PlanComputation.plan(request, positions: read.positions, rebalancer: rebalancer)
        } catch {
            context.logger.info("plan rejected", metadata: ["reason": "\(error.reason)", "field": "\(error.field)"])
            outcomes.rejected(reason: error.reason)
            throw RPCError(error)
        }
        if request.dryRun {
            // A dry run: nothing stored, no event, the idempotency key ignored.
            outcomes.dryRun.increment()
            return try Self.planResponse(planBytes: plan.serializedBytes(options: Self.deterministic), replayed: false)
        }
        guard let digest = read.digest else { throw RPCError(.digestEncoding, "the request digest was not computed") }
        let call = try IdempotentCall<[UInt8]>(context: context, digest: digest, lookup: { [store] key in
            try await Self.reading { try await store.plan(forKey: key) }.map {
                let planBytes = $0.planBytes
                return KeyedAnswer(digest: $0.requestDigest, answer: { Self.planResponse(planBytes: planBytes, replayed: true) }, madeID: ("plan_id", $0.planID))
            }
        }, replayed: { [outcomes] answer in
            outcomes.replayed.increment()
            return answer
        })
        return try await call.run { try await self.store(plan, request: body, digest: digest, key: call.key, context: context) }
    }

    /// Stores a new plan and its events (the answer under `key`, if any) and answers it.
    func store(_ computed: PlanMessage, request body: Data, digest: String, key: String?, context: ServerContext) async throws -> [UInt8] {
        var plan = computed
        let createdAt = clock()
        plan.planID = "pln_" + ULID.make(timeMs: createdAt)
        plan.createdAtMs = createdAt
        plan.requestDigest = digest
        let planBytes: Data = try plan.serializedBytes(options: Self.deterministic)
        let stored = PlannerStore.StoredPlan(
            planID: plan.planID, createdAtMs: createdAt, requestDigest: digest, idempotencyKey: key,
            requestBytes: body, planBytes: planBytes)
        let seq = try await KeyedWrite.perform("the plan could not be stored", logger: context.logger) {
            try await store.insert(stored, events: Self.events(of: plan))
        }
        context.logger.info("plan stored", metadata: ["plan_id": "\(plan.planID)", "worlds": "\(plan.perWorld.count)", "last_seq": "\(seq)"])
        outcomes.stored.increment()
        return Self.planResponse(planBytes: planBytes, replayed: false)
    }

    /// A read of the plan store (a replay's lookup, GetPlan); a store that cannot be read is UNAVAILABLE.
    static func reading<T>(_ read: () async throws -> T) async throws(RPCError) -> T {
        do {
            return try await read()
        } catch {
            throw RPCError(.storeUnavailable, "the plan store cannot be read")
        }
    }

    /// `PlanResponse{plan, replayed}` around the stored plan bytes, unchanged.
    static func planResponse(planBytes: Data, replayed: Bool) -> [UInt8] {
        typealias Field = Keel_Planner_V1_PlanResponse.FieldNumber
        var out: [UInt8] = [UInt8(ProtobufWire.tag(Field.plan, ProtobufWire.lengthDelimited))]
        appendVarint(UInt64(planBytes.count), to: &out)
        out.append(contentsOf: planBytes)
        if replayed { out += [UInt8(ProtobufWire.tag(Field.replayed, 0)), 0x01] }
        return out
    }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static let deterministic: BinaryEncodingOptions = {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        return options
    }()

    /// One `rebalancing.planned` event per world (one for a TARGET_WEIGHT plan).
    public static func events(of plan: PlanMessage) -> [Keel_Planner_V1_PlannerEvent] {
        if plan.mode == .targetWeight {
            return [.with {
                $0.topic = topic
                $0.eventID = "\(plan.planID):target_weight"
                $0.timeMs = plan.createdAtMs
                $0.planID = plan.planID
                $0.mode = plan.mode
                $0.deltaCount = UInt32(plan.targetWeight.sellLegs.count + plan.targetWeight.buyLegs.count)
                $0.intent = plan.intent
                $0.targetWeight = plan.targetWeight
            }]
        }
        return plan.perWorld.map { world in
            let overlay = plan.overlayDeltas.filter { $0.worldID == world.worldID }
            return .with {
                $0.topic = topic
                $0.eventID = "\(plan.planID):\(world.worldID)"
                $0.timeMs = plan.createdAtMs
                $0.planID = plan.planID
                $0.worldID = world.worldID
                $0.mode = plan.mode
                $0.scaleWorld = world.scaleWorld
                $0.scaleByStrategy = world.scaleByStrategy
                $0.deltas = world.deltas
                $0.overlayDeltas = overlay
                $0.deltaCount = UInt32(world.deltas.count + overlay.count)
                $0.intent = plan.intent
            }
        }
    }

    // MARK: GetPlan

    func getPlan(_ request: Keel_Planner_V1_GetPlanRequest) async throws -> [UInt8] {
        guard !request.planID.isEmpty else {
            throw RPCError(FieldError.missing("plan_id"))
        }
        let stored = try await Self.reading { try await store.plan(id: request.planID) }
        guard let stored else {
            throw RPCError.field(.planNotFound, field: "plan_id", "no plan \(request.planID) (dry runs are never stored)")
        }
        // GetPlanResponse{plan, request}, both as stored.
        typealias Field = Keel_Planner_V1_GetPlanResponse.FieldNumber
        var out: [UInt8] = [UInt8(ProtobufWire.tag(Field.plan, ProtobufWire.lengthDelimited))]
        Self.appendVarint(UInt64(stored.planBytes.count), to: &out)
        out.append(contentsOf: stored.planBytes)
        out.append(UInt8(ProtobufWire.tag(Field.request, ProtobufWire.lengthDelimited)))
        Self.appendVarint(UInt64(stored.requestBytes.count), to: &out)
        out.append(contentsOf: stored.requestBytes)
        return out
    }

    // MARK: Watch

    func watch(_ request: Keel_Planner_V1_WatchRequest, writer: ResponseStreamWriter<Keel_Planner_V1_PlannerEvent>, context: ServerContext) async throws {
        for (i, topic) in request.topics.enumerated() where !Self.topics.contains(topic) {
            throw RPCError.field(.unknownTopic, field: "topics[\(i)]",
                                 "unknown topic \"\(topic)\"; the planner publishes \(Self.topic) and \(Self.exitTopic)")
        }
        let topics = Set(request.topics)
        var cursor: UInt64
        if request.liveOnly {
            cursor = store.commits.latest
        } else {
            cursor = request.afterSeq
            if let oldest = try await store.oldestSeq(), cursor < oldest - 1 {
                throw RPCError.field(
                    .resumePointExpired, field: "after_seq",
                    "events up to \(oldest - 1) are no longer retained", metadata: ["oldest_seq": "\(oldest)"])
            }
        }
        context.logger.debug("watch started", metadata: ["after_seq": "\(cursor)"])
        while !Task.isCancelled {
            let batch = try await store.events(after: cursor, limit: 256)
            if batch.isEmpty {
                await store.commits.wait(after: cursor)
                continue
            }
            try await writer.send(contentsOf: batch.filter { topics.isEmpty || topics.contains($0.topic) })
            cursor = batch.last!.seq
        }
        throw CancellationError()
    }
}

extension PlannerService {
    /// The exit engine: validate, evaluate the rules, store the evaluation with its
    /// inputs and one `exit_signal_emitted` event per signal in one transaction; `idempotency-key`
    /// replays the stored answer.
    func evaluateRisk(_ request: EvaluateRiskRequest, context: ServerContext) async throws -> Keel_Planner_V1_EvaluateRiskResponse {
        let evaluated: (results: [RuleResult], signals: [ExitSignal])
        do {
            evaluated = try RiskRules.evaluate(request)
        } catch {
            context.logger.info("risk evaluation rejected", metadata: ["reason": "\(error.reason)", "field": "\(error.field)"])
            throw RPCError(error)
        }
        let requestBytes: Data = try request.serializedBytes(options: Self.deterministic)
        let call = try IdempotentCall<Keel_Planner_V1_EvaluateRiskResponse>(context: context, digest: SHA256.hex(requestBytes), lookup: { [store] key in
            try await Self.reading { try await store.evaluation(forKey: key) }.map {
                let bytes = $0.responseBytes
                return KeyedAnswer(digest: $0.requestDigest, answer: {
                    try UnreadableStoredValue.reading(table: "risk_evaluations", row: key, column: "response") { try Keel_Planner_V1_EvaluateRiskResponse(serializedBytes: bytes) }
                }, madeID: ("evaluation_id", $0.evaluationID))
            }
        })
        return try await call.run { try await self.store(evaluated, of: request, requestBytes: requestBytes, digest: call.digest, key: call.key, context: context) }
    }

    /// Stores a new evaluation with its signal events (the answer under `key`, if any) and answers it.
    func store(_ evaluated: (results: [RuleResult], signals: [ExitSignal]), of request: EvaluateRiskRequest, requestBytes: Data, digest: String,
               key: String?, context: ServerContext) async throws -> Keel_Planner_V1_EvaluateRiskResponse {
        let now = clock()
        let id = "rsk_" + ULID.make(timeMs: now)
        var response = Keel_Planner_V1_EvaluateRiskResponse()
        response.evaluationID = id
        response.results = evaluated.results
        response.signals = evaluated.signals.map { signal in
            var signal = signal
            signal.signalID = "\(id):\(signal.signalID)"
            signal.evaluationID = id
            signal.createdAtMs = now
            return signal
        }
        let events = response.signals.map { signal in
            Keel_Planner_V1_PlannerEvent.with {
                $0.topic = Self.exitTopic
                $0.eventID = signal.signalID
                $0.timeMs = now
                $0.worldID = signal.worldID
                $0.intent = request.intent
                $0.exitSignal = signal
            }
        }
        let stored = PlannerStore.StoredEvaluation(
            evaluationID: id, createdAtMs: now, requestDigest: digest, idempotencyKey: key, requestBytes: requestBytes,
            responseBytes: try response.serializedBytes(options: Self.deterministic))
        try await KeyedWrite.perform("the evaluation could not be stored", logger: context.logger) {
            try await store.insert(stored, events: events)
        }
        Counter(label: "keel_planner_exit_signals_total").increment(by: response.signals.count)
        context.logger.info("risk evaluated", metadata: [
            "evaluation_id": "\(id)", "rules": "\(response.results.count)", "signals": "\(response.signals.count)",
        ])
        return response
    }
}

/// `keel_planner_plans_total{outcome}`: stored, replayed, dry_run, rejected (with `reason`).
struct PlanOutcomeCounters: Sendable {
    let stored = Counter(label: "keel_planner_plans_total", dimensions: [("outcome", "stored"), ("reason", "")])
    let replayed = Counter(label: "keel_planner_plans_total", dimensions: [("outcome", "replayed"), ("reason", "")])
    let dryRun = Counter(label: "keel_planner_plans_total", dimensions: [("outcome", "dry_run"), ("reason", "")])

    func rejected(reason: String) {
        Counter(label: "keel_planner_plans_total", dimensions: [("outcome", "rejected"), ("reason", reason)]).increment()
    }
}

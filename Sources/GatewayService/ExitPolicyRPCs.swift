import Contracts
import ExactNumbers
import Execution
import Foundation
import KeelWire
import Planning

/// The gateway's exit policy: an approved exit signal becomes a reduce plan — the
/// planner's scaling with the world (or the one strategy) scaled by 1 − reduce_fraction over the
/// gateway's attributed positions — submitted through `Execute`, whose orders shrink positions and
/// so go reduce-only. Off by default; in approval mode signals wait for `DecideExitSignal`.
extension GatewayService {
    func registerExitSignals(into router: inout RPCRouter) {
        router.unary(KeelRPC.gatewayListExitSignals) { (request: Keel_Gateway_V1_ListExitSignalsRequest, _: ServerContext) -> Keel_Gateway_V1_ListExitSignalsResponse in
            if case .UNRECOGNIZED(let number) = request.state {
                throw RPCError.field(.unknownEnum, field: "state", "state \(number) is not an ExitSignalState")
            }
            let limit = try Self.listLimit(request.limit)
            let after = try Self.position(ofPageToken: request.pageToken, prefix: "x")
            let rows = try await self.storeCall { try await self.store.exitSignals(state: request.state, afterID: after, limit: limit + 1) }
            return .with {
                $0.signals = rows.prefix(limit).map(\.record)
                if rows.count > limit, let last = rows.prefix(limit).last { $0.nextPageToken = "x\(last.id)" }
            }
        }
        router.unary(KeelRPC.gatewayDecideExitSignal) { (request: Keel_Gateway_V1_DecideExitSignalRequest, context: ServerContext) -> ExitSignalRecord in
            try await self.decideExitSignal(request, context: context)
        }
    }

    /// Approval mode: an operator approves (the reduce plan is submitted; live guard as `Execute`)
    /// or rejects a held signal. Each decision is audited.
    func decideExitSignal(_ request: Keel_Gateway_V1_DecideExitSignalRequest, context: ServerContext) async throws -> ExitSignalRecord {
        if request.signalID.isEmpty { throw RPCError(FieldError.missing("signal_id")) }
        if request.operator.isEmpty { throw RPCError(FieldError.missing("operator")) }
        guard var record = try await storeCall({ try await self.store.exitSignal(id: request.signalID) }) else {
            throw RPCError.field(.exitSignalNotFound, field: "signal_id", "no exit signal \(request.signalID)")
        }
        guard record.state == .awaitingApproval else {
            throw RPCError.field(.exitSignalDecided, field: "signal_id",
                                 "exit signal \(request.signalID) is not awaiting approval (it is \(record.state))", metadata: ["state": "\(record.state)"])
        }
        if request.approve, config.liveGuardEnforced, context.metadata[MetadataKey.allowLive] != "true" {
            throw RPCError.field(.liveGuard, field: MetadataKey.allowLive,
                                 "approving an exit signal submits orders: it needs the metadata x-allow-live: true")
        }
        let now = clock()
        record.state = request.approve ? .approved : .rejected
        record.decidedBy = request.operator
        record.decidedAtMs = now
        record.reason = request.reason
        let decided = try await storeCall {
            try await self.store.decideExitSignal(record, from: .awaitingApproval, auditType: request.approve ? "EXIT_APPROVED" : "EXIT_REJECTED", nowMs: now)
        }
        guard decided else {
            throw RPCError.field(.exitSignalDecided, field: "signal_id", "exit signal \(request.signalID) was decided meanwhile")
        }
        context.logger.info("exit signal decided", metadata: ["signal_id": "\(request.signalID)", "approve": "\(request.approve)", "operator": "\(request.operator)"])
        return request.approve ? await applyExitSignal(record) : record
    }

    /// What the relay hands over: approved signals are applied at once.
    func exitSignalReceived(_ record: ExitSignalRecord) async {
        if record.state == .approved { _ = await applyExitSignal(record) }
    }

    /// Approved signals not yet applied (the gateway stopped in between), applied again; `Execute`'s
    /// idempotency key `exit:<signal_id>` makes a second submission a replay.
    public func applyApprovedExitSignals() async {
        guard let rows = try? await store.exitSignals(state: .approved, afterID: 0, limit: 1_000) else { return }
        for (_, record) in rows { _ = await applyExitSignal(record) }
    }

    /// The reduce plan through `Execute`; APPLIED or FAILED with the reason, audited. A planner or
    /// store that cannot be reached leaves the signal APPROVED for the next try.
    func applyExitSignal(_ approved: ExitSignalRecord) async -> ExitSignalRecord {
        var record = approved
        let signal = record.signal
        let context = ServerContext(
            method: KeelRPC.gatewayExecute.path,
            metadata: [MetadataKey.idempotencyKey: "exit:\(signal.signalID)", MetadataKey.allowLive: "true"],
            requestID: "exit-\(signal.signalID)", deadline: nil, logger: logger)
        do {
            // An EXIT carries no fraction: all of it. A REDUCE fraction that does not parse fails the
            // signal; it is never read as a full exit.
            let fraction = signal.reduceFraction.isEmpty
                ? ExactDecimal.one
                : try DecimalText.parseExact(signal.reduceFraction, field: "signal.reduce_fraction")
            let keep = max(.zero, ExactDecimal.one - fraction).description
            let positions = try await reducePositions(for: signal)
            var plan = PlanRequest()
            plan.totalEquity = "1"
            plan.positions = positions
            plan.worldAllocBefore = [signal.worldID: "1"]
            plan.worldAllocAfter = [signal.worldID: signal.strategyID.isEmpty ? keep : "1"]
            if !signal.strategyID.isEmpty {
                plan.strategyAllocBeforeTotal = [signal.worldID: .with { $0.byStrategy = [signal.strategyID: "1"] }]
                plan.strategyAllocAfterTotal = [signal.worldID: .with { $0.byStrategy = [signal.strategyID: keep] }]
            }
            plan.intent = ["exit_signal": signal.signalID, "rule_id": signal.ruleID, "reason": signal.reason]
            let request = ExecuteRequest.with {
                $0.planRequest = plan
                $0.submit = true
                // Per strategy, so that the fills go back to the strategies they reduce.
                $0.perStrategy = true
                $0.accountID = config.exitPolicy.accountID
            }
            let response = try await execute(request, context: context)
            record.state = .applied
            record.planID = response.planID
            record.executionID = response.executionID
            let orders = response.batches.filter(\.dispatched).reduce(0) { $0 + Int($1.orderCount) }
            record.reason = orders == 0 ? "nothing to reduce: no position of \(signal.worldID) changes" : "\(orders) reduce order\(orders == 1 ? "" : "s") submitted"
        } catch let error as RPCError where error.code == .unavailable {
            logger.warning("exit signal not applied yet; it stays approved", metadata: ["signal_id": "\(signal.signalID)", "error": "\(error)"])
            return record
        } catch {
            record.state = .failed
            record.reason = (error as? RPCError).map { "\($0.code.name) \($0.reason): \($0.message)" } ?? "\(error)"
        }
        let now = clock()
        let type = record.state == .applied ? "EXIT_APPLIED" : "EXIT_FAILED"
        if (try? await store.decideExitSignal(record, from: .approved, auditType: type, nowMs: now)) != true {
            logger.error("exit signal decision could not be recorded", metadata: ["signal_id": "\(signal.signalID)"])
        }
        logger.info("exit signal applied", metadata: [
            "signal_id": "\(signal.signalID)", "state": "\(record.state)", "execution_id": "\(record.executionID)", "reason": "\(record.reason)",
        ])
        return record
    }

    /// The world's rows for the reduce plan: the gateway's attributed fills of the world, or (with
    /// `exit_policy.positions = account`) the broker positions of the exit account as the world's book.
    func reducePositions(for signal: ExitSignal) async throws -> [Keel_Planner_V1_Position] {
        switch config.exitPolicy.positions {
        case .attributed:
            return try await storeCall { try await self.store.attributedPositions() }.filter { $0.worldID == signal.worldID }
        case .account:
            guard signal.strategyID.isEmpty else {
                throw RPCError.field(.strategyNotAttributed, field: "signal.strategy_id",
                                     "a strategy's signal needs attributed positions (exit_policy.positions = attributed)")
            }
            return try await storeCall { try await self.broker.positions(accountID: self.config.exitPolicy.accountID) }.map { position in
                .with {
                    $0.worldID = signal.worldID
                    $0.strategyID = "account"
                    $0.venue = position.venue
                    $0.symbol = position.symbol
                    $0.qty = position.qty
                    $0.mark = position.mark
                }
            }
        }
    }
}

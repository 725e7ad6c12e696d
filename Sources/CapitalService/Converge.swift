import CapitalAllocation
import Contracts
import ExactNumbers
import Foundation
import KeelWire
import Logging
import Metrics

typealias PlanRequest = Keel_Planner_V1_PlanRequest

/// Converge: after an allocation, the positions of the strategies whose capital changed are moved with
/// it: a scaling plan by the planner and, with EXECUTE, its orders through the gateway. The
/// allocation stays committed whatever happens; downstream errors are reported in the result.
extension CapitalService {
    func converge(_ request: Keel_Capital_V1_ConvergeRequest, context: ServerContext) async throws -> ConvergeResult {
        try CapitalValidation.required(request.runID, field: "run_id")
        switch request.mode {
        case .plan, .execute: break
        case .none, .unspecified: throw FieldError(.valueOutOfRange, field: "mode", message: "mode must be CONVERGE_MODE_PLAN or CONVERGE_MODE_EXECUTE")
        case .UNRECOGNIZED(let n): throw CapitalValidation.unknownEnum("mode", n)
        }
        guard let stored = try await store.runs.run(id: request.runID) else {
            throw FieldError(.runNotFound, field: "run_id", message: "no rebalance run \(request.runID)")
        }
        // Without a stored plan request, the checks and the request are made again unless the checks
        // already decided: not needed, or the precondition or the cross-check failed. A run whose
        // converge never ran (not requested, or cut short by a stop) or could not reach the gateway is
        // retried from the start.
        let previous = stored.run.converge
        let decided = previous.state == .notNeeded
            || (previous.state == .failed && [ErrorReason.positionMismatch, .convergePrecondition].map(\.name).contains(previous.error.reason))
        if stored.planRequest == nil, decided {
            throw FieldError(.convergePrecondition, field: "run_id",
                             message: "run \(request.runID) has nothing to converge (its converge was \(previous.state)\(previous.error.reason.isEmpty ? "" : ", \(previous.error.reason)"))")
        }
        return try await convergeRun(request.runID, mode: request.mode, downstream(context), answerKey: nil)
    }

    /// Converge for a run (the checks and the plan request only when the run has none stored yet),
    /// with the run's own idempotency keys downstream so a retry never plans or executes twice. The
    /// outcome is stored in the run (and in the answer kept under `answerKey`).
    func convergeRun(_ runID: String, mode: Keel_Capital_V1_ConvergeMode, _ down: Downstream, answerKey: String?) async throws -> ConvergeResult {
        guard let (run, storedPlan) = try await store.runs.run(id: runID), let account = try await store.accounts.account(id: run.accountID) else {
            throw FieldError(.runNotFound, field: "run_id", message: "no rebalance run \(runID)")
        }
        var result = ConvergeResult()
        var newPlanBytes: Data?
        let planRequest: PlanRequest
        if let storedPlan {
            planRequest = try PlanRequest(serializedBytes: storedPlan)
        } else {
            switch try await buildPlanRequest(run, account: account, down) {
            case .notNeeded:
                result.state = .notNeeded
                try await save(run, result, planRequest: nil, answerKey: answerKey)
                return result
            case .failed(let error):
                result.state = .failed
                result.error = ErrorDetail(error)
                try await save(run, result, planRequest: nil, answerKey: answerKey)
                return result
            case .request(let request):
                planRequest = request
                newPlanBytes = try request.serializedBytes()
            }
        }
        do {
            var metadata = down.metadata
            metadata[MetadataKey.idempotencyKey] = "capital:\(runID):plan"
            let plan = try await planner.unary(KeelRPC.plannerPlan, planRequest, as: Keel_Planner_V1_PlanResponse.self, metadata: metadata, timeout: down.timeout)
            result.planID = plan.plan.planID
            result.state = .planned
        } catch {
            result.state = .failed
            result.error = ErrorDetail(Self.downstreamError(error, reason: .plannerUnavailable, service: "keel-planner"))
        }
        if mode == .execute, result.state == .planned {
            var execute = Keel_Gateway_V1_ExecuteRequest()
            execute.planRequest = planRequest
            execute.perStrategy = true
            execute.submit = true
            execute.accountID = account.gatewayAccountID
            var metadata = down.metadata
            metadata[MetadataKey.idempotencyKey] = "capital:\(runID):execute"
            if down.allowLive { metadata[MetadataKey.allowLive] = "true" }
            do {
                let answer = try await gateway.unary(KeelRPC.gatewayExecute, execute, as: Keel_Gateway_V1_ExecuteResponse.self, metadata: metadata, timeout: down.timeout)
                result.executionID = answer.executionID
                result.batchIds = answer.batches.map(\.batchID)
                result.state = .executed
            } catch {
                result.state = .failed
                result.error = ErrorDetail(Self.downstreamError(error, reason: .gatewayUnavailable, service: "keel-gateway"))
            }
        }
        try await save(run, result, planRequest: newPlanBytes, answerKey: answerKey)
        logger.info("converge", metadata: [
            "run_id": "\(runID)", "state": "\(result.state)", "plan_id": "\(result.planID)", "execution_id": "\(result.executionID)",
            "error": "\(result.error.reason)",
        ])
        return result
    }

    private func save(_ run: RebalanceRun, _ result: ConvergeResult, planRequest: Data?, answerKey: String?) async throws {
        let state = switch result.state {
        case .notNeeded: "not_needed"
        case .planned: "planned"
        case .executed: "executed"
        default: "failed"
        }
        Counter(label: "keel_capital_converge_total", dimensions: [("state", state)]).increment()
        var run = run
        run.converge = result
        run.result.converge = result
        try await store.runs.updateRun(run, planRequest: planRequest, answer: try answerKey.map { ($0, try run.result.serializedBytes()) })
    }

    /// A downstream service that cannot be reached is UNAVAILABLE with `reason`; its own statuses pass.
    static func downstreamError(_ error: RPCError, reason: ErrorReason, service: String) -> RPCError {
        var passed = error
        if error.code == .unavailable || error.code == .deadlineExceeded, error.reason.isEmpty || error.has(.goingAway) {
            passed = RPCError(reason, "\(service) cannot be reached: \(error.message)", cause: error)
        }
        passed.metadata["upstream"] = service
        return passed
    }

    enum PlanBuild {
        case notNeeded
        case failed(RPCError)
        case request(PlanRequest)
    }

    /// Is converge needed, do the recorded per-strategy quantities add up to the broker's,
    /// and the scaling request that moves each strategy's positions by `allocated / old`.
    func buildPlanRequest(_ run: RebalanceRun, account: Account, _ down: Downstream) async throws -> PlanBuild {
        let lines = run.result.allocations
        let positions: [BrokerPosition]
        do {
            positions = try await openPositions(account, down)
        } catch {
            return .failed(Self.downstreamError(error, reason: .gatewayUnavailable, service: "keel-gateway"))
        }
        let changeAmounts = try lines.map { line throws(UnreadableStoredValue) in try UnreadableStoredValue.decimal(line.change, table: "rebalance_runs", row: run.runID, column: "allocations.change") }
        if positions.isEmpty || changeAmounts.allSatisfy(\.isZero) { return .notNeeded }
        let total = try UnreadableStoredValue.decimal(run.result.totalCapital, table: "rebalance_runs", row: run.runID, column: "total_capital")
        guard total.signum > 0 else {
            return .failed(.field(.convergePrecondition, field: "run_id", "the total capital \(total) is not positive: nothing to scale by"))
        }
        var broker: [String: ExactDecimal] = [:]
        var marks: [String: String] = [:]
        for (i, position) in positions.enumerated() {
            broker[position.symbol, default: .zero] += try CapitalValidation.answered(position.qty, by: "keel-gateway", field: "positions[\(i)].qty")
            marks[position.symbol] = position.mark
        }
        let recorded = try await store.trades.netQuantities(accountID: account.accountID)
        var attributed: [String: ExactDecimal] = [:]
        for row in recorded { attributed[row.symbol, default: .zero] += row.qty }
        for symbol in Set(broker.keys).union(attributed.keys).sorted() {
            let held = broker[symbol] ?? .zero
            let sum = attributed[symbol] ?? .zero
            if held != sum {
                return .failed(.field(.positionMismatch, field: "positions[\(symbol)]",
                                      "the strategies' recorded quantities of \(symbol) add up to \(sum), the broker holds \(held); Keel never guesses an attribution",
                                      metadata: ["recorded_qty": sum.description, "broker_qty": held.description]))
            }
        }
        let strategies = Dictionary(uniqueKeysWithValues: try await store.accounts.strategyAccounts(accountID: account.accountID).map { ($0.strategyAccountID, $0) })
        var changes: [ConvergePlan.CapitalChange] = []
        for line in lines {
            guard let sa = strategies[line.strategyAccountID] else { continue }
            changes.append(ConvergePlan.CapitalChange(
                strategyID: sa.strategyID,
                oldCapital: try UnreadableStoredValue.decimal(line.oldCapital, table: "rebalance_runs", row: run.runID, column: "allocations.old_capital"),
                allocatedCapital: try UnreadableStoredValue.decimal(line.allocatedCapital, table: "rebalance_runs", row: run.runID, column: "allocations.allocated_capital")))
        }
        let moving = Set(lines.map(\.strategyAccountID))
        let holdings = recorded.filter { moving.contains($0.strategyAccountID) }.compactMap { row in
            strategies[row.strategyAccountID].map { ConvergePlan.Holding(strategyID: $0.strategyID, symbol: row.symbol, quantity: row.qty, mark: marks[row.symbol] ?? "") }
        }
        let request = ConvergePlan.request(
            world: account.worldID, venue: account.venue, totalCapital: total, changes: changes, holdings: holdings,
            minTradeNotional: settings.convergeMinTradeNotional,
            intent: ["source": "keel-capital", "run_id": run.runID, "account_id": account.accountID])
        return .request(request)
    }
}

import CapitalAllocation
import Contracts
import ExactNumbers
import Foundation
import KeelStore
import KeelWire
import Logging
import Metrics
import NIOCore
import SwiftProtobuf

typealias AccountRunResult = Keel_Capital_V1_AccountRunResult
typealias BulkRebalanceResponse = Keel_Capital_V1_BulkRebalanceResponse
typealias BrokerPosition = Keel_Gateway_V1_BrokerPosition

/// What calls to the gateway and the planner carry: the caller's request id, its remaining
/// deadline (or `downstream_timeout_ms` when there is none, as for the scheduler), and
/// `x-allow-live` only when the caller sent it.
struct Downstream: Sendable {
    var requestID: String
    var timeout: TimeAmount
    var allowLive: Bool

    var metadata: [String: String] { [MetadataKey.requestID: requestID] }
}

extension ErrorDetail {
    init(_ error: RPCError) {
        self.init()
        code = error.code.rawValue
        reason = error.reason
        field = error.field ?? ""
        message = error.message
        metadata = error.metadata.filter { $0.key != "field" }
    }
}

extension CapitalService {
    func downstream(_ context: ServerContext?) -> Downstream {
        let fallback = TimeAmount.milliseconds(Int64(settings.downstreamTimeoutMs))
        guard let context else { return Downstream(requestID: "sched-\(ULID.make(timeMs: clock()))", timeout: fallback, allowLive: false) }
        return Downstream(requestID: context.requestID, timeout: context.remainingTime ?? fallback,
                          allowLive: context.metadata[MetadataKey.allowLive] == "true")
    }

    // MARK: gateway reads (open positions, total capital)

    /// Total capital: the db balance and at most one live `GetBalance`; a failed live read is never 0.
    func resolveTotal(_ account: Account, useLive: Bool, _ down: Downstream) async throws -> TotalCapital.Resolved {
        try await resolveTotal(account, balance: try await store.accounts.latestBalance(accountID: account.accountID), useLive: useLive, down)
    }

    /// The same with the latest db balance already read.
    func resolveTotal(_ account: Account, balance: Keel_Capital_V1_DailyBalance?, useLive: Bool, _ down: Downstream) async throws -> TotalCapital.Resolved {
        let db = try balance.map { balance throws(UnreadableStoredValue) in
            try UnreadableStoredValue.decimal(balance.endingBalance, table: "daily_balances", row: "\(balance.accountID)@\(balance.date)", column: "ending_balance")
        }
        let gateway = self.gateway
        return try await TotalCapital.resolve(useLive: useLive, quoteCurrency: account.quoteCurrency, dbBalance: db) {
            var request = Keel_Gateway_V1_GetBalanceRequest()
            request.accountID = account.gatewayAccountID
            do {
                let answer = try await gateway.unary(KeelRPC.gatewayGetBalance, request, as: Keel_Gateway_V1_GetBalanceResponse.self,
                                                     metadata: down.metadata, timeout: down.timeout)
                guard let equity = DecimalGrammar.parse(answer.equity) else {
                    return TotalCapital.LiveRead(equity: nil, error: "the gateway answered an equity that is not a decimal: \"\(answer.equity)\"")
                }
                return TotalCapital.LiveRead(equity: equity, currency: answer.currency)
            } catch {
                return TotalCapital.LiveRead(equity: nil, error: "gateway GetBalance: \(error)")
            }
        }
    }

    /// The account's broker positions at its venue (every venue when it has none), quantity ≠ 0.
    func openPositions(_ account: Account, _ down: Downstream) async throws(RPCError) -> [BrokerPosition] {
        var request = Keel_Gateway_V1_GetPositionsRequest()
        request.accountID = account.gatewayAccountID
        let answer = try await gateway.unary(KeelRPC.gatewayGetPositions, request, as: Keel_Gateway_V1_GetPositionsResponse.self,
                                             metadata: down.metadata, timeout: down.timeout)
        var open: [BrokerPosition] = []
        for (i, position) in answer.positions.enumerated()
        where account.venue.isEmpty || position.venue.lowercased() == account.venue.lowercased() {
            if try !CapitalValidation.answered(position.qty, by: "keel-gateway", field: "positions[\(i)].qty").isZero { open.append(position) }
        }
        return open
    }

    // MARK: allocation

    /// Allocates `resolved.total` over the account's active strategy accounts and writes it (one
    /// transaction with the run and, with a key, the answer). No active strategy → the note, nothing written.
    func allocate(_ account: Account, resolved: TotalCapital.Resolved, trigger: Keel_Capital_V1_RunTrigger,
                  reason: Keel_Capital_V1_RebalanceReason, converge: Keel_Capital_V1_ConvergeMode,
                  answer: (key: String, method: String, digest: String)? = nil) async throws -> ReallocateResponse {
        let prepared = try await prepareAllocation(account, resolved: resolved, trigger: trigger, reason: reason, converge: converge, answer: answer)
        guard let write = prepared.write else { return prepared.response }
        try await store.runs.writeAllocations([write])
        allocated(prepared.response, trigger: trigger, resolved: resolved, strategies: write.lines.count, summary: false)
        return prepared.response
    }

    /// What to write for an allocation, computed but not yet written (ReallocateAll writes many in one transaction).
    struct PreparedAllocation: Sendable {
        var response: ReallocateResponse
        var write: RunStore.AllocationWrite?
    }

    func prepareAllocation(_ account: Account, resolved: TotalCapital.Resolved, trigger: Keel_Capital_V1_RunTrigger,
                           reason: Keel_Capital_V1_RebalanceReason, converge: Keel_Capital_V1_ConvergeMode,
                           answer: (key: String, method: String, digest: String)? = nil) async throws -> PreparedAllocation {
        try prepareAllocation(account, strategies: try await store.accounts.strategyAccounts(accountID: account.accountID), resolved: resolved,
                              trigger: trigger, reason: reason, converge: converge, answer: answer)
    }

    func prepareAllocation(_ account: Account, strategies: [StrategyAccount], resolved: TotalCapital.Resolved, trigger: Keel_Capital_V1_RunTrigger,
                           reason: Keel_Capital_V1_RebalanceReason, converge: Keel_Capital_V1_ConvergeMode,
                           answer: (key: String, method: String, digest: String)? = nil) throws -> PreparedAllocation {
        let active = strategies.filter(\.isActive)
        let result = try CapitalAllocator.allocate(
            total: resolved.total,
            weights: try active.map { sa throws(UnreadableStoredValue) in try UnreadableStoredValue.decimal(sa.weight, table: "strategy_accounts", row: sa.strategyAccountID, column: "weight") },
            oldCapitals: try active.map { sa throws(UnreadableStoredValue) in
                // No capital row yet: nothing was allocated to it.
                sa.hasCapital ? try UnreadableStoredValue.decimal(sa.capital.allocatedCapital, table: "strategy_capital", row: sa.strategyAccountID, column: "allocated_capital") : .zero
            },
            currencyScale: Int(account.currencyScale), weightField: { "strategy_accounts[\(active[$0].strategyAccountID)].weight" })
        var response = ReallocateResponse()
        response.accountID = account.accountID
        response.accountName = account.name
        response.totalCapital = resolved.total.description
        response.source = .init(resolved.source)
        response.liveError = resolved.liveError
        response.totalWeight = result.totalWeight.description
        response.unallocated = result.unallocated.description
        if result.noActiveStrategies {
            response.note = .noActiveStrategies
            return PreparedAllocation(response: response, write: nil)
        }
        for (sa, line) in zip(active, result.lines) {
            var out = Keel_Capital_V1_AllocationLine()
            out.strategyAccountID = sa.strategyAccountID
            out.strategyName = sa.strategyName
            out.weight = line.weight.description
            out.oldCapital = line.oldCapital.description
            out.allocatedCapital = line.allocatedCapital.description
            out.change = line.change.description
            response.allocations.append(out)
        }
        let now = clock()
        response.rebalancedAtMs = now
        response.runID = "run_" + ULID.make(timeMs: now)
        response.converge.state = converge == .none ? .notRequested : .unspecified
        var run = RebalanceRun()
        run.runID = response.runID
        run.accountID = account.accountID
        run.trigger = trigger
        run.startedAtMs = now
        run.reason = reason
        run.result = response
        run.converge = response.converge
        let stored = try answer.map { a in
            (key: a.key, StoredAnswer(method: a.method, digest: a.digest, response: try response.serializedBytes() as Data, runID: response.runID))
        }
        let write = RunStore.AllocationWrite(
            accountID: account.accountID, total: resolved.total,
            lines: zip(active, result.lines).map { ($0.strategyAccountID, $1.allocatedCapital) }, atMs: now,
            runID: run.runID, runStartedAtMs: run.startedAtMs, runBytes: try run.serializedBytes(), answer: stored)
        return PreparedAllocation(response: response, write: write)
    }

    /// The metric and the log line of a written allocation (debug only inside a bulk call, which logs a summary).
    func allocated(_ response: ReallocateResponse, trigger: Keel_Capital_V1_RunTrigger, resolved: TotalCapital.Resolved, strategies: Int, summary: Bool) {
        Counter(label: "keel_capital_allocations_total", dimensions: [("trigger", Self.triggerName(trigger))]).increment()
        let metadata: Logger.Metadata = [
            "account_id": "\(response.accountID)", "run_id": "\(response.runID)", "total_capital": "\(resolved.total)",
            "source": "\(resolved.source)", "strategies": "\(strategies)", "unallocated": "\(response.unallocated)",
        ]
        if summary { logger.debug("capital reallocated", metadata: metadata) } else { logger.info("capital reallocated", metadata: metadata) }
    }

    static func triggerName(_ trigger: Keel_Capital_V1_RunTrigger) -> String {
        switch trigger {
        case .manual: "manual"
        case .reallocateAll: "reallocate_all"
        case .autoRebalanceAll: "auto_rebalance_all"
        case .schedule: "schedule"
        default: "unspecified"
        }
    }

    // MARK: idempotency

    static func digest(method: String, _ message: some SwiftProtobuf.Message) throws -> String {
        var hash = SHA256()
        hash.update(method)
        hash.update([0])
        hash.update(try message.serializedBytes() as [UInt8])
        return SHA256.hex(hash.finalize())
    }

    /// The call's `idempotency-key` handling over the answers kept in the store.
    func idempotentCall<M: SwiftProtobuf.Message & ReplayableAnswer>(_ context: ServerContext, digest: String, as type: M.Type) throws(RPCError) -> IdempotentCall<M> {
        try IdempotentCall<M>(context: context, digest: digest, lookup: { [store] key in
            try await store.runs.answer(forKey: key).map { stored in
                KeyedAnswer(digest: stored.digest, answer: {
                    try UnreadableStoredValue.reading(table: "idempotency_keys", row: key, column: "response") { try M(serializedBytes: stored.response) }
                }, madeID: stored.runID.map { ("run_id", $0) })
            }
        })
    }

    // MARK: Reallocate

    func reallocate(_ request: Keel_Capital_V1_ReallocateRequest, context: ServerContext) async throws -> ReallocateResponse {
        try CapitalValidation.id(request.accountID, field: "account_id")
        var canonical = request
        canonical.converge = try CapitalValidation.convergeMode(request.converge, field: "converge")
        let mode = canonical.converge
        let method = "Reallocate"
        let call = try idempotentCall(context, digest: try Self.digest(method: method, canonical), as: ReallocateResponse.self)
        if let stored = try await call.storedAnswer() { return stored }
        let key = call.key
        let account = try await existingAccount(request.accountID)
        try Self.requireActive(account)
        let down = downstream(context)
        // The answer is written with the run; a call that lost the race for the key answers the winner's.
        var response = try await call.answerOnce {
            try await locks.withLock(account.accountID) {
                let resolved = try await self.resolveTotal(account, useLive: request.useLive, down)
                return try await self.allocate(account, resolved: resolved, trigger: .manual, reason: .forced, converge: mode,
                                               answer: key.map { ($0, method, call.digest) })
            }
        }
        if response.replayed { return response }
        if !response.runID.isEmpty, canonical.converge != .none {
            response.converge = try await convergeRun(response.runID, mode: canonical.converge, down, answerKey: key)
        }
        return response
    }

    // MARK: ReallocateAll

    func reallocateAll(_ request: Keel_Capital_V1_ReallocateAllRequest, context: ServerContext) async throws -> BulkRebalanceResponse {
        var canonical = request
        canonical.converge = try CapitalValidation.convergeMode(request.converge, field: "converge")
        let mode = canonical.converge
        let method = "ReallocateAll"
        let call = try idempotentCall(context, digest: try Self.digest(method: method, canonical), as: BulkRebalanceResponse.self)
        if let stored = try await call.storedAnswer() { return stored }
        var ids: [String] = []
        if request.accountIds.isEmpty {
            ids = try await store.accounts.activeAccountIDs()
        } else {
            for id in request.accountIds where !ids.contains(id) { ids.append(id) }
        }
        let down = downstream(context)
        var response = BulkRebalanceResponse()
        if mode == .none {
            // Without converge nothing leaves the service: allocations are written in chunks, one
            // transaction (one fsync) per chunk, under the chunk's account locks. Two chunks are in
            // flight, so one is read and prepared while the other is written; results keep the
            // order of the ids.
            let chunks = ids.chunks(of: bulkChunk).map(Array.init)
            try await withThrowingTaskGroup(of: (Int, [AccountRunResult]).self) { group in
                var started = 0
                func startNext() {
                    let index = started
                    started += 1
                    group.addTask { (index, try await self.reallocateChunk(chunks[index], useLive: request.useLive, down)) }
                }
                while started < min(2, chunks.count) { startNext() }
                var finished: [Int: [AccountRunResult]] = [:]
                var nextToAdd = 0
                while let (index, results) = try await group.next() {
                    finished[index] = results
                    while let ready = finished.removeValue(forKey: nextToAdd) {
                        for result in ready { response.add(result, trigger: .reallocateAll) }
                        nextToAdd += 1
                    }
                    if started < chunks.count { startNext() }
                }
            }
            logger.info("capital reallocated in bulk", metadata: [
                "accounts": "\(response.totalAccounts)", "rebalanced": "\(response.rebalanced)", "failed": "\(response.failed)",
            ])
            ids = []
        }
        for id in ids {
            var result = AccountRunResult()
            result.accountID = id
            do {
                let account = try await existingAccount(id)
                result.accountName = account.name
                try Self.requireActive(account)
                var allocation = try await locks.withLock(id) {
                    let resolved = try await self.resolveTotal(account, useLive: request.useLive, down)
                    return try await self.allocate(account, resolved: resolved, trigger: .reallocateAll, reason: .forced, converge: mode)
                }
                if allocation.note == .noActiveStrategies {
                    result.outcome = .skipped
                    result.reason = .noActiveStrategies
                } else {
                    if canonical.converge != .none {
                        allocation.converge = try await convergeRun(allocation.runID, mode: canonical.converge, down, answerKey: nil)
                    }
                    result.outcome = .rebalanced
                    result.result = allocation
                }
            } catch let error where !(error is CancellationError) {
                // A per-account failure, as the status it would have had on its own.
                result.outcome = .failed
                result.error = ErrorDetail(status(of: error))
            }
            response.add(result, trigger: .reallocateAll)
        }
        if response.totalAccounts == 0 { response.note = .noActiveAccounts }
        return try await storeBulkAnswer(response, call, method: method)
    }

    /// One chunk of a bulk reallocation without converge: each account prepared (its own failure
    /// is its result), then every allocation of the chunk written in one transaction.
    func reallocateChunk(_ chunk: [String], useLive: Bool, _ down: Downstream) async throws -> [AccountRunResult] {
        try await locks.withLocks(chunk) {
            var results: [AccountRunResult] = []
            var writes: [(index: Int, write: RunStore.AllocationWrite, resolved: TotalCapital.Resolved)] = []
            // Every input of the chunk in one read (one hop to the store, not three per account).
            let inputs = try await self.store.accounts.allocationInputs(accountIDs: chunk)
            for id in chunk {
                var result = AccountRunResult()
                result.accountID = id
                do {
                    try CapitalValidation.id(id, field: "account_id")
                    guard let input = inputs[id] else { throw Self.notFound(id) }
                    let account = input.account
                    result.accountName = account.name
                    try Self.requireActive(account)
                    let resolved = try await self.resolveTotal(account, balance: input.balance, useLive: useLive, down)
                    let prepared = try self.prepareAllocation(account, strategies: input.strategies, resolved: resolved, trigger: .reallocateAll,
                                                              reason: .forced, converge: .none)
                    if let write = prepared.write {
                        result.outcome = .rebalanced
                        result.result = prepared.response
                        writes.append((results.count, write, resolved))
                    } else {
                        result.outcome = .skipped
                        result.reason = .noActiveStrategies
                    }
                } catch let error where !(error is CancellationError) {
                    result.outcome = .failed
                    result.error = ErrorDetail(self.status(of: error))
                }
                results.append(result)
            }
            do {
                try await self.store.runs.writeAllocations(writes.map(\.write))
                for entry in writes {
                    self.allocated(results[entry.index].result, trigger: .reallocateAll, resolved: entry.resolved, strategies: entry.write.lines.count, summary: true)
                }
            } catch {
                self.logger.error("store failed", metadata: ["error": "\(error)"])
                let failure = RPCError(.storeUnavailable, "the allocations could not be written; nothing was written")
                for entry in writes {
                    results[entry.index].outcome = .failed
                    results[entry.index].clearResult()
                    results[entry.index].error = ErrorDetail(self.status(of: failure))
                }
            }
            return results
        }
    }

    /// A bulk answer kept under the call's key (when it has one). Another call with the key that
    /// finished first wins: this one answers with its answer.
    func storeBulkAnswer(_ response: BulkRebalanceResponse, _ call: IdempotentCall<BulkRebalanceResponse>, method: String) async throws -> BulkRebalanceResponse {
        guard let key = call.key else { return response }
        return try await call.answerOnce {
            try await store.runs.store(StoredAnswer(method: method, digest: call.digest, response: try response.serializedBytes(), runID: nil), key: key)
            return response
        }
    }

    // MARK: AutoRebalanceAll and the schedule

    func autoRebalanceAll(_ request: Keel_Capital_V1_AutoRebalanceAllRequest, context: ServerContext) async throws -> BulkRebalanceResponse {
        var canonical = request
        canonical.useLive = request.hasUseLive ? request.useLive : settings.autoUseLive
        let method = "AutoRebalanceAll"
        let call = try idempotentCall(context, digest: try Self.digest(method: method, canonical), as: BulkRebalanceResponse.self)
        if let stored = try await call.storedAnswer() { return stored }
        let response = try await autoRebalance(force: request.force, useLive: canonical.useLive, trigger: .autoRebalanceAll, downstream(context))
        return try await storeBulkAnswer(response, call, method: method)
    }

    /// Every active account in id order, each under its lock: the configured policy decides
    /// (unless forced), then one balance resolution serves the check and the allocation.
    func autoRebalance(force: Bool, useLive: Bool, trigger: Keel_Capital_V1_RunTrigger, _ down: Downstream) async throws -> BulkRebalanceResponse {
        var response = BulkRebalanceResponse()
        response.forced = force
        for id in try await store.accounts.activeAccountIDs() {
            var result = AccountRunResult()
            result.accountID = id
            do {
                guard let account = try await store.accounts.account(id: id), account.isActive else { continue }
                result.accountName = account.name
                let start = result
                result = try await locks.withLock(id) {
                    try await self.autoRebalance(account, force: force, useLive: useLive, trigger: trigger, down, into: start)
                }
            } catch let error where !(error is CancellationError) {
                result.outcome = .failed
                result.error = ErrorDetail(status(of: error))
            }
            response.add(result, trigger: trigger)
        }
        if response.totalAccounts == 0 { response.note = .noActiveAccounts }
        logger.info("auto rebalance", metadata: [
            "trigger": "\(trigger)", "forced": "\(force)", "rebalanced": "\(response.rebalanced)", "skipped": "\(response.skipped)", "failed": "\(response.failed)",
        ])
        return response
    }

    private func autoRebalance(_ account: Account, force: Bool, useLive: Bool, trigger: Keel_Capital_V1_RunTrigger,
                               _ down: Downstream, into start: AccountRunResult) async throws -> AccountRunResult {
        var result = start
        var resolved: TotalCapital.Resolved?
        var evaluated: [StrategyAccount]?
        var reason = Keel_Capital_V1_RebalanceReason.forced
        if force {
            if let open = try? await openPositions(account, down), !open.isEmpty {
                logger.warning("forced rebalance of an account with open positions", metadata: ["account_id": "\(account.accountID)", "positions": "\(open.count)"])
            }
        } else {
            let evaluation = try await evaluate(account, useLive: useLive, down)
            guard evaluation.decision.shouldRebalance else {
                result.outcome = .skipped
                result.reason = Self.reason(evaluation.decision.reason)
                return result
            }
            reason = Self.reason(evaluation.decision.reason)
            resolved = evaluation.resolved
            evaluated = evaluation.active
        }
        let active: [StrategyAccount]
        if let evaluated { active = evaluated } else { active = try await store.accounts.strategyAccounts(accountID: account.accountID).filter(\.isActive) }
        if active.isEmpty {
            result.outcome = .skipped
            result.reason = .noActiveStrategies
            return result
        }
        let total: TotalCapital.Resolved
        if let resolved { total = resolved } else { total = try await resolveTotal(account, useLive: useLive, down) }
        if total.total.signum <= 0 {
            result.outcome = .skipped
            result.reason = .nonPositiveBalance
            return result
        }
        let mode: Keel_Capital_V1_ConvergeMode = switch settings.autoConverge {
        case .none: .none
        case .plan: .plan
        case .execute: .execute
        }
        var allocation = try await allocate(account, resolved: total, trigger: trigger, reason: reason, converge: mode)
        if mode != .none, !allocation.runID.isEmpty {
            allocation.converge = try await convergeRun(allocation.runID, mode: mode, down, answerKey: nil)
        }
        result.outcome = .rebalanced
        result.reason = reason
        result.result = allocation
        return result
    }

    struct Evaluation {
        /// The account's active strategy accounts the decision was made on.
        var active: [StrategyAccount]
        var decision: RebalanceDecision.Result
        var hasOpenPositions: Bool?
        var resolved: TotalCapital.Resolved?
        var lastRebalanceAtMs: Int64?
    }

    /// The rebalance decision with the configured policy; the balance is resolved only when a
    /// threshold rule needs it.
    func evaluate(_ account: Account, useLive: Bool, _ down: Downstream) async throws -> Evaluation {
        let active = try await store.accounts.strategyAccounts(accountID: account.accountID).filter(\.isActive)
        var open: Bool?
        if active.isEmpty {
            open = false
        } else if let positions = try? await openPositions(account, down) {
            open = !positions.isEmpty
        }
        let withCapital = active.filter(\.hasCapital)
        let last = withCapital.map(\.capital.lastRebalanceAtMs).filter { $0 != 0 }
        var input = RebalanceDecision.Input(policy: settings.rebalancePolicy, hasOpenPositions: open, hasCapitalRows: !withCapital.isEmpty, lastRebalanceAtMs: last)
        input.nowMs = clock()
        input.minIntervalHours = settings.minIntervalHours
        input.minAbsChange = settings.minAbsChange
        input.minRelChange = settings.minRelChange
        input.previousTotal = account.previousTotalCapital.isEmpty
            ? nil : try UnreadableStoredValue.decimal(account.previousTotalCapital, table: "accounts", row: account.accountID, column: "previous_total_capital")
        var resolved: TotalCapital.Resolved?
        if settings.rebalancePolicy != .interval, open == false {
            resolved = try? await resolveTotal(account, useLive: useLive, down)
            input.currentTotal = resolved?.total
        }
        return Evaluation(active: active, decision: RebalanceDecision.decide(input), hasOpenPositions: open, resolved: resolved, lastRebalanceAtMs: last.max())
    }

    static func reason(_ reason: RebalanceDecision.Reason) -> Keel_Capital_V1_RebalanceReason {
        switch reason {
        case .openPositions: .openPositions
        case .firstAllocation: .firstAllocation
        case .noRebalanceHistory: .noRebalanceHistory
        case .minIntervalNotElapsed: .minIntervalNotElapsed
        case .conditionsMet: .conditionsMet
        case .checkFailed: .checkFailed
        case .balanceUnavailable: .balanceUnavailable
        case .nonPositiveBalance: .nonPositiveBalance
        case .absChangeTooSmall: .absChangeTooSmall
        case .relChangeTooSmall: .relChangeTooSmall
        case .balanceChanged: .balanceChanged
        case .previousNonPositive: .previousNonPositive
        }
    }

    // MARK: RebalanceStatus

    func rebalanceStatus(_ request: Keel_Capital_V1_RebalanceStatusRequest, context: ServerContext) async throws -> Keel_Capital_V1_RebalanceStatusResponse {
        let account = try await existingAccount(request.accountID)
        let evaluation = try await evaluate(account, useLive: settings.autoUseLive, downstream(context))
        var response = Keel_Capital_V1_RebalanceStatusResponse()
        response.accountID = account.accountID
        response.accountName = account.name
        response.shouldRebalance = evaluation.decision.shouldRebalance
        response.reason = Self.reason(evaluation.decision.reason)
        if let open = evaluation.hasOpenPositions { response.hasOpenPositions_p = open }
        response.lastRebalanceAtMs = evaluation.lastRebalanceAtMs ?? 0
        if let hours = evaluation.decision.hoursSinceLast { response.timeSinceLastHours = hours.outputString }
        response.policy = switch settings.rebalancePolicy {
        case .interval: .interval
        case .threshold: .threshold
        case .intervalAndThreshold: .intervalAndThreshold
        }
        response.previousTotalCapital = account.previousTotalCapital
        if let resolved = evaluation.resolved {
            response.currentTotalCapital = resolved.total.description
            response.currentSource = .init(resolved.source)
        }
        if settings.schedule.enabled { response.nextSlotAtMs = settings.schedule.daily.next(atOrAfter: clock()) ?? 0 }
        return response
    }
}

extension BulkRebalanceResponse {
    /// One account's outcome, in the results, the counts and the metric of its trigger.
    mutating func add(_ result: AccountRunResult, trigger: Keel_Capital_V1_RunTrigger) {
        results.append(result)
        totalAccounts += 1
        let outcome: String
        switch result.outcome {
        case .rebalanced: rebalanced += 1; outcome = "rebalanced"
        case .skipped: skipped += 1; outcome = "skipped"
        default: failed += 1; outcome = "failed"
        }
        Counter(label: "keel_capital_account_runs_total", dimensions: [("trigger", CapitalService.triggerName(trigger)), ("outcome", outcome)]).increment()
    }
}

extension Keel_Capital_V1_BalanceSource {
    init(_ source: TotalCapital.Source) {
        self = switch source {
        case .db: .db
        case .live: .live
        case .dbFallback: .dbFallback
        case .liveFallback: .liveFallback
        }
    }
}

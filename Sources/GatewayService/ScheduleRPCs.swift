import Contracts
import ExactNumbers
import Execution
import Foundation
import KeelStore
import KeelWire
import Planning
import SwiftProtobuf

public typealias StartScheduleRequest = Keel_Gateway_V1_StartScheduleRequest

/// The schedule RPCs: Preview (pure, no writes), Start, Get, List, Cancel.
extension GatewayService {
    func registerSchedules(into router: inout RPCRouter) {
        router.unary(KeelRPC.gatewayPreviewSchedule) { (request: StartScheduleRequest, context: ServerContext) -> Keel_Gateway_V1_PreviewScheduleResponse in
            try await self.previewSchedule(request, context: context)
        }
        router.unary(KeelRPC.gatewayStartSchedule) { (request: StartScheduleRequest, context: ServerContext) -> Schedule in
            try await self.startSchedule(request, context: context)
        }
        router.unary(KeelRPC.gatewayGetSchedule) { (request: Keel_Gateway_V1_GetScheduleRequest, _: ServerContext) -> Schedule in
            guard !request.scheduleID.isEmpty else { throw RPCError(FieldError.missing("schedule_id")) }
            guard let stored = try await self.storeCall({ try await self.store.storedSchedule(id: request.scheduleID) }) else {
                throw RPCError.field(.scheduleNotFound, field: "schedule_id", "no schedule \(request.scheduleID)")
            }
            return stored.schedule
        }
        router.unary(KeelRPC.gatewayListSchedules) { (request: Keel_Gateway_V1_ListSchedulesRequest, _: ServerContext) -> Keel_Gateway_V1_ListSchedulesResponse in
            try await self.listSchedules(request)
        }
        router.unary(KeelRPC.gatewayCancelSchedule) { (request: Keel_Gateway_V1_CancelScheduleRequest, context: ServerContext) -> Schedule in
            guard !request.scheduleID.isEmpty else { throw RPCError(FieldError.missing("schedule_id")) }
            do {
                return try await self.schedules.cancel(request.scheduleID, reason: request.reason)
            } catch let error as RPCError {
                throw error
            } catch {
                context.logger.error("cancel failed", metadata: ["error": "\(error)"])
                throw RPCError(.storeUnavailable, "the cancel could not be written; nothing was changed")
            }
        }
    }

    // MARK: checks shared by Preview and Start

    /// In order: required fields, `fill_from_account` exclusions, the target (its checks under
    /// `target.`), the policy, the session, the venue. Answers the effective policy.
    func checkSchedule(_ request: StartScheduleRequest, now: Int64) throws(RPCError) -> ResolvedSchedulePolicy {
        if request.accountID.isEmpty { throw RPCError(FieldError.missing("account_id")) }
        if request.venue.isEmpty { throw RPCError(FieldError.missing("venue")) }
        guard request.hasTarget else { throw RPCError(FieldError.missing("target")) }
        if request.fillFromAccount {
            if !request.target.positions.isEmpty { throw Self.notAllowed("target.positions") }
            if !request.target.cash.isEmpty { throw Self.notAllowed("target.cash") }
        }
        do throws(FieldError) {
            _ = try TargetWeightValidation.validate(request.target, prefix: "target.")
            let target = request.target
            let resolved = try PacedExecution.resolve(
                request.policy, sellEnabled: !target.hasSellEnabled || target.sellEnabled, buyEnabled: !target.hasBuyEnabled || target.buyEnabled, nowMs: now)
            if now >= resolved.sessionEndMs {
                throw FieldError(.sessionOver, field: "policy.session_end",
                                 message: "the session of \(resolved.policy.tradingDate) ended at \(resolved.policy.sessionEnd) \(resolved.policy.timeZone)")
            }
            guard config.policy(for: request.venue) != nil else {
                throw FieldError(.venueUnknown, field: "venue", message: "venue \(request.venue) is not in the gateway config")
            }
            return resolved
        } catch {
            throw RPCError(error)
        }
    }

    static func notAllowed(_ field: String) -> RPCError {
        RPCError.field(.fieldNotAllowed, field: field, "\(field) must be empty with fill_from_account (the gateway fills it from the broker)")
    }

    /// `fill_from_account` (the broker's holdings at the venue at the current quote, its orderable
    /// cash, quotes for added symbols) and the venue's lots for symbols without one.
    func filledTarget(_ request: StartScheduleRequest) async throws(RPCError) -> Keel_Planner_V1_TargetWeightRequest {
        var target = request.target
        target.venue = request.venue
        let venue = request.venue
        do {
            if request.fillFromAccount {
                let account = request.accountID
                for position in try await broker.positions(accountID: account) where position.venue == venue {
                    guard let qty = DecimalGrammar.parse(position.qty), qty.signum > 0 else { continue }
                    let quote = try await broker.quote(venue: venue, symbol: position.symbol, accountID: account) ?? .zero
                    target.positions.append(.with {
                        $0.symbol = position.symbol
                        $0.qty = qty.description
                        $0.price = quote.description
                        $0.evalAmount = (qty * quote).description
                    })
                }
                target.cash = max(.zero, try await broker.orderableCash(accountID: account)).description
                for i in target.addedSymbols.indices where target.addedSymbols[i].price.isEmpty {
                    target.addedSymbols[i].price = try await broker.quote(venue: venue, symbol: target.addedSymbols[i].symbol, accountID: account)?.description ?? ""
                }
            }
        } catch {
            logger.error("broker failed", metadata: ["error": "\(error)"])
            throw RPCError(.brokerUnavailable, "the broker cannot be reached: \(error)")
        }
        let symbols = target.positions.map(\.symbol) + target.addedSymbols.map(\.symbol)
        for symbol in symbols where target.lotSizeBySymbol[symbol] == nil {
            if let lot = config.lotSize(venue: venue, symbol: symbol) { target.lotSizeBySymbol[symbol] = lot.description }
        }
        return target
    }

    /// The target-weight plan from the pure function the planner uses; nothing is stored.
    static func localPlan(_ target: Keel_Planner_V1_TargetWeightRequest) throws(RPCError) -> Keel_Planner_V1_TargetWeightPlan {
        do throws(FieldError) {
            return PlanComputation.encode(TargetWeightPlanner.plan(try TargetWeightValidation.validate(target, prefix: "target.")))
        } catch {
            throw RPCError(error)
        }
    }

    // MARK: PreviewSchedule

    /// The plan from the same pure function the planner uses, and every round with its due time as
    /// if each phase started at `max(start, now)` (buys no earlier than the last sell round).
    func previewSchedule(_ request: StartScheduleRequest, context: ServerContext) async throws -> Keel_Gateway_V1_PreviewScheduleResponse {
        let now = clock()
        let resolved = try checkSchedule(request, now: now)
        if request.fillFromAccount { _ = try await existingAccount(request.accountID) }
        let plan = try Self.localPlan(try await filledTarget(request))
        var rounds: [Keel_Gateway_V1_PreviewRound] = []
        var lastSellDue: Int64?
        if let sellStart = resolved.sellStartMs {
            let start = max(sellStart, now)
            for k in 0..<(plan.sellLegs.map(\.roundQtys.count).max() ?? 0) {
                for leg in plan.sellLegs where k < leg.roundQtys.count {
                    let due = start + Int64(k) * resolved.roundIntervalMs
                    lastSellDue = max(lastSellDue ?? due, due)
                    rounds.append(.with {
                        $0.side = .sell
                        $0.symbol = leg.symbol
                        $0.round = UInt32(k + 1)
                        $0.dueAtMs = due
                        $0.qty = leg.roundQtys[k]
                    })
                }
            }
        }
        if let buyStart = resolved.buyStartMs {
            let start = max(buyStart, now, plan.sellLegs.isEmpty ? .min : (lastSellDue ?? .min))
            for k in 0..<(plan.buyLegs.map(\.roundAmounts.count).max() ?? 0) {
                for leg in plan.buyLegs where k < leg.roundAmounts.count {
                    rounds.append(.with {
                        $0.side = .buy
                        $0.symbol = leg.symbol
                        $0.round = UInt32(k + 1)
                        $0.dueAtMs = start + Int64(k) * resolved.roundIntervalMs
                        $0.amount = leg.roundAmounts[k]
                        $0.estimatedQty = k < leg.estimatedRoundQtys.count ? leg.estimatedRoundQtys[k] : ""
                    })
                }
            }
        }
        context.logger.info("schedule preview", metadata: ["sell_legs": "\(plan.sellLegs.count)", "buy_legs": "\(plan.buyLegs.count)", "rounds": "\(rounds.count)"])
        return .with {
            $0.plan = plan
            $0.rounds = rounds
            $0.policy = resolved.policy
        }
    }

    // MARK: StartSchedule

    func startSchedule(_ request: StartScheduleRequest, context: ServerContext) async throws -> Schedule {
        let now = clock()
        let resolved = try checkSchedule(request, now: now)
        let call = try IdempotentCall<Schedule>(context: context, digest: try Self.scheduleDigest(request, policy: resolved.policy), lookup: { key in
            try await self.storeCall { try await self.store.schedule(forKey: key) }.map {
                let schedule = $0.schedule
                return KeyedAnswer(digest: $0.requestDigest, answer: { schedule }, madeID: ("schedule_id", schedule.scheduleID))
            }
        })
        return try await call.run {
            try await self.startNewSchedule(request, resolved: resolved, key: call.key, digest: call.digest, now: now, context: context)
        }
    }

    /// A schedule not started before: everything after the replay check.
    func startNewSchedule(_ request: StartScheduleRequest, resolved: ResolvedSchedulePolicy, key: String?, digest: String, now: Int64,
                          context: ServerContext) async throws -> Schedule {
        if config.liveGuardEnforced, context.metadata[MetadataKey.allowLive] != "true" {
            throw RPCError.field(.liveGuard, field: MetadataKey.allowLive, "starting a schedule needs the metadata x-allow-live: true")
        }
        let account = try await existingAccount(request.accountID)
        if let active = try await storeCall({ try await self.store.activeScheduleID(accountID: account, venue: request.venue) }) {
            throw RPCError.field(.scheduleActive, field: "account_id",
                                 "schedule \(active) is still running for \(account) at \(request.venue)", metadata: ["schedule_id": active])
        }
        let target = try await filledTarget(request)
        // Decided with the planner's own pure function before asking it, so that a rejected start
        // leaves no plan stored at the planner either.
        let local = try Self.localPlan(target)
        guard !local.sellLegs.isEmpty || !local.buyLegs.isEmpty else {
            throw RPCError.field(.nothingToDo, field: "target", "the plan has no sell and no buy leg: the account is at its targets")
        }
        var planRequest = PlanRequest()
        planRequest.mode = .targetWeight
        planRequest.targetWeight = target
        planRequest.intent = request.intent
        let plan = try await self.plan(planRequest, context: context, idempotencyKey: key.map { "schedule:\($0)" })
        let weights = plan.targetWeight
        let schedule = Schedule.with {
            $0.scheduleID = "sch_" + ULID.make(timeMs: now)
            $0.accountID = account
            $0.venue = request.venue
            $0.state = .scheduled
            $0.planID = plan.planID
            $0.plan = weights
            $0.policy = resolved.policy
            $0.createdAtMs = now
            $0.intent = request.intent
            $0.legs = weights.sellLegs.map { leg in
                .with {
                    $0.side = .sell
                    $0.symbol = leg.symbol
                    $0.totalQty = leg.totalQty
                    $0.lotSize = leg.lotSize
                    $0.rounds = leg.roundQtys.enumerated().map { k, qty in .with { $0.index = UInt32(k + 1); $0.plannedQty = qty; $0.state = .pending } }
                }
            } + weights.buyLegs.map { leg in
                .with {
                    $0.side = .buy
                    $0.symbol = leg.symbol
                    $0.totalAmount = leg.totalAmount
                    $0.lotSize = leg.lotSize
                    $0.rounds = leg.roundAmounts.enumerated().map { k, amount in .with { $0.index = UInt32(k + 1); $0.plannedAmount = amount; $0.state = .pending } }
                }
            }
        }
        let created = ScheduleEvent.with {
            $0.scheduleID = schedule.scheduleID
            $0.kind = .created
            $0.timeMs = now
            $0.state = .scheduled
            $0.intent = schedule.intent
            $0.message = "\(weights.sellLegs.count) sell and \(weights.buyLegs.count) buy legs, \(weights.sellRounds) sell and \(weights.buyRounds) buy rounds"
        }
        try await KeyedWrite.perform("the schedule could not be written", logger: context.logger) {
            try await store.createSchedule(schedule, idempotencyKey: key, requestDigest: digest, event: created)
        }
        context.logger.info("schedule started", metadata: [
            "schedule_id": "\(schedule.scheduleID)", "account_id": "\(account)", "venue": "\(request.venue)", "plan_id": "\(plan.planID)",
        ])
        await schedules.adopt(StoredSchedule(schedule: schedule, buysWaitingEmitted: false, requestDigest: digest))
        return schedule
    }

    /// The request with the effective policy, encoded with map entries in key order.
    static func scheduleDigest(_ request: StartScheduleRequest, policy: SchedulePolicy) throws(FieldError) -> String {
        var copy = request
        copy.policy = policy
        return SHA256.hex(try DeterministicEncoding.bytes(copy))
    }

    // MARK: ListSchedules

    func listSchedules(_ request: Keel_Gateway_V1_ListSchedulesRequest) async throws -> Keel_Gateway_V1_ListSchedulesResponse {
        if request.limit > 500 {
            throw RPCError.field(.valueOutOfRange, field: "limit", "limit must be at most 500, got \(request.limit)")
        }
        let limit = request.limit == 0 ? 50 : Int(request.limit)
        var before: (Int64, String)?
        if !request.pageToken.isEmpty {
            let parts = request.pageToken.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let created = Int64(parts[0]), parts[1].hasPrefix("sch_") else {
                throw RPCError.field(.invalidPageToken, field: "page_token", "page_token is not one this gateway issued")
            }
            before = (created, String(parts[1]))
        }
        let rows = try await storeCall {
            try await self.store.schedules(accountID: request.accountID, activeOnly: request.activeOnly, before: before, limit: limit + 1)
        }
        return .with {
            $0.schedules = Array(rows.prefix(limit))
            if rows.count > limit, let last = rows.prefix(limit).last { $0.nextPageToken = "\(last.createdAtMs):\(last.scheduleID)" }
        }
    }
}


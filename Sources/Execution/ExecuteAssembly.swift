import Contracts
import ExactNumbers
import Planning
import SwiftProtobuf

public typealias ExecuteRequest = Keel_Gateway_V1_ExecuteRequest
public typealias ExecuteResponse = Keel_Gateway_V1_ExecuteResponse

/// The pure steps of `Execute` (spec/gateway.md §4.1): the gateway's own checks before planning,
/// the order lists built from the plan, the shared-account policy, and the venue checks of a submit.
public enum ExecuteAssembly {
    /// Steps 1–3 and the shadow-world part of step 5 (`submit` only), before anything is planned.
    public static func check(_ request: ExecuteRequest, allowLive: Bool, config: GatewayConfig) throws(FieldError) {
        if case .UNRECOGNIZED(let number) = request.flipPolicy {
            throw FieldError(reason: "E_UNKNOWN_ENUM", field: "flip_policy", message: "flip_policy \(number) is not a FlipPolicy")
        }
        if case .UNRECOGNIZED(let number) = request.timeInForce {
            throw FieldError(reason: "E_UNKNOWN_ENUM", field: "time_in_force", message: "time_in_force \(number) is not a TimeInForce")
        }
        guard request.hasPlanRequest else {
            throw FieldError(reason: "E_MISSING_FIELD", field: "plan_request", message: "plan_request is required")
        }
        if request.planRequest.mode == .targetWeight {
            throw FieldError(
                .failedPrecondition, reason: "E_MODE_NOT_EXECUTABLE", field: "plan_request.mode",
                message: "target-weight plans are executed by StartSchedule, not Execute")
        }
        if request.submit, config.liveGuardEnforced, !allowLive {
            throw FieldError(
                .permissionDenied, reason: "E_LIVE_GUARD", field: "x-allow-live",
                message: "live submission needs the metadata x-allow-live: true")
        }
        if request.sharedAccount, !config.sharedAccountPolicy.enabled {
            throw FieldError(
                .permissionDenied, reason: "E_SHARED_ACCOUNT_DISABLED", field: "shared_account",
                message: "shared-account execution is disabled by the gateway's shared_account_policy")
        }
    }

    /// Step 5's shadow check: the first world (first appearance in the positions) configured as shadow.
    public static func checkShadowWorlds(_ request: ExecuteRequest, config: GatewayConfig) throws(FieldError) {
        var seen = Set<String>()
        for (i, position) in request.planRequest.positions.enumerated() where seen.insert(position.worldID).inserted {
            if config.worlds[position.worldID]?.isShadow == true {
                throw FieldError(
                    .failedPrecondition, reason: "E_SHADOW_ORDERS_BLOCKED", field: "plan_request.positions[\(i)].world_id",
                    message: "world \(position.worldID) is a shadow world: its orders may not be submitted",
                    metadata: ["world_id": position.worldID])
            }
        }
    }

    /// Steps 7–9: the order lists of the response (ids left empty) and the policy context.
    /// A policy rejection throws `E_SHARED_ACCOUNT_POLICY` with the context in the metadata.
    public static func assemble(plan: PlanMessage, request: ExecuteRequest, config: GatewayConfig) throws(FieldError) -> ExecuteResponse {
        let planRequest = request.planRequest
        var rows: [PositionRow] = []
        rows.reserveCapacity(planRequest.positions.count)
        for position in planRequest.positions {
            rows.append(PositionRow(
                worldID: position.worldID, strategyID: position.strategyID, venue: position.venue, symbol: position.symbol,
                quantity: DecimalGrammar.parse(position.qty) ?? .zero, mark: DecimalGrammar.parse(position.mark) ?? .zero))
        }
        var options = OrderOptions()
        options.lotSizeBySymbol = planRequest.lotSizeBySymbol.compactMapValues { DecimalGrammar.parse($0) }
        options.minTradeNotional = DecimalGrammar.parse(planRequest.minTradeNotional) ?? .zero
        options.flipPolicy = request.flipPolicy == .directFlip ? .directFlip : .flattenThenOpen
        options.timeInForce = TimeInForce(request.timeInForce)
        options.disableReduceOnly = request.disableReduceOnly
        options.overlayPrices = planRequest.overlay.priceBySymbol.compactMapValues { DecimalGrammar.parse($0) }
        let index = ExposureIndex(rows)
        let builder = OrderBuilder(config: config, options: options, index: index)

        var response = ExecuteResponse()
        response.overlayDeltas = plan.overlayDeltas
        response.executionScope = request.sharedAccount ? .global : (request.perStrategy ? .perStrategy : .perWorld)

        // §3.4 per-world orders: each world's deltas, then its overlay deltas.
        var violations: [OrderViolation] = []
        for world in plan.perWorld {
            var result = OrderBuilder.Result()
            for delta in world.deltas {
                builder.build(quantity(delta.deltaQty), at: SymbolKey(venue: delta.venue, symbol: delta.symbol), scope: .world(world.worldID), into: &result)
            }
            for overlay in plan.overlayDeltas where overlay.worldID == world.worldID {
                builder.build(quantity(overlay.deltaQty), at: SymbolKey(venue: "", symbol: overlay.symbol), scope: .world(world.worldID), into: &result)
            }
            response.ordersPerWorld.append(.with {
                $0.worldID = world.worldID
                $0.orders = result.orders
            })
            violations += result.violations
        }

        if request.sharedAccount {
            // §3.5 global orders: global deltas, then overlay legs netted per instrument.
            var entries: [(key: SymbolKey, quantity: ExactDecimal)] = plan.globalDeltas.map {
                (SymbolKey(venue: $0.venue, symbol: $0.symbol), quantity($0.deltaQty))
            }
            for overlay in plan.overlayDeltas {
                let key = SymbolKey(venue: "", symbol: overlay.symbol)
                if let i = entries.firstIndex(where: { $0.key == key }) {
                    entries[i].quantity += quantity(overlay.deltaQty)
                } else {
                    entries.append((key, quantity(overlay.deltaQty)))
                }
            }
            var result = OrderBuilder.Result()
            for entry in entries where !entry.quantity.isZero {
                builder.build(entry.quantity, at: entry.key, scope: .global, into: &result)
            }
            response.ordersGlobal = result.orders
            violations += result.violations

            // §3.7 the policy on the global orders, marks from all rows.
            var current = Rational.zero
            for row in rows { current += (row.quantity * row.mark).rational }
            let legs = result.orders.map { order in
                SharedAccountPolicyCheck.Leg(
                    key: SymbolKey(venue: order.venue, symbol: order.symbol), isBuy: order.side == .buy,
                    quantity: DecimalGrammar.parse(order.quantity) ?? .zero,
                    mark: DecimalGrammar.parse(order.referenceMark)?.rational)
            }
            let context = SharedAccountPolicyCheck.evaluate(
                policy: config.sharedAccountPolicy, orders: legs,
                totalEquity: DecimalGrammar.parse(planRequest.totalEquity) ?? .zero, current: current)
            if !context.allowed {
                throw FieldError(
                    .failedPrecondition, reason: "E_SHARED_ACCOUNT_POLICY", field: "shared_account", message: context.message,
                    metadata: policyMetadata(context))
            }
            response.sharedAccountContext = context
        } else if request.perStrategy {
            // §3.6 per-strategy orders: each world's deltas split by key, then its overlay orders.
            for world in plan.perWorld {
                var result = OrderBuilder.Result()
                let weights = (planRequest.strategyAllocAfterTotal[world.worldID]?.byStrategy ?? [:]).compactMapValues { DecimalGrammar.parse($0) }
                for delta in world.deltas {
                    let key = SymbolKey(venue: delta.venue, symbol: delta.symbol)
                    let (parts, violation) = StrategySplit.split(
                        quantity(delta.deltaQty), at: key, world: world.worldID, index: index,
                        lot: builder.lot(venue: key.venue, symbol: key.symbol).lot, fallbackWeights: weights)
                    if let violation { result.violations.append(violation) }
                    for part in parts where !part.quantity.isZero {
                        builder.build(part.quantity, at: key, scope: .strategy(world: world.worldID, strategy: part.strategyID), into: &result)
                    }
                }
                for overlay in plan.overlayDeltas where overlay.worldID == world.worldID {
                    builder.build(quantity(overlay.deltaQty), at: SymbolKey(venue: "", symbol: overlay.symbol), scope: .world(world.worldID), into: &result)
                }
                response.ordersPerStrategy += result.orders
                violations += result.violations
            }
        }
        response.violations = violations
        return response
    }

    /// Step 11 (submit): every order of the dispatched scope against its venue's policy.
    public static func checkVenues(_ response: ExecuteResponse, config: GatewayConfig) throws(FieldError) {
        let dispatched: [Order] = switch response.executionScope {
        case .global: response.ordersGlobal
        case .perStrategy: response.ordersPerStrategy
        default: response.ordersPerWorld.flatMap(\.orders)
        }
        for order in dispatched {
            let metadata = ["venue": order.venue, "world_id": order.worldID]
            guard let policy = config.policy(for: order.venue) else {
                if config.strictVenues {
                    throw FieldError(
                        .failedPrecondition, reason: "E_VENUE_POLICY_MISSING", field: "venue",
                        message: "no venue policy for \"\(order.venue)\" and strict_venues is set", metadata: metadata)
                }
                continue
            }
            if !policy.enabled {
                throw FieldError(
                    .failedPrecondition, reason: "E_VENUE_DISABLED", field: "venue",
                    message: "venue \"\(order.venue)\" is disabled in the gateway config", metadata: metadata)
            }
        }
    }

    static func quantity(_ text: String) -> ExactDecimal { DecimalGrammar.parse(text) ?? .zero }

    /// `E_SHARED_ACCOUNT_POLICY` metadata: the short violation, the message, each context number,
    /// and the missing marks as `venue/symbol` joined by `,` (amendment 12).
    static func policyMetadata(_ context: SharedAccountContext) -> [String: String] {
        let short: String = switch context.violation {
        case .missingMarks: "MISSING_MARKS"
        case .grossNotional: "GROSS_NOTIONAL"
        case .netNotional: "NET_NOTIONAL"
        case .equityRequired: "EQUITY_REQUIRED"
        case .marginHeadroom: "MARGIN_HEADROOM"
        default: ""
        }
        return [
            "violation": short, "message": context.message, "total_equity": context.totalEquity,
            "current_net_notional": context.currentNetNotional, "gross_notional": context.grossNotional,
            "net_notional_delta": context.netNotionalDelta, "net_notional": context.netNotional,
            "margin_headroom": context.marginHeadroom,
            "missing_marks": context.missingMarks.map { "\($0.venue)/\($0.symbol)" }.joined(separator: ","),
        ]
    }
}

extension TimeInForce {
    /// The request's enum; UNSPECIFIED (and anything unknown, rejected earlier) = GTC.
    public init(_ proto: Keel_Gateway_V1_TimeInForce) {
        self = switch proto {
        case .ioc: .ioc
        case .fok: .fok
        case .gtx: .gtx
        case .day: .day
        default: .gtc
        }
    }
}

/// The digest of an `ExecuteRequest` for idempotency (amendment 6): the plan request normalised as
/// the planner does, `flip_policy` and `time_in_force` defaults filled, `account_id ""` = `default`.
public enum ExecuteRequestDigest {
    public static func digest(_ request: ExecuteRequest) -> String {
        var r = request
        r.planRequest = PlanRequestDigest.normalized(r.planRequest)
        if r.flipPolicy == .unspecified { r.flipPolicy = .flattenThenOpen }
        if r.timeInForce == .unspecified { r.timeInForce = .gtc }
        if r.accountID.isEmpty { r.accountID = "default" }
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        return SHA256.hex((try? r.serializedBytes(options: options)) ?? [UInt8]())
    }
}

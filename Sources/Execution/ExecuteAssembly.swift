import Contracts
import ExactNumbers
import Planning
import SwiftProtobuf

public typealias ExecuteRequest = Keel_Gateway_V1_ExecuteRequest
public typealias ExecuteResponse = Keel_Gateway_V1_ExecuteResponse

/// The pure steps of `Execute` (docs/architecture.md#execute-pipeline): the gateway's own checks
/// before planning, the order lists built from the plan, the shared-account policy, and the venue
/// checks of a submit.
public enum ExecuteAssembly {
    /// The request's own fields, the live guard (submit) and the shared-account switch, before planning.
    public static func check(_ request: ExecuteRequest, allowLive: Bool, config: GatewayConfig) throws(FieldError) {
        if case .UNRECOGNIZED(let number) = request.flipPolicy {
            throw FieldError(.unknownEnum, field: "flip_policy", message: "flip_policy \(number) is not a FlipPolicy")
        }
        if case .UNRECOGNIZED(let number) = request.timeInForce {
            throw FieldError(.unknownEnum, field: "time_in_force", message: "time_in_force \(number) is not a TimeInForce")
        }
        guard request.hasPlanRequest else {
            throw FieldError(.missingField, field: "plan_request", message: "plan_request is required")
        }
        if request.planRequest.mode == .targetWeight {
            throw FieldError(
                .modeNotExecutable, field: "plan_request.mode",
                message: "target-weight plans are executed by StartSchedule, not Execute")
        }
        if request.submit, config.liveGuardEnforced, !allowLive {
            throw FieldError(
                .liveGuard, field: "x-allow-live",
                message: "live submission needs the metadata x-allow-live: true")
        }
        if request.sharedAccount, !config.sharedAccountPolicy.enabled {
            throw FieldError(
                .sharedAccountDisabled, field: "shared_account",
                message: "shared-account execution is disabled by the gateway's shared_account_policy")
        }
    }

    /// The shadow check: the first world (first appearance in the positions) configured as shadow.
    public static func checkShadowWorlds(_ request: ExecuteRequest, config: GatewayConfig) throws(FieldError) {
        var seen = Set<String>()
        for (i, position) in request.planRequest.positions.enumerated() where seen.insert(position.worldID).inserted {
            if config.worlds[position.worldID]?.isShadow == true {
                throw FieldError(
                    .shadowOrdersBlocked, field: "plan_request.positions[\(i)].world_id",
                    message: "world \(position.worldID) is a shadow world: its orders may not be submitted",
                    metadata: ["world_id": position.worldID])
            }
        }
    }

    /// The order lists of the response (ids left empty) and the policy context.
    /// A policy rejection throws `E_SHARED_ACCOUNT_POLICY` with the context in the metadata.
    public static func assemble(plan: PlanMessage, request: ExecuteRequest, config: GatewayConfig) throws(FieldError) -> ExecuteResponse {
        let planRequest = request.planRequest
        var rows: [PositionRow] = []
        rows.reserveCapacity(planRequest.positions.count)
        for (i, position) in planRequest.positions.enumerated() {
            rows.append(PositionRow(
                worldID: position.worldID, strategyID: position.strategyID, venue: position.venue, symbol: position.symbol,
                quantity: try DecimalText.parseExact(position.qty, field: "plan_request.positions[\(i)].qty"),
                mark: try DecimalText.parseExact(position.mark, field: "plan_request.positions[\(i)].mark")))
        }
        var options = OrderOptions()
        options.lotSizeBySymbol = try decimals(planRequest.lotSizeBySymbol, field: "plan_request.lot_size_by_symbol")
        options.minTradeNotional = planRequest.minTradeNotional.isEmpty
            ? .zero : try DecimalText.parseExact(planRequest.minTradeNotional, field: "plan_request.min_trade_notional")
        options.flipPolicy = request.flipPolicy == .directFlip ? .directFlip : .flattenThenOpen
        options.timeInForce = TimeInForce(request.timeInForce)
        options.disableReduceOnly = request.disableReduceOnly
        options.overlayPrices = try decimals(planRequest.overlay.priceBySymbol, field: "plan_request.overlay.price_by_symbol")
        let index = ExposureIndex(rows)
        let builder = OrderBuilder(config: config, options: options, index: index)

        var response = ExecuteResponse()
        response.overlayDeltas = plan.overlayDeltas
        response.executionScope = request.sharedAccount ? .global : (request.perStrategy ? .perStrategy : .perWorld)

        // Per-world orders: each world's deltas, then its overlay deltas.
        var violations: [OrderViolation] = []
        for world in plan.perWorld {
            var result = OrderBuilder.Result()
            for (d, delta) in world.deltas.enumerated() {
                let quantity = try planned(delta.deltaQty, field: "plan.per_world[\(world.worldID)].deltas[\(d)].delta_qty")
                builder.build(quantity, at: SymbolKey(venue: delta.venue, symbol: delta.symbol), scope: .world(world.worldID), into: &result)
            }
            try buildOverlayOrders(of: world.worldID, plan: plan, builder: builder, into: &result)
            response.ordersPerWorld.append(.with {
                $0.worldID = world.worldID
                $0.orders = result.orders
            })
            violations += result.violations
        }

        if request.sharedAccount {
            // Global orders: global deltas, then overlay legs netted per instrument.
            var entries: [(key: SymbolKey, quantity: ExactDecimal)] = []
            for (i, delta) in plan.globalDeltas.enumerated() {
                entries.append((SymbolKey(venue: delta.venue, symbol: delta.symbol), try planned(delta.deltaQty, field: "plan.global_deltas[\(i)].delta_qty")))
            }
            for (o, overlay) in plan.overlayDeltas.enumerated() {
                let key = SymbolKey(venue: "", symbol: overlay.symbol)
                let quantity = try planned(overlay.deltaQty, field: "plan.overlay_deltas[\(o)].delta_qty")
                if let i = entries.firstIndex(where: { $0.key == key }) {
                    entries[i].quantity += quantity
                } else {
                    entries.append((key, quantity))
                }
            }
            var result = OrderBuilder.Result()
            for entry in entries where !entry.quantity.isZero {
                builder.build(entry.quantity, at: entry.key, scope: .global, into: &result)
            }
            response.ordersGlobal = result.orders
            violations += result.violations

            // The shared-account policy on the global orders, marks from all rows.
            var current = Rational.zero
            for row in rows { current += (row.quantity * row.mark).rational }
            var legs: [SharedAccountPolicyCheck.Leg] = []
            for (i, order) in result.orders.enumerated() {
                // An order without a reference mark ("") is the policy's missing mark.
                let mark = order.referenceMark.isEmpty ? nil : try planned(order.referenceMark, field: "orders_global[\(i)].reference_mark")
                legs.append(SharedAccountPolicyCheck.Leg(
                    key: SymbolKey(venue: order.venue, symbol: order.symbol), isBuy: order.side == .buy,
                    quantity: try planned(order.quantity, field: "orders_global[\(i)].quantity"), mark: mark?.rational))
            }
            let context = SharedAccountPolicyCheck.evaluate(
                policy: config.sharedAccountPolicy, orders: legs,
                totalEquity: try DecimalText.parseExact(planRequest.totalEquity, field: "plan_request.total_equity"), current: current)
            if !context.allowed {
                throw FieldError(
                    .sharedAccountPolicy, field: "shared_account", message: context.message,
                    metadata: policyMetadata(context))
            }
            response.sharedAccountContext = context
        } else if request.perStrategy {
            // Per-strategy orders: each world's deltas split by key, then its overlay orders.
            for world in plan.perWorld {
                var result = OrderBuilder.Result()
                let weights = try decimals(
                    planRequest.strategyAllocAfterTotal[world.worldID]?.byStrategy ?? [:],
                    field: "plan_request.strategy_alloc_after_total[\(world.worldID)].by_strategy")
                for (d, delta) in world.deltas.enumerated() {
                    let key = SymbolKey(venue: delta.venue, symbol: delta.symbol)
                    let (parts, violation) = StrategySplit.split(
                        try planned(delta.deltaQty, field: "plan.per_world[\(world.worldID)].deltas[\(d)].delta_qty"), at: key, world: world.worldID, index: index,
                        lot: builder.lot(venue: key.venue, symbol: key.symbol).lot, fallbackWeights: weights)
                    if let violation { result.violations.append(violation) }
                    for part in parts where !part.quantity.isZero {
                        builder.build(part.quantity, at: key, scope: .strategy(world: world.worldID, strategy: part.strategyID), into: &result)
                    }
                }
                try buildOverlayOrders(of: world.worldID, plan: plan, builder: builder, into: &result)
                response.ordersPerStrategy += result.orders
                violations += result.violations
            }
        }
        response.violations = violations
        return response
    }

    /// Submit only: every order of the dispatched scope against its venue's policy.
    public static func checkVenues(_ response: ExecuteResponse, config: GatewayConfig) throws(FieldError) {
        let dispatched: [VenueOrder] = switch response.executionScope {
        case .global: response.ordersGlobal
        case .perStrategy: response.ordersPerStrategy
        default: response.ordersPerWorld.flatMap(\.orders)
        }
        for order in dispatched {
            let metadata = ["venue": order.venue, "world_id": order.worldID]
            guard let policy = config.policy(for: order.venue) else {
                if config.strictVenues {
                    throw FieldError(
                        .venuePolicyMissing, field: "venue",
                        message: "no venue policy for \"\(order.venue)\" and strict_venues is set", metadata: metadata)
                }
                continue
            }
            if !policy.enabled {
                throw FieldError(
                    .venueDisabled, field: "venue",
                    message: "venue \"\(order.venue)\" is disabled in the gateway config", metadata: metadata)
            }
        }
    }

    /// The world's overlay legs, after its deltas.
    static func buildOverlayOrders(of worldID: String, plan: PlanMessage, builder: OrderBuilder, into result: inout OrderBuilder.Result) throws(FieldError) {
        for (o, overlay) in plan.overlayDeltas.enumerated() where overlay.worldID == worldID {
            let quantity = try planned(overlay.deltaQty, field: "plan.overlay_deltas[\(o)].delta_qty")
            builder.build(quantity, at: SymbolKey(venue: "", symbol: overlay.symbol), scope: .world(worldID), into: &result)
        }
    }

    /// A decimal of the planner's plan (or of orders built from it): the planner writes only
    /// readable decimals, so one that is not is the planner's fault, INTERNAL, and never a zero.
    static func planned(_ text: String, field: String) throws(FieldError) -> ExactDecimal {
        guard let value = DecimalGrammar.parse(text) else {
            throw FieldError(.unreadablePlanDecimal, field: field,
                             message: "the plan holds \"\(text)\" at \(field), which is not a decimal Keel reads")
        }
        return value
    }

    /// A map of request decimals (lot sizes, prices, weights), each parsed or rejected naming its key.
    static func decimals(_ map: [String: String], field: String) throws(FieldError) -> [String: ExactDecimal] {
        var out: [String: ExactDecimal] = [:]
        // In key byte order, so that of two bad entries the same one is always named.
        for key in FieldPath.sortedKeys(map) { out[key] = try DecimalText.parseExact(map[key]!, field: FieldPath.key(field, key)) }
        return out
    }

    /// `E_SHARED_ACCOUNT_POLICY` metadata: the short violation, the message, each context number,
    /// and the missing marks as `venue/symbol` joined by `,`.
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

/// The digest of an `ExecuteRequest` for idempotency: the plan request normalised as
/// the planner does, `flip_policy` and `time_in_force` defaults filled, `account_id ""` = `default`.
public enum ExecuteRequestDigest {
    public static func digest(_ request: ExecuteRequest) throws(FieldError) -> String {
        var r = request
        r.planRequest = PlanRequestDigest.normalized(r.planRequest)
        if r.flipPolicy == .unspecified { r.flipPolicy = .flattenThenOpen }
        if r.timeInForce == .unspecified { r.timeInForce = .gtc }
        if r.accountID.isEmpty { r.accountID = "default" }
        return SHA256.hex(try DeterministicEncoding.bytes(r))
    }
}

import CapitalAllocation
import Contracts
import ExactNumbers
import Foundation
import KeelTestSupport
import Testing

/// The capital cases of the capital-twap.json fixture through the pure CapitalAllocation module.
@Suite struct CapitalCaseTests {
    static let file = "capital-twap"

    static func d(_ value: Any?) -> ExactDecimal? { (value as? String).flatMap(DecimalGrammar.parse) }

    static func ms(_ value: Any?) -> Int64 {
        let formatter = ISO8601DateFormatter()
        return Int64(formatter.date(from: value as! String)!.timeIntervalSince1970 * 1000)
    }

    static func expectError(_ error: FieldError, _ expected: [String: Any], _ name: String) {
        #expect(error.code.name == expected["code"] as? String, "\(name): \(error)")
        #expect(error.reason == expected["reason"] as? String, "\(name): \(error)")
        #expect(error.field == expected["field"] as? String, "\(name): \(error)")
    }

    static func check(_ name: String, expected: Any, actual: [String: Any]) {
        let differences = Cases.differences(expected: expected, actual: actual)
        #expect(differences.isEmpty, "\(name):\n\(differences.joined(separator: "\n"))")
    }

    @Test(arguments: try Cases.named(file, kind: "allocate"))
    func allocateCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let expected = c["expected"] as! [String: Any]
        let weights = (input["weights"] as! [String]).map { DecimalGrammar.parse($0)! }
        let old = (input["old_capitals"] as? [String])?.map { DecimalGrammar.parse($0)! }
        do {
            let result = try CapitalAllocator.allocate(total: Self.d(input["total_capital"])!, weights: weights, oldCapitals: old, currencyScale: input["currency_scale"] as! Int)
            var actual: [String: Any] = [
                "allocations": result.lines.map { ["weight": $0.weight.description, "allocated_capital": $0.allocatedCapital.description, "old_capital": $0.oldCapital.description, "change": $0.change.description] },
                "unallocated": result.unallocated.description, "total_weight": result.totalWeight.description,
            ]
            if result.noActiveStrategies { actual["note"] = "REALLOCATE_NOTE_NO_ACTIVE_STRATEGIES" }
            #expect(expected["error"] == nil, "\(name): expected an error")
            Self.check(name, expected: expected, actual: actual)
        } catch {
            Self.expectError(error, expected["error"] as! [String: Any], name)
        }
    }

    @Test(arguments: try Cases.named(file, kind: "resolve_total_capital"))
    func resolveTotalCapitalCase(name: String) async throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let expected = c["expected"] as! [String: Any]
        let live = input["live"] as! [String: Any]
        var calls = 0
        do {
            let resolved = try await TotalCapital.resolve(
                useLive: input["use_live"] as! Bool, quoteCurrency: input["quote_currency"] as! String, dbBalance: Self.d(input["db_ending_balance"])) {
                calls += 1
                return live["ok"] as? Bool == true
                    ? .init(equity: Self.d(live["equity"]), currency: live["currency"] as? String ?? "")
                    : .init(equity: nil, error: "gateway unavailable")
            }
            let source: String = switch resolved.source {
            case .db: "BALANCE_SOURCE_DB"
            case .live: "BALANCE_SOURCE_LIVE"
            case .dbFallback: "BALANCE_SOURCE_DB_FALLBACK"
            case .liveFallback: "BALANCE_SOURCE_LIVE_FALLBACK"
            }
            Self.check(name, expected: expected, actual: ["total_capital": resolved.total.description, "source": source])
        } catch {
            Self.expectError(error, expected["error"] as! [String: Any], name)
        }
        #expect(calls <= 1, "\(name): at most one live call")
    }

    @Test(arguments: try Cases.named(file, kind: "order_quantity"))
    func orderQuantityCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let expected = c["expected"] as! [String: Any]
        let rulesObject = input["symbol_rules"] as? [String: Any] ?? [:]
        var rules = OrderQuantity.SymbolRules()
        rules.minQty = Self.d(rulesObject["min_qty"]) ?? .zero
        rules.maxQty = Self.d(rulesObject["max_qty"]) ?? .zero
        rules.stepSize = Self.d(rulesObject["step_size"]) ?? .zero
        rules.minPrice = Self.d(rulesObject["min_price"]) ?? .zero
        rules.maxPrice = Self.d(rulesObject["max_price"]) ?? .zero
        rules.tickSize = Self.d(rulesObject["tick_size"]) ?? .zero
        rules.minNotional = Self.d(rulesObject["min_notional"]) ?? .zero
        rules.amountPrecision = rulesObject["amount_precision"] as? Int
        var q = OrderQuantity.Input(qtyPer: Self.d(input["qty_per"])!, rules: rules)
        q.orderType = switch input["order_type"] as? String {
        case "ORDER_TYPE_LIMIT": .limit
        case "ORDER_TYPE_STOP_MARKET": .stopMarket
        case "ORDER_TYPE_STOP_LIMIT": .stopLimit
        case "ORDER_TYPE_CONDITIONAL_LIMIT": .conditionalLimit
        case "ORDER_TYPE_PRE_MARKET": .preMarket
        case "ORDER_TYPE_AFTER_MARKET": .afterMarket
        default: .market
        }
        q.price = Self.d(input["price"])
        q.stopPrice = Self.d(input["stop_price"])
        q.marketPrice = Self.d(input["market_price"])
        q.side = switch input["side"] as? String { case "ORDER_SIDE_BUY": .buy; case "ORDER_SIDE_SELL": .sell; default: nil }
        q.positionQty = Self.d(input["position_qty"])
        q.allocatedCapital = Self.d(input["allocated_capital"])
        q.leverage = Self.d(input["leverage"]) ?? .one
        q.isFutures = input["market_type"] as? String == "MARKET_TYPE_FUTURES"
        if input.keys.contains("max_qty_per") { q.maxQtyPer = Self.d(input["max_qty_per"]) }
        if input["market_order_price_source"] as? String == "REQUEST_PRICE_IF_PRESENT" || input["market_order_price_source"] as? String == "MARKET_ORDER_PRICE_SOURCE_REQUEST_PRICE_IF_PRESENT" {
            q.priceSource = .requestPriceIfPresent
        }
        do {
            let result = try OrderQuantity.calculate(q)
            var actual: [String: Any] = ["quantity": result.quantity.description]
            if let price = result.priceUsed { actual["price_used"] = price.description }
            if let skip = result.skip {
                actual["skip_reason"] = switch skip {
                case .zeroQtyPer: "QUANTITY_SKIP_REASON_ZERO_QTY_PER"
                case .belowMinQuantity: "QUANTITY_SKIP_REASON_BELOW_MIN_QUANTITY"
                case .aboveMaxQuantity: "QUANTITY_SKIP_REASON_ABOVE_MAX_QUANTITY"
                case .belowMinNotional: "QUANTITY_SKIP_REASON_BELOW_MIN_NOTIONAL"
                case .roundedToZero: "QUANTITY_SKIP_REASON_ROUNDED_TO_ZERO"
                case .nonPositiveCapital: "QUANTITY_SKIP_REASON_NON_POSITIVE_CAPITAL"
                }
            }
            if result.closePercentClamped { actual["warnings"] = ["CAPITAL_WARNING_CLOSE_PERCENT_CLAMPED"] }
            #expect(expected["error"] == nil, "\(name): expected \(expected)")
            Self.check(name, expected: expected, actual: actual)
        } catch {
            Self.expectError(error, expected["error"] as! [String: Any], name)
        }
    }

    @Test(arguments: try Cases.named(file, kind: "apply_realized_pnl"))
    func applyRealizedPnlCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let executions = (input["executions"] as! [[String: Any]]).map {
            PnlCompounding.Execution(executionID: $0["execution_id"] as! String, realizedPnl: Self.d($0["realized_pnl"]))
        }
        let result = PnlCompounding.apply(
            capital: Self.d(input["allocated_capital"])!, executions: executions,
            alreadyApplied: Set(input["applied_execution_ids"] as? [String] ?? []))
        var actual: [String: Any] = [
            "old_capital": result.oldCapital.description, "allocated_capital": result.allocatedCapital.description,
            "applied_pnl": result.appliedPnl.description, "applied_execution_ids": result.appliedExecutionIDs,
        ]
        if result.negativeCapital { actual["warnings"] = ["CAPITAL_WARNING_NEGATIVE_CAPITAL"] }
        Self.check(name, expected: c["expected"]!, actual: actual)
    }

    @Test(arguments: try Cases.named(file, kind: "apply_realized_pnl_sequence"))
    func applyRealizedPnlSequenceCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        var capital = Self.d(input["allocated_capital"])!
        var applied = Set<String>()
        var stored: [PnlCompounding.Execution] = []
        var after: [String] = []
        for execution in input["executions_in_order"] as! [[String: Any]] {
            stored.append(.init(executionID: execution["execution_id"] as! String, realizedPnl: Self.d(execution["realized_pnl"])))
            let result = PnlCompounding.apply(capital: capital, executions: stored, alreadyApplied: applied)
            capital = result.allocatedCapital
            applied.formUnion(result.appliedExecutionIDs)
            after.append(capital.description)
        }
        Self.check(name, expected: c["expected"]!, actual: ["capital_after_each": after])
    }

    @Test(arguments: try Cases.named(file, kind: "has_open_positions"))
    func hasOpenPositionsCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let quantities = ((c["input"] as! [String: Any])["position_qtys"] as! [String]).map { DecimalGrammar.parse($0)! }
        Self.check(name, expected: c["expected"]!, actual: ["has_open_positions": OpenPositions.any(quantities)])
    }

    @Test(arguments: try Cases.named(file, kind: "should_rebalance"))
    func shouldRebalanceCase(name: String) throws {
        let c = try Cases.case(Self.file, name)
        let input = c["input"] as! [String: Any]
        let policy: RebalanceDecision.Policy = switch input["policy"] as? String {
        case "REBALANCE_POLICY_THRESHOLD": .threshold
        case "REBALANCE_POLICY_INTERVAL_AND_THRESHOLD": .intervalAndThreshold
        default: .interval
        }
        let last = (input["last_rebalance_at"] as? [String] ?? []).map { Self.ms($0) }
        var decision = RebalanceDecision.Input(
            policy: policy, hasOpenPositions: input["has_open_positions"] as? Bool,
            hasCapitalRows: input["has_capital_rows"] as? Bool ?? !last.isEmpty, lastRebalanceAtMs: last)
        if input["now"] is String { decision.nowMs = Self.ms(input["now"]) }
        if let hours = Self.d(input["min_interval_hours"]) { decision.minIntervalHours = hours }
        decision.currentTotal = Self.d(input["current_total"])
        decision.previousTotal = Self.d(input["previous_total"])
        if let value = Self.d(input["min_abs_change"]) { decision.minAbsChange = value }
        if let value = Self.d(input["min_rel_change"]) { decision.minRelChange = value }
        let result = RebalanceDecision.decide(decision)
        let reason: String = switch result.reason {
        case .openPositions: "OPEN_POSITIONS"
        case .firstAllocation: "FIRST_ALLOCATION"
        case .noRebalanceHistory: "NO_REBALANCE_HISTORY"
        case .minIntervalNotElapsed: "MIN_INTERVAL_NOT_ELAPSED"
        case .conditionsMet: "CONDITIONS_MET"
        case .checkFailed: "CHECK_FAILED"
        case .balanceUnavailable: "BALANCE_UNAVAILABLE"
        case .nonPositiveBalance: "NON_POSITIVE_BALANCE"
        case .absChangeTooSmall: "ABS_CHANGE_TOO_SMALL"
        case .relChangeTooSmall: "REL_CHANGE_TOO_SMALL"
        case .balanceChanged: "BALANCE_CHANGED"
        case .previousNonPositive: "PREVIOUS_NON_POSITIVE"
        }
        var actual: [String: Any] = ["should_rebalance": result.shouldRebalance, "reason": "REBALANCE_REASON_" + reason]
        if let hours = result.hoursSinceLast { actual["time_since_last_hours"] = hours.outputString }
        Self.check(name, expected: c["expected"]!, actual: actual)
    }
}

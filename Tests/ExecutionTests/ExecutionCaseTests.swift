import Contracts
import ExactNumbers
import Execution
import Foundation
import KeelTestSupport
import Planning
import Testing

/// The pure order-building cases of the planner-gateway.json fixture.
@Suite struct ExecutionCaseTests {
    static let file = "planner-gateway"

    static func decimal(_ value: Any?) -> ExactDecimal {
        DecimalGrammar.parse(value as? String ?? "0")!
    }

    static func rows(_ value: Any?) -> [PositionRow] {
        ((value as? [[String: Any]]) ?? []).map { row in
            PositionRow(
                worldID: row["world_id"] as? String ?? "", strategyID: row["strategy_id"] as? String ?? "",
                venue: row["venue"] as? String ?? "", symbol: row["symbol"] as? String ?? "",
                quantity: decimal(row["qty"]), mark: decimal(row["mark"]))
        }
    }

    static func options(_ value: Any?) -> OrderOptions {
        let object = value as? [String: Any] ?? [:]
        var options = OrderOptions()
        for (symbol, lot) in object["lot_size_by_symbol"] as? [String: String] ?? [:] { options.lotSizeBySymbol[symbol] = DecimalGrammar.parse(lot)! }
        if let minimum = object["min_trade_notional"] as? String { options.minTradeNotional = DecimalGrammar.parse(minimum)! }
        if object["flip_policy"] as? String == "FLIP_POLICY_DIRECT_FLIP" { options.flipPolicy = .directFlip }
        if let tif = object["time_in_force"] as? String, let parsed = TimeInForce(rawValue: String(tif.dropFirst("TIME_IN_FORCE_".count))) {
            options.timeInForce = parsed
        }
        options.disableReduceOnly = object["disable_reduce_only"] as? Bool ?? false
        return options
    }

    @Test(arguments: try Cases.named(file, kind: "build_orders"))
    func buildOrdersCase(name: String) throws {
        let testCase = try Cases.case(Self.file, name)
        let input = testCase["input"] as! [String: Any]
        let config = try GatewayConfig.parse(object: input["gateway_config"] ?? [String: Any]())
        let builder = OrderBuilder(config: config, options: Self.options(input["options"]), index: ExposureIndex(Self.rows(input["positions"])))
        var result = OrderBuilder.Result()
        for delta in input["deltas"] as! [[String: Any]] {
            let world = delta["world_id"] as? String ?? ""
            let strategy = delta["strategy_id"] as? String ?? ""
            let scope: OrderScope = world == "global" ? .global : (strategy.isEmpty ? .world(world) : .strategy(world: world, strategy: strategy))
            builder.build(Self.decimal(delta["delta_qty"]), at: SymbolKey(venue: delta["venue"] as? String ?? "", symbol: delta["symbol"] as! String), scope: scope, into: &result)
        }
        let expected = testCase["expected"] as! [String: Any]
        let actual: [String: Any] = [
            "orders": try result.orders.map { try Cases.json($0) },
            "violations": try result.violations.map { try Cases.json($0) },
        ]
        let differences = Cases.differences(expected: expected, actual: actual)
        #expect(differences.isEmpty, "\(name):\n\(differences.joined(separator: "\n"))")
    }

    @Test(arguments: try Cases.named(file, kind: "strategy_split"))
    func strategySplitCase(name: String) throws {
        let testCase = try Cases.case(Self.file, name)
        let input = testCase["input"] as! [String: Any]
        let world = input["world_id"] as! String
        let index = ExposureIndex(Self.rows(input["positions"]))
        let weights = (input["fallback_weights"] as? [String: String] ?? [:]).mapValues { DecimalGrammar.parse($0)! }
        var deltas: [[String: Any]] = []
        var violations: [[String: Any]] = []
        for delta in input["deltas"] as! [[String: Any]] {
            let key = SymbolKey(venue: delta["venue"] as? String ?? "", symbol: delta["symbol"] as! String)
            let (parts, violation) = StrategySplit.split(Self.decimal(delta["delta_qty"]), at: key, world: world, index: index, lot: nil, fallbackWeights: weights)
            for part in parts {
                deltas.append(["world_id": world, "strategy_id": part.strategyID, "venue": key.venue, "symbol": key.symbol, "delta_qty": part.quantity.description])
            }
            if let violation { violations.append(try Cases.json(violation) as! [String: Any]) }
        }
        let differences = Cases.differences(expected: testCase["expected"]!, actual: ["execution_deltas": deltas, "violations": violations])
        #expect(differences.isEmpty, "\(name):\n\(differences.joined(separator: "\n"))")
    }

    @Test(arguments: try Cases.named(file, kind: "shared_account_policy"))
    func sharedAccountPolicyCase(name: String) throws {
        let testCase = try Cases.case(Self.file, name)
        let input = testCase["input"] as! [String: Any]
        let config = try GatewayConfig.parse(object: ["shared_account_policy": input["policy"]!])
        var marks: [SymbolKey: Rational] = [:]
        for entry in input["marks"] as! [[String: Any]] {
            marks[SymbolKey(venue: entry["venue"] as! String, symbol: entry["symbol"] as! String)] = Self.decimal(entry["mark"]).rational
        }
        let legs = (input["orders"] as! [[String: Any]]).map { order in
            SharedAccountPolicyCheck.Leg(
                key: SymbolKey(venue: order["venue"] as! String, symbol: order["symbol"] as! String),
                isBuy: order["side"] as? String == "ORDER_SIDE_BUY", quantity: Self.decimal(order["quantity"]),
                mark: marks[SymbolKey(venue: order["venue"] as! String, symbol: order["symbol"] as! String)])
        }
        let context = SharedAccountPolicyCheck.evaluate(
            policy: config.sharedAccountPolicy, orders: legs,
            totalEquity: Self.decimal(input["total_equity"]), current: Self.decimal(input["current_net_notional"]).rational)
        let differences = Cases.differences(expected: testCase["expected"]!, actual: try Cases.json(context))
        #expect(differences.isEmpty, "\(name):\n\(differences.joined(separator: "\n"))")
    }
}

@Suite struct GatewayConfigTests {
    static func parse(_ json: String) throws(GatewayConfig.Invalid) -> GatewayConfig {
        try GatewayConfig.parse(json: Data(json.utf8))
    }

    @Test func defaultsAndTheSpecExampleParse() throws {
        let empty = try Self.parse("{}")
        #expect(empty.liveGuardEnforced && !empty.sharedAccountPolicy.enabled && !empty.strictVenues)
        #expect(empty.paperBroker.accounts["default"]?.currency == "USDT")
        let example = try Self.parse("""
            {"live_guard": {"enforce": true},
             "shared_account_policy": {"enabled": false, "max_gross_notional": "500000", "max_net_notional": "250000", "min_margin_headroom": "0.1"},
             "strict_venues": false,
             "venues": {"binance": {"enabled": true, "supports_reduce_only": true, "reduce_only_requires_ioc": false,
                                    "default_time_in_force": "GTC", "lot_size": null, "tick_size": null, "min_notional": "5", "pacing_interval_ms": 10000,
                                    "instruments": {"BTCUSDT": {"lot_size": "0.001", "tick_size": "0.1", "min_notional": "5", "aliases": ["btc/usdt", "XBTUSDT"]}}},
                        "*": {"supports_reduce_only": true}},
             "worlds": {"w-shadow": {"mode": "shadow", "execution_domain": "shadow"}, "w1": {"mode": "paper"}},
             "paper_broker": {"latency_ms": 0, "partial_fill_ratio": "0", "reject_ratio": "0", "slippage_bps": "0",
                              "accounts": {"default": {"currency": "USDT", "cash": "1000000"}}}}
            """)
        #expect(example.policy(for: "BINANCE")?.instrument(for: "xbtusdt")?.key == "BTCUSDT")
        #expect(example.policy(for: "okx")?.name == "*")
        #expect(example.policy(for: "")?.name == "*")
        #expect(example.worlds["w-shadow"]?.isShadow == true)
        #expect(example.paperBroker.accounts["default"]?.cash == ExactDecimal(1_000_000))
    }

    @Test func theShippedExampleConfigParses() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/gateway.example.json")
        let config = try GatewayConfig.parse(json: Data(contentsOf: url))
        #expect(config.sharedAccountPolicy.enabled)
        #expect(config.policy(for: "binance")?.instrument(for: "btc/usdt")?.key == "BTCUSDT")
        #expect(config.exitPolicy.mode == .off)
        #expect(config.exitPolicy.positions == .attributed)
        let approval = try GatewayConfig.parse(json: Data(#"{"exit_policy": {"mode": "approval", "positions": "account", "account_id": "book"}}"#.utf8))
        #expect(approval.exitPolicy.mode == .approval && approval.exitPolicy.positions == .account && approval.exitPolicy.accountID == "book")
    }

    @Test(arguments: [
        (#"{"venues": {"x": {"lot_size": "-1"}}}"#, "venues.x.lot_size"),
        (#"{"venues": {"x": {"min_notional": "1e3"}}}"#, "venues.x.min_notional"),
        (#"{"venues": {"x": {"default_time_in_force": "GTD"}}}"#, "venues.x.default_time_in_force"),
        (#"{"venues": {"Binance": {}, "binance": {}}}"#, "venues.binance"),
        (#"{"venues": {"x": {"instruments": {"BTC": {"aliases": ["btc"]}}}}}"#, "venues.x.instruments.BTC"),
        (#"{"live_guard": {"enforce": "yes"}}"#, "live_guard.enforce"),
        (#"{"exit_policy": {"mode": "sometimes"}}"#, "exit_policy.mode"),
        (#"{"exit_policy": {"positions": "ledger"}}"#, "exit_policy.positions"),
        (#"{"exit_policy": {"account_id": ""}}"#, "exit_policy.account_id"),
        (#"{"shared_account_policy": {"max_gross_notional": 5}}"#, "shared_account_policy.max_gross_notional"),
        // A misspelt key is refused at every level, not silently ignored.
        (#"{"venus": {"binance": {}}}"#, "venus"),
        (#"{"risk_limts": {}}"#, "risk_limts"),
        (#"{"live_guard": {"enforced": false}}"#, "live_guard.enforced"),
        (#"{"shared_account_policy": {"max_gross": "1"}}"#, "shared_account_policy.max_gross"),
        (#"{"venues": {"x": {"lotsize": "1"}}}"#, "venues.x.lotsize"),
        (#"{"venues": {"x": {"instruments": {"BTC": {"tick": "1"}}}}}"#, "venues.x.instruments.BTC.tick"),
        (#"{"worlds": {"w1": {"mdoe": "shadow"}}}"#, "worlds.w1.mdoe"),
        (#"{"paper_broker": {"slippage": "1"}}"#, "paper_broker.slippage"),
        (#"{"paper_broker": {"accounts": {"a": {"cahs": "1"}}}}"#, "paper_broker.accounts.a.cahs"),
        (#"[1]"#, "$"),
        (#"{"#, "$"),
    ])
    func badConfigurationsNameTheirPath(json: String, path: String) {
        do {
            _ = try Self.parse(json)
            Issue.record("expected a config error at \(path)")
        } catch {
            #expect(error.path == path, "\(error)")
        }
    }
}

import Contracts
import ExactNumbers
import Planning
import Testing

/// The exit engine's measures on examples worked by hand (the arithmetic is in each test), and
/// the signals and errors they lead to.
@Suite struct RiskRulesTests {
    static func rule(_ id: String, _ measure: Keel_Planner_V1_RiskMeasure, limit: String, confidence: String = "",
                     action: Keel_Planner_V1_ExitAction = .reduce, fraction: String = "0.5") -> RiskRule {
        .with {
            $0.ruleID = id
            $0.measure = measure
            $0.limit = limit
            $0.confidence = confidence
            $0.action = action
            if action == .reduce { $0.reduceFraction = fraction }
        }
    }

    /// Two assets, weights 0.6 and 0.4, daily volatilities 2 % and 3 %, correlation 0.5:
    /// Σ = [[0.0004, 0.0003], [0.0003, 0.0009]].
    static func twoAssets(_ rules: [RiskRule]) -> RiskSnapshot {
        .with {
            $0.worldID = "growth"
            $0.symbols = ["BTC", "ETH"]
            $0.weights = ["0.6", "0.4"]
            $0.covariance = [.with { $0.values = ["0.0004", "0.0003"] }, .with { $0.values = ["0.0003", "0.0009"] }]
            $0.asOfMs = 1_796_169_600_000
            $0.rules = rules
        }
    }

    static func evaluate(_ snapshots: [RiskSnapshot]) throws -> (results: [RuleResult], signals: [ExitSignal]) {
        try RiskRules.evaluate(.with { $0.snapshots = snapshots })
    }

    /// wᵀΣw = 0.36 × 0.0004 + 2 × 0.6 × 0.4 × 0.0003 + 0.16 × 0.0009 = 0.000144 × 3 = 0.000432;
    /// σ = √0.000432 = 0.0207846096908…; z₀.₉₉ = 2.32634787404…;
    /// VaR₉₉ = z σ = 0.048352232567; ES₉₉ = σ φ(z) / 0.01 = 0.0207846… × 0.0266521… / 0.01 = 0.0553954373123.
    @Test func parametricVaRAndExpectedShortfall() throws {
        let (results, signals) = try Self.evaluate([Self.twoAssets([
            Self.rule("var99", .parametricVar, limit: "0.05", confidence: "0.99"),
            Self.rule("es99", .parametricEs, limit: "0.05", confidence: "0.99", action: .exit),
        ])])
        #expect(results.map(\.value) == ["0.048352232567", "0.0553954373123"])
        #expect(results.map(\.breached) == [false, true])
        let exit = try #require(signals.first)
        #expect(signals.count == 1)
        #expect(exit.signalID == "0:es99")
        #expect(exit.action == .exit)
        #expect(exit.reduceFraction == "1")
        #expect(exit.reason == "parametric ES 99% 0.0553954373123 > limit 0.05")
        #expect(exit.metrics["variance"] == "0.000432")
        #expect(exit.metrics["sigma"] == "0.0207846096908")
        #expect(exit.metrics["z"] == "2.32634787404")
        #expect(exit.asOfMs == 1_796_169_600_000)
        #expect(RiskRules.portfolioVariance([Rational(1)], [[Rational(0)]]) == .zero)
    }

    @Test func theNormalQuantileAtTheUsualLevels() {
        // z₀.₉₅ = 1.64485362695…, z₀.₉₇₅ = 1.95996398454…, z₀.₉₉₉ = 3.09023230617…, symmetric.
        #expect(abs(RiskRules.normalQuantile(0.95) - 1.6448536269514722) < 1e-12)
        #expect(abs(RiskRules.normalQuantile(0.975) - 1.959963984540054) < 1e-12)
        #expect(abs(RiskRules.normalQuantile(0.999) - 3.090232306167813) < 1e-12)
        #expect(abs(RiskRules.normalQuantile(0.01) + RiskRules.normalQuantile(0.99)) < 1e-12)
    }

    /// One asset, ten daily returns −5, 1, −2, 3, −1, 2, −3, 0, 1, −4 (%), c = 0.8:
    /// k = ceil(10 × 0.2) = 2, the second worst return is −4 % → VaR = 0.04. With c = 0.95,
    /// k = ceil(0.5) = 1 → the worst, 0.05. A two-asset book weights the series first.
    @Test func historicalVaRIsTheKthWorstPortfolioReturn() throws {
        let returns = ["-0.05", "0.01", "-0.02", "0.03", "-0.01", "0.02", "-0.03", "0", "0.01", "-0.04"]
        let snapshot = RiskSnapshot.with {
            $0.worldID = "w"
            $0.symbols = ["X"]
            $0.weights = ["1"]
            $0.returns = [.with { $0.returns = returns }]
            $0.rules = [Self.rule("h80", .historicalVar, limit: "0.04", confidence: "0.8"), Self.rule("h95", .historicalVar, limit: "0.04", confidence: "0.95")]
        }
        let (results, signals) = try Self.evaluate([snapshot])
        #expect(results.map(\.value) == ["0.04", "0.05"])
        #expect(results.map(\.breached) == [false, true])
        #expect(signals.map(\.metrics) == [["confidence": "0.95", "k": "1", "limit": "0.04", "periods": "10", "value": "0.05"]])
        // Half in X, half in Y with returns (−1 %, +2 %): portfolio (−3 %, +1.5 %); c = 0.5, k = 1 → 0.03.
        let two = RiskSnapshot.with {
            $0.worldID = "w"
            $0.symbols = ["X", "Y"]
            $0.weights = ["0.5", "0.5"]
            $0.returns = [.with { $0.returns = ["-0.05", "0.01"] }, .with { $0.returns = ["-0.01", "0.02"] }]
            $0.rules = [Self.rule("h", .historicalVar, limit: "0.1", confidence: "0.5")]
        }
        #expect(try Self.evaluate([two]).results.map(\.value) == ["0.03"])
    }

    /// Equity 100, 120, 90, 108: the peak 120; now (120 − 108) / 120 = 0.1, the worst was
    /// (120 − 90) / 120 = 0.25. Concentration: max |w| of 0.3, −0.55, 0.15 is 0.55 (ETH).
    @Test func drawdownAndConcentration() throws {
        let snapshot = RiskSnapshot.with {
            $0.worldID = "w"
            $0.strategyID = "momentum"
            $0.symbols = ["BTC", "ETH", "SOL"]
            $0.weights = ["0.3", "-0.55", "0.15"]
            $0.equityCurve = ["100", "120", "90", "108"]
            $0.rules = [Self.rule("dd", .drawdown, limit: "0.08", fraction: "0.25"), Self.rule("conc", .concentration, limit: "0.5", fraction: "0.2")]
        }
        let (results, signals) = try Self.evaluate([snapshot])
        #expect(results.map(\.value) == ["0.1", "0.55"])
        #expect(signals.map(\.reduceFraction) == ["0.25", "0.2"])
        #expect(signals.map(\.strategyID) == ["momentum", "momentum"])
        #expect(signals[0].metrics["max_drawdown"] == "0.25")
        #expect(signals[1].metrics["symbol"] == "ETH")
        #expect(signals[0].reason == "drawdown 0.1 > limit 0.08")
        let equal = RiskSnapshot.with {
            $0.worldID = "w"
            $0.equityCurve = ["100"]
            $0.rules = [Self.rule("dd", .drawdown, limit: "0")]
        }
        // At the limit is not above it.
        #expect(try Self.evaluate([equal]).signals.isEmpty)
    }

    @Test func badSnapshotsNameTheField() {
        func reject(_ snapshot: RiskSnapshot, _ reason: String, _ field: String, sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                _ = try Self.evaluate([snapshot])
                Issue.record("expected \(reason) at \(field)", sourceLocation: sourceLocation)
            } catch let error as FieldError {
                #expect(error.reason == reason && error.field == field, "\(error)", sourceLocation: sourceLocation)
            } catch {
                Issue.record("\(error)", sourceLocation: sourceLocation)
            }
        }
        let base = Self.twoAssets([Self.rule("v", .parametricVar, limit: "0.05", confidence: "0.99")])
        var s = base; s.worldID = ""
        reject(s, "E_MISSING_FIELD", "snapshots[0].world_id")
        s = base; s.weights = ["0.6"]
        reject(s, "E_SHAPE_MISMATCH", "snapshots[0].weights")
        s = base; s.weights = ["0.6", "1e-3"]
        reject(s, "E_INVALID_DECIMAL", "snapshots[0].weights[1]")
        s = base; s.covariance[0].values[1] = "0.0002"
        reject(s, "E_INVALID_COVARIANCE", "snapshots[0].covariance[1].values[0]")
        s = base; s.covariance = [.with { $0.values = ["0.0004", "0.0009"] }, .with { $0.values = ["0.0009", "0.0004"] }]
        s.weights = ["1", "-1"]
        reject(s, "E_INVALID_COVARIANCE", "snapshots[0].covariance")
        s = base; s.rules[0].confidence = "1"
        reject(s, "E_OUT_OF_RANGE", "snapshots[0].rules[0].confidence")
        s = base; s.rules[0].limit = "-0.1"
        reject(s, "E_NEGATIVE_VALUE", "snapshots[0].rules[0].limit")
        s = base; s.rules[0].reduceFraction = "1.5"
        reject(s, "E_OUT_OF_RANGE", "snapshots[0].rules[0].reduce_fraction")
        s = base; s.rules[0].action = .unspecified
        reject(s, "E_MISSING_FIELD", "snapshots[0].rules[0].action")
        s = base; s.rules[0].measure = .UNRECOGNIZED(9)
        reject(s, "E_UNKNOWN_ENUM", "snapshots[0].rules[0].measure")
        s = base; s.rules.append(s.rules[0])
        reject(s, "E_DUPLICATE_RULE", "snapshots[0].rules[1].rule_id")
        s = base; s.symbols = ["BTC", "BTC"]
        reject(s, "E_DUPLICATE_SYMBOL", "snapshots[0].symbols[1]")
        s = base; s.rules = [Self.rule("d", .drawdown, limit: "0.1")]
        reject(s, "E_MISSING_FIELD", "snapshots[0].equity_curve")
        s.equityCurve = ["100", "0"]
        reject(s, "E_OUT_OF_RANGE", "snapshots[0].equity_curve[1]")
        s = base; s.rules = [Self.rule("h", .historicalVar, limit: "0.1", confidence: "0.9")]
        s.returns = [.with { $0.returns = ["0.01"] }, .with { $0.returns = ["0.01", "0.02"] }]
        reject(s, "E_SHAPE_MISMATCH", "snapshots[0].returns[1].returns")
        s = base; s.rules = [Self.rule("c", .concentration, limit: "0.5", confidence: "0.9")]
        reject(s, "E_FIELD_NOT_ALLOWED", "snapshots[0].rules[0].confidence")
        s = base; s.rules = [Self.rule("x", .concentration, limit: "0.5", action: .exit)]
        s.rules[0].reduceFraction = "0.5"
        reject(s, "E_FIELD_NOT_ALLOWED", "snapshots[0].rules[0].reduce_fraction")
    }
}

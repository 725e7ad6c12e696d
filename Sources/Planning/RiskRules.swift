import Contracts
import ExactNumbers
import Foundation

public typealias EvaluateRiskRequest = Keel_Planner_V1_EvaluateRiskRequest
public typealias RiskSnapshot = Keel_Planner_V1_RiskSnapshot
public typealias RiskRule = Keel_Planner_V1_RiskRule
public typealias ExitSignal = Keel_Planner_V1_ExitSignal
public typealias RuleResult = Keel_Planner_V1_RuleResult

/// The exit engine's rules, pure: each rule of a snapshot measures the portfolio, and a
/// measure above its limit yields an EXIT or REDUCE signal for the world (or one strategy).
///
/// Sums, weights, historical VaR, drawdown and concentration are exact. The parametric measures
/// need a square root and the normal quantile: they are computed in binary floating point from
/// the exact variance and written with 12 significant digits; the limit is compared with the
/// written value, so what a signal says is what was compared.
public enum RiskRules {
    /// A validated snapshot: decimals parsed, shapes checked.
    struct Snapshot {
        var source: RiskSnapshot
        var weights: [Rational]
        var covariance: [[Rational]]
        var returns: [[Rational]]
        var equityCurve: [Rational]
        var rules: [Rule]
    }

    struct Rule {
        var source: RiskRule
        var limit: ExactDecimal
        var confidence: Rational?
        var reduceFraction: ExactDecimal
    }

    /// Every result, and a signal for each breached rule, in snapshot then rule order. A signal's
    /// id is `<snapshot index>:<rule id>`, for the caller to prefix with the evaluation id; the
    /// caller fills `evaluation_id` and `created_at_ms`.
    public static func evaluate(_ request: EvaluateRiskRequest) throws(FieldError) -> (results: [RuleResult], signals: [ExitSignal]) {
        let snapshots = try validate(request)
        var results: [RuleResult] = []
        var signals: [ExitSignal] = []
        for (index, snapshot) in snapshots.enumerated() {
            for rule in snapshot.rules {
                let (value, metrics) = measure(rule, of: snapshot)
                let breached = value > rule.limit
                results.append(.with {
                    $0.worldID = snapshot.source.worldID
                    $0.strategyID = snapshot.source.strategyID
                    $0.ruleID = rule.source.ruleID
                    $0.measure = rule.source.measure
                    $0.value = value.description
                    $0.limit = rule.limit.description
                    $0.breached = breached
                })
                guard breached else { continue }
                signals.append(.with {
                    $0.signalID = "\(index):\(rule.source.ruleID)"
                    $0.worldID = snapshot.source.worldID
                    $0.strategyID = snapshot.source.strategyID
                    $0.ruleID = rule.source.ruleID
                    $0.action = rule.source.action
                    $0.reduceFraction = rule.reduceFraction.description
                    $0.reason = "\(label(rule)) \(value) > limit \(rule.limit)"
                    $0.metrics = metrics
                    $0.asOfMs = snapshot.source.asOfMs
                })
            }
        }
        return (results, signals)
    }

    static func label(_ rule: Rule) -> String {
        let confidence = rule.confidence.map { " \(($0 * Rational(100)).roundedToSignificantDigits(12))%" } ?? ""
        switch rule.source.measure {
        case .parametricVar: return "parametric VaR" + confidence
        case .parametricEs: return "parametric ES" + confidence
        case .historicalVar: return "historical VaR" + confidence
        case .drawdown: return "drawdown"
        case .concentration: return "concentration"
        default: return "measure"
        }
    }

    static func measure(_ rule: Rule, of snapshot: Snapshot) -> (ExactDecimal, [String: String]) {
        var metrics: [String: String] = ["limit": rule.limit.description]
        if let c = rule.confidence { metrics["confidence"] = c.outputString }
        let value: ExactDecimal
        switch rule.source.measure {
        case .parametricVar, .parametricEs:
            let variance = portfolioVariance(snapshot.weights, snapshot.covariance)
            let sigma = sqrt(double(variance))
            let c = double(rule.confidence!)
            let z = normalQuantile(c)
            let raw = rule.source.measure == .parametricVar ? z * sigma : sigma * normalDensity(z) / (1 - c)
            value = written(raw)
            metrics["variance"] = variance.outputString
            metrics["sigma"] = written(sigma).description
            metrics["z"] = written(z).description
        case .historicalVar:
            let (loss, k, periods) = historicalVaR(snapshot.weights, snapshot.returns, confidence: rule.confidence!)
            value = loss.roundedToSignificantDigits(34)
            metrics["k"] = "\(k)"
            metrics["periods"] = "\(periods)"
        case .drawdown:
            let (current, maximum) = drawdown(snapshot.equityCurve)
            value = current.roundedToSignificantDigits(34)
            metrics["max_drawdown"] = maximum.outputString
        case .concentration:
            let (weight, index) = concentration(snapshot.weights)
            value = weight.roundedToSignificantDigits(34)
            if let index { metrics["symbol"] = snapshot.source.symbols[index] }
        default:
            value = .zero
        }
        metrics["value"] = value.description
        return (value, metrics)
    }

    // MARK: measures

    /// wᵀ Σ w, exactly.
    public static func portfolioVariance(_ w: [Rational], _ covariance: [[Rational]]) -> Rational {
        var sum = Rational.zero
        for i in w.indices {
            for j in w.indices { sum += w[i] * w[j] * covariance[i][j] }
        }
        return sum
    }

    /// The loss of the k-th worst portfolio return, k = ceil(T × (1 − c)) (at least 1), where the
    /// portfolio return of a period is Σ wᵢ rᵢ; answers (loss, k, T).
    public static func historicalVaR(_ w: [Rational], _ returns: [[Rational]], confidence: Rational) -> (Rational, Int, Int) {
        let periods = returns.first?.count ?? 0
        guard periods > 0 else { return (.zero, 0, 0) }
        var portfolio: [Rational] = []
        portfolio.reserveCapacity(periods)
        for t in 0..<periods {
            var r = Rational.zero
            for i in w.indices { r += w[i] * returns[i][t] }
            portfolio.append(r)
        }
        portfolio.sort()
        let tail = Rational(periods) * (Rational.one - confidence)
        var k = Int(tail.truncated().description) ?? 1
        if Rational(k) < tail { k += 1 }
        k = min(max(k, 1), periods)
        return (-portfolio[k - 1], k, periods)
    }

    /// (current, maximum) drawdown of an equity curve: (peak − value) / peak with the running peak.
    public static func drawdown(_ curve: [Rational]) -> (current: Rational, maximum: Rational) {
        guard var peak = curve.first else { return (.zero, .zero) }
        var maximum = Rational.zero
        var current = Rational.zero
        for value in curve {
            if value > peak { peak = value }
            current = (peak - value) / peak
            if current > maximum { maximum = current }
        }
        return (current, maximum)
    }

    /// The largest |weight| and its index (nil when there are no weights).
    public static func concentration(_ w: [Rational]) -> (Rational, Int?) {
        var best = Rational.zero
        var index: Int?
        for (i, weight) in w.enumerated() where index == nil || weight.magnitude > best {
            best = weight.magnitude
            index = i
        }
        return (best, index)
    }

    /// The standard normal quantile: Acklam's rational approximation refined by one Halley step on
    /// erfc, good to double precision over (0, 1).
    public static func normalQuantile(_ p: Double) -> Double {
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5
            let r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }

    public static func normalDensity(_ x: Double) -> Double {
        exp(-x * x / 2) / (2 * Double.pi).squareRoot()
    }

    static func double(_ value: Rational) -> Double {
        Double(value.roundedToSignificantDigits(17).description) ?? .nan
    }

    /// A floating-point statistic as the decimal that is written and compared: 12 significant digits.
    static func written(_ x: Double) -> ExactDecimal {
        guard x.isFinite, x != 0 else { return .zero }
        let text = String(format: "%.11e", x)
        let parts = text.split(separator: "e")
        let mantissa = parts[0].replacingOccurrences(of: ".", with: "")
        let exponent = Int(parts[1]) ?? 0
        return ExactDecimal(significand: BigInt(Int(mantissa) ?? 0), exponent: exponent - 11)
    }

    // MARK: validation

    /// Field paths under `snapshots[i]`; the first failure answers INVALID_ARGUMENT.
    static func validate(_ request: EvaluateRiskRequest) throws(FieldError) -> [Snapshot] {
        if request.snapshots.isEmpty {
            throw FieldError(.missingField, field: "snapshots", message: "snapshots: at least one snapshot is required")
        }
        var out: [Snapshot] = []
        for (i, snapshot) in request.snapshots.enumerated() {
            let base = "snapshots[\(i)]"
            func invalid(_ reason: ErrorReason, _ field: String, _ message: String) -> FieldError {
                FieldError(reason, field: "\(base).\(field)", message: "\(base).\(field): \(message)")
            }
            if snapshot.worldID.isEmpty { throw invalid(.missingField, "world_id", "is required") }
            var seen = Set<String>()
            for (j, symbol) in snapshot.symbols.enumerated() {
                if symbol.isEmpty { throw invalid(.missingField, "symbols[\(j)]", "is empty") }
                guard seen.insert(symbol).inserted else { throw invalid(.duplicateSymbol, "symbols[\(j)]", "\(symbol) is listed twice") }
            }
            let n = snapshot.symbols.count
            if snapshot.weights.count != n {
                throw invalid(.shapeMismatch, "weights", "has \(snapshot.weights.count) values for \(n) symbols")
            }
            var weights: [Rational] = []
            for (j, text) in snapshot.weights.enumerated() {
                weights.append(try DecimalText.parseExact(text, field: "\(base).weights[\(j)]").rational)
            }
            if snapshot.rules.isEmpty { throw invalid(.missingField, "rules", "at least one rule is required") }
            var rules: [Rule] = []
            var ruleIDs = Set<String>()
            var needs: Set<Keel_Planner_V1_RiskMeasure> = []
            for (j, rule) in snapshot.rules.enumerated() {
                let rb = "rules[\(j)]"
                if rule.ruleID.isEmpty { throw invalid(.missingField, "\(rb).rule_id", "is required") }
                guard ruleIDs.insert(rule.ruleID).inserted else { throw invalid(.duplicateRule, "\(rb).rule_id", "\(rule.ruleID) is listed twice") }
                switch rule.measure {
                case .parametricVar, .parametricEs, .historicalVar, .drawdown, .concentration: break
                case .unspecified: throw invalid(.missingField, "\(rb).measure", "is required")
                case .UNRECOGNIZED(let number): throw invalid(.unknownEnum, "\(rb).measure", "\(number) is not a RiskMeasure")
                }
                needs.insert(rule.measure)
                let limit = try DecimalText.parseExactNonNegative(rule.limit, field: "\(base).\(rb).limit")
                var confidence: Rational?
                if [.parametricVar, .parametricEs, .historicalVar].contains(rule.measure) {
                    let c = try DecimalText.parseExact(rule.confidence, field: "\(base).\(rb).confidence").rational
                    guard c > .zero, c < .one else { throw invalid(.valueOutOfRange, "\(rb).confidence", "must be in (0, 1), got \(rule.confidence)") }
                    confidence = c
                } else if !rule.confidence.isEmpty {
                    throw invalid(.fieldNotAllowed, "\(rb).confidence", "applies to VaR and ES only")
                }
                var fraction = ExactDecimal.one
                switch rule.action {
                case .exit:
                    if !rule.reduceFraction.isEmpty, DecimalGrammar.parse(rule.reduceFraction) != .one {
                        throw invalid(.fieldNotAllowed, "\(rb).reduce_fraction", "an EXIT reduces by 1; give \"1\" or nothing")
                    }
                case .reduce:
                    fraction = try DecimalText.parseExact(rule.reduceFraction, field: "\(base).\(rb).reduce_fraction")
                    guard fraction.signum > 0, fraction <= .one else {
                        throw invalid(.valueOutOfRange, "\(rb).reduce_fraction", "must be in (0, 1], got \(rule.reduceFraction)")
                    }
                case .unspecified: throw invalid(.missingField, "\(rb).action", "is required")
                case .UNRECOGNIZED(let number): throw invalid(.unknownEnum, "\(rb).action", "\(number) is not an ExitAction")
                }
                rules.append(Rule(source: rule, limit: limit, confidence: confidence, reduceFraction: fraction))
            }
            var covariance: [[Rational]] = []
            if needs.contains(.parametricVar) || needs.contains(.parametricEs) {
                if snapshot.covariance.count != n { throw invalid(.shapeMismatch, "covariance", "has \(snapshot.covariance.count) rows for \(n) symbols") }
                for (r, row) in snapshot.covariance.enumerated() {
                    if row.values.count != n { throw invalid(.shapeMismatch, "covariance[\(r)]", "has \(row.values.count) values for \(n) symbols") }
                    var parsed: [Rational] = []
                    for (c, text) in row.values.enumerated() {
                        parsed.append(try DecimalText.parseExact(text, field: "\(base).covariance[\(r)].values[\(c)]").rational)
                    }
                    covariance.append(parsed)
                }
                for r in 0..<n {
                    for c in 0..<r where covariance[r][c] != covariance[c][r] {
                        throw invalid(.invalidCovariance, "covariance[\(r)].values[\(c)]", "the matrix is not symmetric")
                    }
                    if covariance[r][r].isNegative { throw invalid(.invalidCovariance, "covariance[\(r)].values[\(r)]", "a variance is negative") }
                }
                if portfolioVariance(weights, covariance).isNegative {
                    throw invalid(.invalidCovariance, "covariance", "wᵀΣw is negative: the matrix is not positive semi-definite")
                }
            }
            var returns: [[Rational]] = []
            if needs.contains(.historicalVar) {
                if snapshot.returns.count != n { throw invalid(.shapeMismatch, "returns", "has \(snapshot.returns.count) series for \(n) symbols") }
                let periods = snapshot.returns.first?.returns.count ?? 0
                if periods == 0 { throw invalid(.missingField, "returns[0].returns", "at least one period is required") }
                for (r, series) in snapshot.returns.enumerated() {
                    if series.returns.count != periods { throw invalid(.shapeMismatch, "returns[\(r)].returns", "has \(series.returns.count) periods, the first series \(periods)") }
                    var parsed: [Rational] = []
                    for (t, text) in series.returns.enumerated() {
                        parsed.append(try DecimalText.parseExact(text, field: "\(base).returns[\(r)].returns[\(t)]").rational)
                    }
                    returns.append(parsed)
                }
            }
            var curve: [Rational] = []
            if needs.contains(.drawdown) {
                if snapshot.equityCurve.isEmpty { throw invalid(.missingField, "equity_curve", "a drawdown rule needs the equity curve") }
                for (t, text) in snapshot.equityCurve.enumerated() {
                    let value = try DecimalText.parseExact(text, field: "\(base).equity_curve[\(t)]")
                    guard value.signum > 0 else { throw invalid(.valueOutOfRange, "equity_curve[\(t)]", "must be > 0, got \(text)") }
                    curve.append(value.rational)
                }
            }
            out.append(Snapshot(source: snapshot, weights: weights, covariance: covariance, returns: returns, equityCurve: curve, rules: rules))
        }
        return out
    }
}

import Contracts
import ExactNumbers
import SwiftProtobuf

/// The request digest of spec/planner.md §5.2 and amendment 6: SHA-256 of the deterministic
/// encoding (map entries sorted) of the request with every documented default filled in, every
/// decimal canonical and `dry_run` cleared — so `"0.10"` and `"0.1"` are the same request.
/// Call it on a request that validated.
public enum PlanRequestDigest {
    public static func digest(_ request: PlanRequest) -> String {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        let bytes: [UInt8] = (try? normalized(request).serializedBytes(options: options)) ?? []
        return SHA256.hex(bytes)
    }

    public static func normalized(_ request: PlanRequest) -> PlanRequest {
        var r = request
        r.dryRun = false
        if r.mode == .unspecified { r.mode = .scaling }
        if r.scaleCombination == .unspecified { r.scaleCombination = .strategyScale }
        if r.mode == .targetWeight {
            if r.hasTargetWeight { r.targetWeight = normalized(r.targetWeight) }
            return r
        }
        r.totalEquity = canonical(r.totalEquity)
        r.worldAllocBefore = r.worldAllocBefore.mapValues(canonical)
        r.worldAllocAfter = r.worldAllocAfter.mapValues(canonical)
        for (world, allocation) in r.strategyAllocBeforeTotal {
            r.strategyAllocBeforeTotal[world]!.byStrategy = allocation.byStrategy.mapValues(canonical)
        }
        for (world, allocation) in r.strategyAllocAfterTotal {
            r.strategyAllocAfterTotal[world]!.byStrategy = allocation.byStrategy.mapValues(canonical)
        }
        // Positions are most of a request and usually canonical already: only those that are not
        // are rewritten, so the common case copies nothing.
        // (The array is taken out of the message so that it is uniquely held and edited in place.)
        var positions = r.positions
        r.positions = []
        for i in positions.indices {
            if !DecimalGrammar.hasCanonicalForm(positions[i].qty) { positions[i].qty = canonical(positions[i].qty) }
            if !DecimalGrammar.hasCanonicalForm(positions[i].mark) { positions[i].mark = canonical(positions[i].mark) }
        }
        r.positions = positions
        r.minTradeNotional = canonical(r.minTradeNotional.isEmpty ? "0" : r.minTradeNotional)
        r.lotSizeBySymbol = r.lotSizeBySymbol.mapValues(canonical)
        if r.hasOverlay {
            r.overlay.priceBySymbol = r.overlay.priceBySymbol.mapValues(canonical)
            r.overlay.minOrderNotional = canonical(r.overlay.minOrderNotional.isEmpty ? "0" : r.overlay.minOrderNotional)
            if !r.overlay.hybridRatio.isEmpty { r.overlay.hybridRatio = canonical(r.overlay.hybridRatio) }
        }
        return r
    }

    /// TW.7: `split_mode` → ACCUMULATOR, unset sides → true, `default_lot_size ""` → `"1"`,
    /// `cash`/`qty`/`price` `""` → `"0"`, `eval_amount ""` → `qty × price`.
    public static func normalized(_ target: Keel_Planner_V1_TargetWeightRequest) -> Keel_Planner_V1_TargetWeightRequest {
        var t = target
        if t.splitMode == .unspecified { t.splitMode = .accumulator }
        if !t.hasSellEnabled { t.sellEnabled = true }
        if !t.hasBuyEnabled { t.buyEnabled = true }
        t.defaultLotSize = canonical(t.defaultLotSize.isEmpty ? "1" : t.defaultLotSize)
        t.cash = canonical(t.cash.isEmpty ? "0" : t.cash)
        t.positions = t.positions.map { position in
            var p = position
            let qty = DecimalGrammar.parse(p.qty.isEmpty ? "0" : p.qty) ?? .zero
            let price = DecimalGrammar.parse(p.price.isEmpty ? "0" : p.price) ?? .zero
            p.qty = qty.description
            p.price = price.description
            p.evalAmount = p.evalAmount.isEmpty ? (qty * price).description : canonical(p.evalAmount)
            return p
        }
        t.targetWeights = t.targetWeights.mapValues(canonical)
        t.addedSymbols = t.addedSymbols.map { added in
            var a = added
            a.price = canonical(a.price.isEmpty ? "0" : a.price)
            return a
        }
        t.lotSizeBySymbol = t.lotSizeBySymbol.mapValues(canonical)
        return t
    }

    static func canonical(_ text: String) -> String {
        DecimalGrammar.canonical(text) ?? text
    }
}

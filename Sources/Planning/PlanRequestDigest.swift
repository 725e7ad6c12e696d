import Contracts
import ExactNumbers
import SwiftProtobuf

/// The request digest that idempotency compares: SHA-256 of the deterministic
/// encoding (map entries sorted) of the request with every documented default filled in, every
/// decimal canonical and `dry_run` cleared — so `"0.10"` and `"0.1"` are the same request.
/// Call it on a request that validated.
public enum PlanRequestDigest {
    public static func digest(_ request: PlanRequest) throws -> String {
        try digest(request) { positions, hasher throws in
            for position in request.positions { try positions.append(position, into: &hasher) }
        }
    }

    /// The digest of `request` with its positions written by `writePositions` (a reader of the
    /// request's bytes writes them as it reads them; `request.positions` is not looked at).
    ///
    /// Positions are most of a request. They are encoded straight into the hash, as the
    /// deterministic encoding writes them, without a normalized copy of the request or one 4 MB
    /// buffer; the fields before them (1–5) and after them (7–14, then unknown fields) go through
    /// swift-protobuf. A message's encoding is its fields' in number order, so the three parts
    /// concatenated are the encoding of the whole normalized request.
    static func digest(_ request: PlanRequest, writePositions: (inout PositionEncoder, inout SHA256) throws -> Void) throws -> String {
        let rest = normalizedExceptPositions(request)
        var head = PlanRequest()
        head.totalEquity = rest.totalEquity
        head.worldAllocBefore = rest.worldAllocBefore
        head.worldAllocAfter = rest.worldAllocAfter
        head.strategyAllocBeforeTotal = rest.strategyAllocBeforeTotal
        head.strategyAllocAfterTotal = rest.strategyAllocAfterTotal
        var tail = rest
        tail.totalEquity = ""
        tail.worldAllocBefore = [:]
        tail.worldAllocAfter = [:]
        tail.strategyAllocBeforeTotal = [:]
        tail.strategyAllocAfterTotal = [:]
        tail.positions = []
        var hasher = SHA256()
        hasher.update(try DeterministicEncoding.bytes(head))
        try withUnsafeTemporaryAllocation(byteCount: 64 * 1024, alignment: 1) { scratch in
            var positions = PositionEncoder(canonicalDecimals: rest.mode != .targetWeight, scratch: scratch)
            try writePositions(&positions, &hasher)
            positions.flush(into: &hasher)
        }
        hasher.update(try DeterministicEncoding.bytes(tail))
        return hasher.finalize().hexString
    }

    /// The request as the digest encodes it: defaults filled in, decimals canonical, `dry_run` cleared.
    public static func normalized(_ request: PlanRequest) -> PlanRequest {
        var r = normalizedExceptPositions(request)
        guard r.mode != .targetWeight else { return r }
        // (The array is taken out of the message so that it is uniquely held and edited in place.)
        var positions = r.positions
        r.positions = []
        for i in positions.indices {
            if let qty = rewritten(positions[i].qty) { positions[i].qty = qty }
            if let mark = rewritten(positions[i].mark) { positions[i].mark = mark }
        }
        r.positions = positions
        return r
    }

    /// `normalized` with the positions as they came (a TARGET_WEIGHT request's are never rewritten).
    static func normalizedExceptPositions(_ request: PlanRequest) -> PlanRequest {
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
        r.minTradeNotional = canonical(r.minTradeNotional.isEmpty ? "0" : r.minTradeNotional)
        r.lotSizeBySymbol = r.lotSizeBySymbol.mapValues(canonical)
        if r.hasOverlay {
            r.overlay.priceBySymbol = r.overlay.priceBySymbol.mapValues(canonical)
            r.overlay.minOrderNotional = canonical(r.overlay.minOrderNotional.isEmpty ? "0" : r.overlay.minOrderNotional)
            if !r.overlay.hybridRatio.isEmpty { r.overlay.hybridRatio = canonical(r.overlay.hybridRatio) }
        }
        return r
    }

    /// A position's decimal in canonical form, or nil when it already is (most are, and are left
    /// as they are: nothing copied).
    static func rewritten(_ decimal: String) -> String? {
        DecimalGrammar.hasCanonicalForm(decimal) ? nil : canonical(decimal)
    }

    /// Writes `positions = 6` entries as protobuf does (each non-empty string field in number
    /// order, then the position's unknown fields) into a scratch buffer that is hashed as it fills.
    struct PositionEncoder {
        let canonicalDecimals: Bool
        let scratch: UnsafeMutableRawBufferPointer
        var used = 0

        mutating func append(_ position: Keel_Planner_V1_Position, into hasher: inout SHA256) throws(FieldError) {
            var qty = position.qty
            var mark = position.mark
            if canonicalDecimals {
                if let canonicalQty = rewritten(qty) { qty = canonicalQty }
                if let canonicalMark = rewritten(mark) { mark = canonicalMark }
            }
            let unknown = position.unknownFields.data
            let size = Self.fieldSize(position.worldID) + Self.fieldSize(position.strategyID)
                + Self.fieldSize(position.symbol) + Self.fieldSize(qty) + Self.fieldSize(mark)
                + Self.fieldSize(position.venue) + unknown.count
            let entry = 1 + ProtobufWire.varintSize(UInt64(size)) + size
            if used + entry > scratch.count { flush(into: &hasher) }
            guard entry <= scratch.count else {
                // A position larger than the scratch buffer (long ids or unknown fields): its
                // encoding, hashed in one piece.
                var one = position
                one.qty = qty
                one.mark = mark
                var wrapper = PlanRequest()
                wrapper.positions = [one]
                hasher.update(try DeterministicEncoding.bytes(wrapper))
                return
            }
            typealias Field = Keel_Planner_V1_Position.FieldNumber
            write(UInt8(ProtobufWire.tag(PlanRequest.FieldNumber.positions, ProtobufWire.lengthDelimited)))
            writeVarint(size)
            write(field: Field.worldID, position.worldID)
            write(field: Field.strategyID, position.strategyID)
            write(field: Field.symbol, position.symbol)
            write(field: Field.qty, qty)
            write(field: Field.mark, mark)
            write(field: Field.venue, position.venue)
            if !unknown.isEmpty {
                unknown.copyBytes(to: UnsafeMutableRawBufferPointer(rebasing: scratch[used..<used + unknown.count]))
                used += unknown.count
            }
        }

        /// The same entry from a position's field bytes (`PositionFieldBytes` has no unknown fields).
        mutating func append(_ fields: PositionFieldBytes, into hasher: inout SHA256) throws(FieldError) {
            var qty = fields.qty
            var mark = fields.mark
            // A decimal that is not canonical is rewritten (rare): the rewritten text is held
            // here for the writes below.
            var rewrittenQty: [UInt8] = []
            var rewrittenMark: [UInt8] = []
            if canonicalDecimals {
                if !DecimalGrammar.hasCanonicalForm(utf8: qty), let parts = DecimalGrammar.parseParts(utf8: qty) { rewrittenQty = Array(parts.exact.description.utf8) }
                if !DecimalGrammar.hasCanonicalForm(utf8: mark), let parts = DecimalGrammar.parseParts(utf8: mark) { rewrittenMark = Array(parts.exact.description.utf8) }
            }
            try rewrittenQty.withUnsafeBufferPointer { (newQty) throws(FieldError) in
                try rewrittenMark.withUnsafeBufferPointer { (newMark) throws(FieldError) in
                    if !newQty.isEmpty { qty = newQty }
                    if !newMark.isEmpty { mark = newMark }
                    let size = Self.fieldSize(fields.worldID) + Self.fieldSize(fields.strategyID) + Self.fieldSize(fields.symbol)
                        + Self.fieldSize(qty) + Self.fieldSize(mark) + Self.fieldSize(fields.venue)
                    let entry = 1 + ProtobufWire.varintSize(UInt64(size)) + size
                    if used + entry > scratch.count { flush(into: &hasher) }
                    guard entry <= scratch.count else {
                        var position = Keel_Planner_V1_Position(fields)
                        position.qty = String(decoding: qty, as: UTF8.self)
                        position.mark = String(decoding: mark, as: UTF8.self)
                        try append(position, into: &hasher)
                        return
                    }
                    typealias Field = Keel_Planner_V1_Position.FieldNumber
                    write(UInt8(ProtobufWire.tag(PlanRequest.FieldNumber.positions, ProtobufWire.lengthDelimited)))
                    writeVarint(size)
                    write(field: Field.worldID, fields.worldID)
                    write(field: Field.strategyID, fields.strategyID)
                    write(field: Field.symbol, fields.symbol)
                    write(field: Field.qty, qty)
                    write(field: Field.mark, mark)
                    write(field: Field.venue, fields.venue)
                }
            }
        }

        mutating func flush(into hasher: inout SHA256) {
            hasher.update(UnsafeRawBufferPointer(rebasing: scratch[0..<used]))
            used = 0
        }

        private mutating func write(_ byte: UInt8) {
            scratch[used] = byte
            used += 1
        }

        private mutating func writeVarint(_ value: Int) {
            var v = UInt64(value)
            while v >= 0x80 {
                write(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            write(UInt8(v))
        }

        /// A string field: nothing when empty (proto3), else tag, length, UTF-8.
        /// (Every field written here has a one-byte tag: numbers below 16.)
        private mutating func write(field number: UInt64, _ value: String) {
            guard !value.isEmpty else { return }
            write(UInt8(ProtobufWire.tag(number, ProtobufWire.lengthDelimited)))
            let count = value.utf8.count
            writeVarint(count)
            let target = UnsafeMutableRawBufferPointer(rebasing: scratch[used..<used + count])
            if value.utf8.withContiguousStorageIfAvailable({ target.copyMemory(from: UnsafeRawBufferPointer($0)) }) == nil {
                _ = target.initializeMemory(as: UInt8.self, from: value.utf8)
            }
            used += count
        }

        private mutating func write(field number: UInt64, _ value: UnsafeBufferPointer<UInt8>) {
            guard !value.isEmpty else { return }
            write(UInt8(ProtobufWire.tag(number, ProtobufWire.lengthDelimited)))
            writeVarint(value.count)
            UnsafeMutableRawBufferPointer(rebasing: scratch[used..<used + value.count]).copyMemory(from: UnsafeRawBufferPointer(value))
            used += value.count
        }

        static func fieldSize(_ value: UnsafeBufferPointer<UInt8>) -> Int {
            value.isEmpty ? 0 : 1 + ProtobufWire.varintSize(UInt64(value.count)) + value.count
        }

        static func fieldSize(_ value: String) -> Int {
            value.isEmpty ? 0 : 1 + ProtobufWire.varintSize(UInt64(value.utf8.count)) + value.utf8.count
        }
    }

    /// Target-weight defaults: `split_mode` → ACCUMULATOR, unset sides → true,
    /// `default_lot_size ""` → `"1"`, `cash`/`qty`/`price` `""` → `"0"`, `eval_amount ""` → `qty × price`.
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

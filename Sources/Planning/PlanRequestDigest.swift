import Contracts
import ExactNumbers
import Foundation
import SwiftProtobuf

/// The request digest that idempotency compares: SHA-256 of the deterministic
/// encoding (map entries sorted) of the request with every documented default filled in, every
/// decimal canonical and `dry_run` cleared — so `"0.10"` and `"0.1"` are the same request.
/// Call it on a request that validated.
public enum PlanRequestDigest {
    public static func digest(_ request: PlanRequest) throws -> String {
        try digest(request) { positions throws in
            for position in request.positions { try positions.append(position) }
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
    static func digest(_ request: PlanRequest, writePositions: (inout PositionEncoder) throws -> Void) throws -> String {
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
        hasher = try withUnsafeTemporaryAllocation(byteCount: 64 * 1024, alignment: 1) { scratch in
            var positions = PositionEncoder(canonicalDecimals: rest.mode != .targetWeight, scratch: scratch, hasher: hasher)
            try writePositions(&positions)
            positions.flush()
            return positions.hasher
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
        var hasher: SHA256

        mutating func append(_ position: Keel_Planner_V1_Position) throws(FieldError) {
            var qty = position.qty
            var mark = position.mark
            if canonicalDecimals {
                if let canonicalQty = rewritten(qty) { qty = canonicalQty }
                if let canonicalMark = rewritten(mark) { mark = canonicalMark }
            }
            let fields = (position.worldID, position.strategyID, position.symbol, qty, mark, position.venue)
            guard writeEntry(fields, unknown: position.unknownFields.data) else {
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
        }

        /// The same entry from a position's field bytes. A decimal to rewrite (rare) or an entry
        /// larger than the scratch buffer goes the message's way.
        mutating func append(_ fields: PositionFieldBytes) throws(FieldError) {
            let canonical = !canonicalDecimals || (DecimalGrammar.hasCanonicalForm(utf8: fields.qty) && DecimalGrammar.hasCanonicalForm(utf8: fields.mark))
            guard canonical, writeEntry((fields.worldID, fields.strategyID, fields.symbol, fields.qty, fields.mark, fields.venue), unknown: Data()) else {
                return try append(Keel_Planner_V1_Position(fields))
            }
        }

        /// One entry, its six fields in number order; false (after hashing what is buffered) when it
        /// does not fit the scratch buffer.
        private mutating func writeEntry<Text: EntryText>(_ fields: (Text, Text, Text, Text, Text, Text), unknown: Data) -> Bool {
            let size = Self.fieldSize(fields.0) + Self.fieldSize(fields.1) + Self.fieldSize(fields.2)
                + Self.fieldSize(fields.3) + Self.fieldSize(fields.4) + Self.fieldSize(fields.5) + unknown.count
            let entry = 1 + ProtobufWire.varintSize(UInt64(size)) + size
            if used + entry > scratch.count { flush() }
            guard entry <= scratch.count else { return false }
            typealias Field = Keel_Planner_V1_Position.FieldNumber
            write(UInt8(ProtobufWire.tag(PlanRequest.FieldNumber.positions, ProtobufWire.lengthDelimited)))
            writeVarint(size)
            write(field: Field.worldID, fields.0)
            write(field: Field.strategyID, fields.1)
            write(field: Field.symbol, fields.2)
            write(field: Field.qty, fields.3)
            write(field: Field.mark, fields.4)
            write(field: Field.venue, fields.5)
            if !unknown.isEmpty {
                unknown.copyBytes(to: UnsafeMutableRawBufferPointer(rebasing: scratch[used..<used + unknown.count]))
                used += unknown.count
            }
            return true
        }

        mutating func flush() {
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
        private mutating func write<Text: EntryText>(field number: UInt64, _ value: Text) {
            let count = value.utf8Count
            guard count > 0 else { return }
            write(UInt8(ProtobufWire.tag(number, ProtobufWire.lengthDelimited)))
            writeVarint(count)
            value.copyUTF8(to: UnsafeMutableRawBufferPointer(rebasing: scratch[used..<used + count]))
            used += count
        }

        static func fieldSize<Text: EntryText>(_ value: Text) -> Int {
            let count = value.utf8Count
            return count == 0 ? 0 : 1 + ProtobufWire.varintSize(UInt64(count)) + count
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

/// The text of a position's field as the encoder copies it: a string of a decoded message, or the
/// bytes of the request where they lie.
protocol EntryText {
    var utf8Count: Int { get }
    func copyUTF8(to target: UnsafeMutableRawBufferPointer)
}

extension String: EntryText {
    var utf8Count: Int { utf8.count }

    func copyUTF8(to target: UnsafeMutableRawBufferPointer) {
        if utf8.withContiguousStorageIfAvailable({ target.copyMemory(from: UnsafeRawBufferPointer($0)) }) == nil {
            _ = target.initializeMemory(as: UInt8.self, from: utf8)
        }
    }
}

extension UnsafeBufferPointer<UInt8>: EntryText {
    var utf8Count: Int { count }

    func copyUTF8(to target: UnsafeMutableRawBufferPointer) { target.copyMemory(from: UnsafeRawBufferPointer(self)) }
}

import ExactNumbers

/// The positions of a rebalance with their names interned once: worlds, (world, strategy) pairs and
/// (venue, symbol) keys get dense ids in first-appearance order, and each row refers to them. Planning
/// then groups rows by integer ids instead of hashing strings per row, which is where the time of a
/// 100,000-position plan went.
public struct PositionBook: Sendable {
    /// Plain values only, so rows copy and free without reference counting; 32 bytes, so that a
    /// row list of 100,000 positions (written once, read twice by planning) is 3.2 MB.
    public struct Row: Sendable {
        var quantitySignificand: Int64
        var markSignificand: Int64
        public var world: Int32
        /// A (world, strategy) pair: `strategies[strategy]`.
        public var strategy: Int32
        public var key: Int32
        var quantityExponent: Int8
        var markExponent: Int8

        public var quantity: StoredDecimal { StoredDecimal(significand: quantitySignificand, exponent: quantityExponent) }
        public var mark: StoredDecimal { StoredDecimal(significand: markSignificand, exponent: markExponent) }

        init(quantity: StoredDecimal, mark: StoredDecimal, world: Int32, strategy: Int32, key: Int32) {
            (quantitySignificand, quantityExponent) = (quantity.significand, quantity.exponent)
            (markSignificand, markExponent) = (mark.significand, mark.exponent)
            (self.world, self.strategy, self.key) = (world, strategy, key)
        }
    }

    /// `significand × 10^exponent`. A value whose significand does not fit 64 bits (20 to 34
    /// digits from the grammar, or any wider one built directly) has `exponent == .min` and its
    /// index in the book's `wideDecimals` as significand.
    public struct StoredDecimal: Sendable {
        public var significand: Int64
        public var exponent: Int8

        public var isWide: Bool { exponent == .min }
    }

    public struct Strategy: Sendable {
        public var world: Int32
        public var id: String
        /// 1 + the strategy's place among its world's strategies (first appearance), the planner's factor slot.
        public var factor: Int32
    }

    public private(set) var worlds: [String] = []
    public private(set) var strategies: [Strategy] = []
    public private(set) var keys: [SymbolKey] = []
    public private(set) var rows: [Row] = []
    public private(set) var wideDecimals: [ExactDecimal] = []
    /// Per world, how many strategies it has.
    public private(set) var strategyCountByWorld: [Int32] = []

    private let seed = NameHash.seed
    private var worldIndex = HashIndex()
    private var strategyIndex = HashIndex()
    private var keyIndex = HashIndex()

    public init() {}

    public init(_ positions: [PositionRow]) {
        reserveCapacity(positions.count)
        for row in positions {
            append(worldID: row.worldID, strategyID: row.strategyID, venue: row.key.venue, symbol: row.key.symbol, quantity: row.quantity, mark: row.mark)
        }
    }

    public mutating func reserveCapacity(_ count: Int) { rows.reserveCapacity(count) }

    public var count: Int { rows.count }

    public mutating func append(worldID: String, strategyID: String, venue: String, symbol: String, quantity: ExactDecimal, mark: ExactDecimal) {
        append(worldID: worldID, strategyID: strategyID, venue: venue, symbol: symbol, quantity: stored(quantity), mark: stored(mark))
    }

    /// Values as the decimal grammar reads them.
    @inline(__always)
    public mutating func append(worldID: String, strategyID: String, venue: String, symbol: String, quantity: DecimalGrammar.Parts, mark: DecimalGrammar.Parts) {
        append(worldID: worldID, strategyID: strategyID, venue: venue, symbol: symbol, quantity: stored(quantity), mark: stored(mark))
    }

    /// Names as their UTF-8 bytes (how the Plan RPC's reader finds them in a request): a name is
    /// hashed and compared as bytes, and made a String only when it is new to the book.
    /// (Internal: its one caller passes ASCII only, so a name's String is exactly its bytes.)
    @inline(__always)
    mutating func append(worldID: NameBytes, strategyID: NameBytes, venue: NameBytes, symbol: NameBytes, quantity: DecimalGrammar.Parts, mark: DecimalGrammar.Parts) {
        append(worldID: worldID, strategyID: strategyID, venue: venue, symbol: symbol, quantity: stored(quantity), mark: stored(mark))
    }

    private mutating func append(worldID: String, strategyID: String, venue: String, symbol: String, quantity: StoredDecimal, mark: StoredDecimal) {
        var (world, strategy, venue, symbol) = (worldID, strategyID, venue, symbol)
        world.withUTF8 { world in
            strategy.withUTF8 { strategy in
                venue.withUTF8 { venue in
                    symbol.withUTF8 { symbol in
                        append(worldID: world, strategyID: strategy, venue: venue, symbol: symbol, quantity: quantity, mark: mark)
                    }
                }
            }
        }
    }

    @inline(__always)
    private mutating func append(worldID: NameBytes, strategyID: NameBytes, venue: NameBytes, symbol: NameBytes, quantity: StoredDecimal, mark: StoredDecimal) {
        let (world, strategy) = internStrategy(strategyID, ofWorld: worldID)
        let key = internKey(venue: venue, symbol: symbol)
        rows.append(Row(quantity: quantity, mark: mark, world: world, strategy: strategy, key: key))
    }

    /// Appends `other`'s rows after this book's, with the ids they would have had had they been
    /// appended here one by one: names new to this book are interned in `other`'s first-appearance
    /// order, which is theirs in the concatenated rows.
    public mutating func append(contentsOf other: PositionBook) {
        var worldOf: [Int32] = []
        worldOf.reserveCapacity(other.worlds.count)
        for name in other.worlds { worldOf.append(internWorld(name)) }
        var strategyOf: [Int32] = []
        strategyOf.reserveCapacity(other.strategies.count)
        for strategy in other.strategies {
            strategyOf.append(internStrategy(strategy.id, ofWorld: other.worlds[Int(strategy.world)]).strategy)
        }
        var keyOf: [Int32] = []
        keyOf.reserveCapacity(other.keys.count)
        for key in other.keys { keyOf.append(internKey(venue: key.venue, symbol: key.symbol)) }
        let wideOffset = Int64(wideDecimals.count)
        wideDecimals.append(contentsOf: other.wideDecimals)
        @inline(__always) func moved(_ value: StoredDecimal) -> StoredDecimal {
            value.isWide ? StoredDecimal(significand: value.significand + wideOffset, exponent: .min) : value
        }
        rows.reserveCapacity(rows.count + other.rows.count)
        for row in other.rows {
            rows.append(Row(
                quantity: moved(row.quantity), mark: moved(row.mark), world: worldOf[Int(row.world)],
                strategy: strategyOf[Int(row.strategy)], key: keyOf[Int(row.key)]))
        }
    }

    /// The (world, strategy) pair's world and strategy ids, interning what is new.
    @inline(__always)
    private mutating func internStrategy(_ strategyID: NameBytes, ofWorld worldID: NameBytes) -> (world: Int32, strategy: Int32) {
        // A (world, strategy) pair is found by the strategy's hash alone and both names compared:
        // the world is hashed only when a pair is new.
        let (strategy, newStrategy) = strategyIndex.id(hash: NameHash.bytes(UnsafeRawBufferPointer(strategyID), seed: seed)) {
            NameHash.equal(strategies[$0].id, strategyID) && NameHash.equal(worlds[Int(strategies[$0].world)], worldID)
        }
        guard newStrategy else { return (strategies[strategy].world, Int32(strategy)) }
        let world = internWorld(worldID)
        strategyCountByWorld[Int(world)] += 1
        strategies.append(Strategy(world: world, id: String(decoding: strategyID, as: UTF8.self), factor: strategyCountByWorld[Int(world)]))
        return (world, Int32(strategy))
    }

    private mutating func internStrategy(_ strategyID: String, ofWorld worldID: String) -> (world: Int32, strategy: Int32) {
        var (strategy, world) = (strategyID, worldID)
        return strategy.withUTF8 { strategy in world.withUTF8 { world in internStrategy(strategy, ofWorld: world) } }
    }

    @inline(__always)
    private mutating func internKey(venue: NameBytes, symbol: NameBytes) -> Int32 {
        let (key, newKey) = keyIndex.id(hash: keyHash(venue: venue, symbol: symbol)) {
            NameHash.equal(keys[$0].symbol, symbol) && NameHash.equal(keys[$0].venue, venue)
        }
        if newKey { keys.append(SymbolKey(venue: String(decoding: venue, as: UTF8.self), symbol: String(decoding: symbol, as: UTF8.self))) }
        return Int32(key)
    }

    private mutating func internKey(venue: String, symbol: String) -> Int32 {
        var (venue, symbol) = (venue, symbol)
        return venue.withUTF8 { venue in symbol.withUTF8 { symbol in internKey(venue: venue, symbol: symbol) } }
    }

    private mutating func internWorld(_ name: NameBytes) -> Int32 {
        let (id, inserted) = worldIndex.id(hash: NameHash.bytes(UnsafeRawBufferPointer(name), seed: seed)) { NameHash.equal(worlds[$0], name) }
        if inserted {
            worlds.append(String(decoding: name, as: UTF8.self))
            strategyCountByWorld.append(0)
        }
        return Int32(id)
    }

    private mutating func internWorld(_ name: String) -> Int32 {
        var name = name
        return name.withUTF8 { internWorld($0) }
    }

    private mutating func stored(_ value: ExactDecimal) -> StoredDecimal {
        if let significand = value.significand.int128, let compact = Int64(exactly: significand), let exponent = Int8(exactly: value.exponent), exponent != .min {
            return StoredDecimal(significand: compact, exponent: exponent)
        }
        return wide(value)
    }

    /// (The grammar's exponents lie within ±60.)
    @inline(__always)
    private mutating func stored(_ parts: DecimalGrammar.Parts) -> StoredDecimal {
        if let compact = Int64(exactly: parts.significand) {
            return StoredDecimal(significand: compact, exponent: Int8(truncatingIfNeeded: parts.exponent))
        }
        return wide(parts.exact)
    }

    private mutating func wide(_ value: ExactDecimal) -> StoredDecimal {
        wideDecimals.append(value)
        return StoredDecimal(significand: Int64(wideDecimals.count - 1), exponent: .min)
    }

    public func value(_ stored: StoredDecimal) -> ExactDecimal {
        stored.isWide ? wideDecimals[Int(stored.significand)] : ExactDecimal(significand: BigInt(Int128(stored.significand)), exponent: Int(stored.exponent))
    }

    /// The rows as written, with their names.
    public var positionRows: [PositionRow] {
        rows.map { row in
            let key = keys[Int(row.key)]
            return PositionRow(worldID: worlds[Int(row.world)], strategyID: strategies[Int(row.strategy)].id, venue: key.venue, symbol: key.symbol, quantity: value(row.quantity), mark: value(row.mark))
        }
    }

    public func keyID(of key: SymbolKey) -> Int? {
        // Compared as the book interns: by the names' UTF-8 bytes.
        var (venue, symbol) = (key.venue, key.symbol)
        return venue.withUTF8 { venue in
            symbol.withUTF8 { symbol in
                keyIndex.find(hash: keyHash(venue: venue, symbol: symbol)) { NameHash.equal(keys[$0].venue, venue) && NameHash.equal(keys[$0].symbol, symbol) }
            }
        }
    }

    @inline(__always)
    private func keyHash(venue: NameBytes, symbol: NameBytes) -> UInt64 {
        NameHash.combine(NameHash.bytes(UnsafeRawBufferPointer(venue), seed: seed), NameHash.bytes(UnsafeRawBufferPointer(symbol), seed: seed))
    }
}

/// A name (world, strategy, venue, symbol) as UTF-8 bytes.
public typealias NameBytes = UnsafeBufferPointer<UInt8>

/// A cheap seeded hash of a name's UTF-8 bytes, for the planner's own tables. The seed is drawn per
/// process, so a caller cannot choose names that collide.
enum NameHash {
    static let seed = UInt64.random(in: .min ... .max)

    /// Whether `name` is spelled by exactly these UTF-8 bytes.
    @inline(__always)
    static func equal(_ name: String, _ bytes: NameBytes) -> Bool {
        if let same = name.utf8.withContiguousStorageIfAvailable({ $0.count == bytes.count && $0.elementsEqual(bytes) }) {
            return same
        }
        return name.utf8.elementsEqual(bytes)
    }

    @inline(__always)
    static func bytes(_ p: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let n = p.count
        var h = seed ^ (UInt64(n) &* 0x9E37_79B9_7F4A_7C15)
        var i = 0
        while i + 8 <= n {
            h = (h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        let rest = n - i
        if rest > 0 {
            // The last 1–7 bytes in at most two loads (overlapping when 5–7, 3 or 2), the length
            // mixed in above tells apart what overlaps.
            let tail: UInt64
            if n >= 8 {
                tail = p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            } else if rest >= 4 {
                tail = UInt64(p.loadUnaligned(fromByteOffset: i, as: UInt32.self)) << 32 | UInt64(p.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
            } else {
                tail = UInt64(p[i]) << 16 | UInt64(p[i + rest / 2]) << 8 | UInt64(p[n - 1])
            }
            h = (h ^ tail) &* 0xBF58_476D_1CE4_E5B9
        }
        return finalize(h)
    }

    @inline(__always)
    static func combine(_ a: UInt64, _ b: UInt64) -> UInt64 {
        finalize(a ^ (b &+ 0x9E37_79B9_7F4A_7C15 &+ (a << 6) &+ (a >> 2)))
    }

    /// The 64-bit finaliser of MurmurHash3: every input bit reaches every output bit.
    @inline(__always)
    static func finalize(_ x: UInt64) -> UInt64 {
        var h = x
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h = h &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }
}

/// Open addressing from a hash to dense ids 0, 1, 2… in insertion order. The caller keeps the entries
/// (in arrays indexed by id) and says whether an id's entry is the one looked up; a slot holds the
/// id with the upper half of its hash, so a probe reads one word before asking.
struct HashIndex: Sendable {
    /// 0 = empty, else (upper 32 bits of the hash) << 32 | (id + 1).
    private var slots = [UInt64](repeating: 0, count: 16)
    /// Per id, for growing.
    private var hashes: [UInt64] = []
    private var mask = 15

    var count: Int { hashes.count }

    @inline(__always)
    private static func slot(id: Int, hash: UInt64) -> UInt64 { hash & 0xFFFF_FFFF_0000_0000 | UInt64(id + 1) }

    func find(hash: UInt64, matches: (Int) -> Bool) -> Int? {
        probe(hash: hash, matches: matches).id
    }

    /// The id of the matching entry, or the next id (`inserted`), whose entry the caller appends.
    @inline(__always)
    mutating func id(hash: UInt64, matches: (Int) -> Bool) -> (id: Int, inserted: Bool) {
        let (found, emptySlot) = probe(hash: hash, matches: matches)
        if let found { return (found, false) }
        let id = hashes.count
        precondition(id < Int(UInt32.max), "too many entries")
        slots[emptySlot] = Self.slot(id: id, hash: hash)
        hashes.append(hash)
        if hashes.count * 2 > slots.count { grow() }
        return (id, true)
    }

    /// The matching id, or the empty slot where the probe for `hash` ended.
    @inline(__always)
    private func probe(hash: UInt64, matches: (Int) -> Bool) -> (id: Int?, emptySlot: Int) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[i]
            if slot == 0 { return (nil, i) }
            if slot >> 32 == hash >> 32 {
                let id = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                if matches(id) { return (id, i) }
            }
            i = (i + 1) & mask
        }
    }

    private mutating func grow() {
        let capacity = slots.count * 2
        mask = capacity - 1
        slots = [UInt64](repeating: 0, count: capacity)
        for (id, hash) in hashes.enumerated() {
            var i = Int(truncatingIfNeeded: hash) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = Self.slot(id: id, hash: hash)
        }
    }
}

/// Dense ids for (a, b) pairs of small integers in first-appearance order: a flat table of
/// `aCount × bCount` ids when that is at most a few entries per row (one load, no hashing), else a
/// `HashIndex` of the packed pair.
struct PairIndex {
    private let bCount: Int
    private var table: [Int32]
    private var hashed: HashIndex?
    /// Hashed mode: the packed pair per id.
    private var pairs: [UInt64] = []
    private(set) var count = 0

    init(aCount: Int, bCount: Int, rows: Int) {
        self.bCount = bCount
        let (cells, overflow) = aCount.multipliedReportingOverflow(by: bCount)
        if !overflow, cells <= 4 * rows + 4096 {
            table = [Int32](repeating: -1, count: cells)
            hashed = nil
        } else {
            table = []
            hashed = HashIndex()
        }
    }

    @inline(__always)
    mutating func id(_ a: Int32, _ b: Int32) -> (id: Int, inserted: Bool) {
        if hashed == nil {
            let cell = Int(a) * bCount + Int(b)
            let existing = table[cell]
            if existing >= 0 { return (Int(existing), false) }
            table[cell] = Int32(count)
            count += 1
            return (count - 1, true)
        }
        let packed = UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
        let found = hashed!.id(hash: NameHash.finalize(packed)) { pairs[$0] == packed }
        if found.inserted {
            pairs.append(packed)
            count += 1
        }
        return found
    }
}

import Contracts
import ExactNumbers
import Execution
import Foundation
import GRDB
import KeelStore

public typealias CommitLogRecord = Keel_Gateway_V1_CommitLogRecord
public typealias AuditEvent = Keel_Gateway_V1_AuditEvent
public typealias OrderStatus = Keel_Gateway_V1_OrderStatus
public typealias GatewayEvent = Keel_Gateway_V1_GatewayEvent

/// keel-gateway's store: executions (with their idempotency key and response), batches, orders and
/// their status, the commit log and the audit log — written together in one transaction per
/// submission (the outbox). The paper broker keeps its accounts, positions and orders in tables of
/// its own in the same file, created by its own migration (`PaperBroker.migrator`).
public final class GatewayStore: Sendable {
    let pool: DatabasePool
    /// Reads of one row by key (an execution, a schedule or an exit signal), in place.
    let keyed: PointReaders
    /// The log's checkpoints, which the process host runs.
    public let checkpoints: WALCheckpoints
    /// Raised after every commit-log write, so `ReadCommitLog` streams with `follow` wake up.
    public let commits: CommitSignal
    /// Raised after every event-outbox write, so `Watch` streams wake up.
    public let events: CommitSignal

    public init(path: String) throws {
        let file = try StoreFile(path: path, migrator: Self.migrator)
        (pool, keyed, checkpoints) = (file.pool, file.keyed, file.checkpoints)
        commits = try file.commitSignal(latest: #"SELECT MAX("offset") FROM commit_log"#)
        events = try file.commitSignal(latest: "SELECT MAX(seq) FROM gateway_events")
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        // (v1 created the paper broker's tables too, until the paper broker owned them: stores made
        // before keep them, with the data the paper broker goes on using.)
        migrator.registerMigration("v1: outbox, logs, paper broker") { db in
            try db.execute(sql: """
                CREATE TABLE executions (
                    execution_id TEXT PRIMARY KEY,
                    created_at_ms INTEGER NOT NULL,
                    plan_id TEXT NOT NULL,
                    idempotency_key TEXT UNIQUE,
                    request_digest TEXT NOT NULL,
                    response BLOB NOT NULL
                );
                CREATE TABLE batches (
                    batch_id TEXT PRIMARY KEY,
                    execution_id TEXT NOT NULL REFERENCES executions(execution_id),
                    world_id TEXT NOT NULL,
                    scope INTEGER NOT NULL,
                    dispatched INTEGER NOT NULL,
                    account_id TEXT NOT NULL
                );
                CREATE TABLE orders (
                    client_order_id TEXT PRIMARY KEY,
                    batch_id TEXT NOT NULL REFERENCES batches(batch_id),
                    dispatch_seq INTEGER NOT NULL,
                    world_id TEXT NOT NULL,
                    account_id TEXT NOT NULL,
                    body BLOB NOT NULL,
                    status INTEGER NOT NULL,
                    filled_qty TEXT NOT NULL DEFAULT '0',
                    avg_price TEXT NOT NULL DEFAULT '',
                    reason TEXT NOT NULL DEFAULT '',
                    updated_at_ms INTEGER NOT NULL
                );
                CREATE INDEX orders_by_status ON orders(status, dispatch_seq);
                CREATE INDEX orders_by_batch ON orders(batch_id, dispatch_seq);
                CREATE TABLE commit_log (
                    "offset" INTEGER PRIMARY KEY AUTOINCREMENT,
                    key TEXT NOT NULL,
                    record_type TEXT NOT NULL,
                    timestamp_ms INTEGER NOT NULL,
                    batch_id TEXT NOT NULL,
                    payload BLOB NOT NULL
                );
                CREATE TABLE audit_events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    key TEXT NOT NULL,
                    type TEXT NOT NULL,
                    time_ms INTEGER NOT NULL,
                    body_json TEXT NOT NULL
                );
                CREATE TABLE attribution (
                    world_id TEXT NOT NULL,
                    strategy_id TEXT NOT NULL,
                    venue TEXT NOT NULL,
                    symbol TEXT NOT NULL,
                    qty TEXT NOT NULL,
                    mark TEXT NOT NULL,
                    PRIMARY KEY (world_id, strategy_id, venue, symbol)
                );
                """)
        }
        migrator.registerMigration("v2: event outbox and planner relay") { db in
            try db.execute(sql: """
                CREATE TABLE gateway_events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    topic TEXT NOT NULL,
                    time_ms INTEGER NOT NULL,
                    event BLOB NOT NULL
                );
                CREATE TABLE relay_state (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    cursor INTEGER NOT NULL
                );
                INSERT INTO relay_state (id, cursor) VALUES (1, 0);
                CREATE TABLE relayed_events (event_id TEXT PRIMARY KEY);
                """)
        }
        migrator.registerMigration("v3: paced schedules, limit orders at the paper broker") { db in
            // A schedule is one row: its `Schedule` message (legs and rounds inside) rewritten with
            // every state change, beside the columns it is looked up by. `live` = the engine still
            // has work (not terminal, or an order still working).
            try db.execute(sql: """
                CREATE TABLE schedules (
                    schedule_id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL,
                    venue TEXT NOT NULL,
                    state INTEGER NOT NULL,
                    live INTEGER NOT NULL,
                    created_at_ms INTEGER NOT NULL,
                    idempotency_key TEXT UNIQUE,
                    request_digest TEXT NOT NULL,
                    buys_waiting_emitted INTEGER NOT NULL DEFAULT 0,
                    body BLOB NOT NULL
                );
                CREATE INDEX schedules_by_account ON schedules(account_id, venue, state);
                CREATE INDEX schedules_live ON schedules(live);
                ALTER TABLE orders ADD COLUMN schedule_id TEXT;
                """)
            // A store made before the paper broker owned its tables has them from v1 in their
            // first shape: bring them to the shape the paper broker's own migration creates.
            if try db.tableExists("paper_orders") {
                try db.execute(sql: """
                    ALTER TABLE paper_orders ADD COLUMN side INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE paper_orders ADD COLUMN venue TEXT NOT NULL DEFAULT '';
                    ALTER TABLE paper_orders ADD COLUMN symbol TEXT NOT NULL DEFAULT '';
                    ALTER TABLE paper_orders ADD COLUMN qty TEXT NOT NULL DEFAULT '0';
                    ALTER TABLE paper_orders ADD COLUMN limit_price TEXT NOT NULL DEFAULT '';
                    ALTER TABLE paper_orders ADD COLUMN lot TEXT NOT NULL DEFAULT '1';
                    ALTER TABLE paper_orders ADD COLUMN filled_notional TEXT NOT NULL DEFAULT '0';
                    ALTER TABLE paper_orders ADD COLUMN matchable_from_ms INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE paper_orders ADD COLUMN broker_order_id TEXT NOT NULL DEFAULT '';
                    """)
            }
        }
        registerExitSignals(&migrator)
        return migrator
    }

    // MARK: the event outbox (Watch)

    /// Appends a gateway event in the caller's transaction; answers its `seq`.
    static func appendEvent(_ event: GatewayEvent, db: Database) throws -> UInt64 {
        var stored = event
        stored.seq = 0
        try db.cachedStatement(sql: "INSERT INTO gateway_events (topic, time_ms, event) VALUES (?, ?, ?)")
            .execute(arguments: [event.topic, event.timeMs, try stored.serializedBytes() as Data])
        return UInt64(db.lastInsertedRowID)
    }

    /// Events with `seq > after` on `topics` (all when empty), in order.
    public func events(after: UInt64, topics: Set<String>, limit: Int) async throws -> (events: [GatewayEvent], scannedTo: UInt64) {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT seq, topic, event FROM gateway_events WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [after, limit])
            var events: [GatewayEvent] = []
            for row in rows where topics.isEmpty || topics.contains(row["topic"] as String) {
                var event = try GatewayEvent(serializedBytes: row["event"] as Data)
                event.seq = row["seq"]
                events.append(event)
            }
            return (events, rows.last.map { $0["seq"] as UInt64 } ?? after)
        }
    }

    public func oldestEventSeq() async throws -> UInt64? {
        try await pool.read { db in try UInt64.fetchOne(db, sql: "SELECT MIN(seq) FROM gateway_events") }
    }

    public func latestEventSeq() async throws -> UInt64 {
        try await pool.read { db in try UInt64.fetchOne(db, sql: "SELECT MAX(seq) FROM gateway_events") ?? 0 }
    }

    // MARK: the planner relay

    public enum RelayOutcome: Sendable, Equatable {
        case forwarded(GatewayEvent)
        /// An exit signal, recorded with the state the exit policy gives it.
        case exitSignal(ExitSignalRecord)
        /// seq at or below the cursor, or an event id already relayed.
        case duplicate
        /// no event id, or no plan id (no signal for an exit signal): dropped, the cursor moves past it.
        case invalid
    }

    public func relayCursor() async throws -> UInt64 {
        try await pool.read { db in try UInt64.fetchOne(db, sql: "SELECT cursor FROM relay_state WHERE id = 1") ?? 0 }
    }

    public func setRelayCursor(_ cursor: UInt64) async throws {
        try await pool.write { db in try db.execute(sql: "UPDATE relay_state SET cursor = ? WHERE id = 1", arguments: [cursor]) }
    }

    /// One planner event: appended to the gateway outbox with the cursor and its event id, in one
    /// transaction — or dropped. An exit signal is recorded in the state `exitPolicy` gives it.
    public func relay(_ event: Keel_Planner_V1_PlannerEvent, nowMs: Int64, exitPolicy: ExitPolicy.Mode = .off) async throws -> RelayOutcome {
        let (outcome, seq) = try await pool.write { db -> (RelayOutcome, UInt64) in
            let cursor = try UInt64.fetchOne(db, sql: "SELECT cursor FROM relay_state WHERE id = 1") ?? 0
            if event.seq <= cursor { return (.duplicate, 0) }
            if !event.eventID.isEmpty, try Bool.fetchOne(db, sql: "SELECT 1 FROM relayed_events WHERE event_id = ?", arguments: [event.eventID]) ?? false {
                return (.duplicate, 0)
            }
            try db.execute(sql: "UPDATE relay_state SET cursor = ? WHERE id = 1", arguments: [event.seq])
            if event.topic == PlannerRelay.exitTopic {
                guard !event.eventID.isEmpty, event.hasExitSignal, !event.exitSignal.signalID.isEmpty else { return (.invalid, 0) }
                try db.execute(sql: "INSERT INTO relayed_events (event_id) VALUES (?)", arguments: [event.eventID])
                let record = ExitSignalRecord.with {
                    $0.signal = event.exitSignal
                    $0.receivedAtMs = nowMs
                    switch exitPolicy {
                    case .off: $0.state = .ignored
                    case .approval: $0.state = .awaitingApproval
                    case .auto:
                        $0.state = .approved
                        $0.decidedBy = "policy:auto"
                        $0.decidedAtMs = nowMs
                    }
                }
                return (.exitSignal(record), try Self.receiveExitSignal(record, db: db))
            }
            if event.eventID.isEmpty || event.planID.isEmpty { return (.invalid, 0) }
            try db.execute(sql: "INSERT INTO relayed_events (event_id) VALUES (?)", arguments: [event.eventID])
            var forwarded = GatewayEvent.with {
                $0.topic = "rebalancing.planned"
                $0.timeMs = nowMs
                $0.planned = event
            }
            forwarded.seq = try Self.appendEvent(forwarded, db: db)
            return (.forwarded(forwarded), forwarded.seq)
        }
        if seq > 0 { events.committed(upTo: seq) }
        return outcome
    }

    // MARK: submission (the outbox)

    /// One submission: the execution, its batches, their orders, a commit-log record and an audit
    /// event per batch, all in one transaction.
    public struct Submission: Sendable {
        public var executionID: String
        public var createdAtMs: Int64
        public var planID: String
        public var idempotencyKey: String?
        public var requestDigest: String
        public var response: ExecuteResponse
        public var accountID: String
        public var batches: [(batch: BatchAssembly.Batch, record: CommitLogRecord, audit: AuditEvent)]
    }

    public func write(_ submission: Submission) async throws {
        let lastOffset = try await pool.write { db -> UInt64 in
            try IdempotencyKeyClaim.insert {
                try db.cachedStatement(sql: "INSERT INTO executions (execution_id, created_at_ms, plan_id, idempotency_key, request_digest, response) VALUES (?, ?, ?, ?, ?, ?)")
                    .execute(arguments: [submission.executionID, submission.createdAtMs, submission.planID, submission.idempotencyKey,
                                submission.requestDigest, try submission.response.serializedBytes() as Data])
            }
            var sequence = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(dispatch_seq), 0) FROM orders")) ?? 0
            for (batch, record, audit) in submission.batches {
                try db.cachedStatement(sql: "INSERT INTO batches (batch_id, execution_id, world_id, scope, dispatched, account_id) VALUES (?, ?, ?, ?, ?, ?)")
                    .execute(arguments: [batch.ref.batchID, submission.executionID, batch.ref.worldID, batch.ref.scope.rawValue, batch.ref.dispatched, submission.accountID])
                for order in batch.orders {
                    sequence += 1
                    let status: OrderStatus = batch.ref.dispatched ? .pending : .recorded
                    try db.cachedStatement(sql: "INSERT INTO orders (client_order_id, batch_id, dispatch_seq, world_id, account_id, body, status, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                        .execute(arguments: [order.clientOrderID, batch.ref.batchID, sequence, order.worldID, submission.accountID,
                                    try order.serializedBytes() as Data, status.rawValue, submission.createdAtMs])
                }
                try db.cachedStatement(sql: #"INSERT INTO commit_log (key, record_type, timestamp_ms, batch_id, payload) VALUES (?, ?, ?, ?, ?)"#)
                    .execute(arguments: [record.key, record.recordType, record.timestampMs, record.batchID, try record.payload.serializedBytes() as Data])
                try db.cachedStatement(sql: "INSERT INTO audit_events (key, type, time_ms, body_json) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [audit.key, audit.type, audit.timeMs, audit.bodyJson])
            }
            return try UInt64.fetchOne(db.cachedStatement(sql: #"SELECT MAX("offset") FROM commit_log"#)) ?? 0
        }
        commits.committed(upTo: lastOffset)
    }

    public func execution(forKey key: String) async throws -> (digest: String, executionID: String, response: ExecuteResponse)? {
        try keyed.row("SELECT * FROM executions WHERE idempotency_key = ?", arguments: [key]) { row in
            (row["request_digest"], row["execution_id"],
             try UnreadableStoredValue.reading(table: "executions", row: key, column: "response") { try ExecuteResponse(serializedBytes: row["response"] as Data) })
        }
    }

    // MARK: dispatch

    public struct PendingOrder: Sendable {
        public var order: VenueOrder
        public var batchID: String
        public var accountID: String
        public var status: OrderStatus
    }

    /// An `orders` row's order and status; either one unreadable is an error naming the row.
    static func storedOrder(_ row: Row) throws(UnreadableStoredValue) -> (VenueOrder, OrderStatus) {
        let id: String = row["client_order_id"]
        return (try UnreadableStoredValue.reading(table: "orders", row: id, column: "body") { try VenueOrder(serializedBytes: row["body"] as Data) },
                try UnreadableStoredValue.enumCase(OrderStatus.self, row["status"], table: "orders", row: id, column: "status"))
    }

    /// The next dispatched order still PENDING or SENT, in batch order then order order (a
    /// schedule's orders are paced by the schedule engine instead).
    public func nextPendingOrder() async throws -> PendingOrder? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT * FROM orders WHERE status IN (?, ?) AND schedule_id IS NULL ORDER BY dispatch_seq LIMIT 1
                """), arguments: [OrderStatus.pending.rawValue, OrderStatus.sent.rawValue]) else { return nil }
            let (order, status) = try Self.storedOrder(row)
            return PendingOrder(order: order, batchID: row["batch_id"], accountID: row["account_id"], status: status)
        }
    }

    /// The status of the order before `clientOrderID` in its batch (for a flip's OPEN leg).
    public func previousOrderStatus(batchID: String, before clientOrderID: String) async throws -> OrderStatus? {
        try await pool.read { db in
            try Int.fetchOne(db, sql: """
                SELECT status FROM orders WHERE batch_id = ? AND dispatch_seq < (SELECT dispatch_seq FROM orders WHERE client_order_id = ?)
                ORDER BY dispatch_seq DESC LIMIT 1
                """, arguments: [batchID, clientOrderID]).flatMap(OrderStatus.init(rawValue:))
        }
    }

    public func setStatus(_ clientOrderID: String, _ status: OrderStatus, reason: String = "", nowMs: Int64) async throws {
        let seq = try await pool.write { db -> UInt64 in
            try db.cachedStatement(sql: "UPDATE orders SET status = ?, reason = ?, updated_at_ms = ? WHERE client_order_id = ?")
                .execute(arguments: [status.rawValue, reason, nowMs, clientOrderID])
            return try Self.appendOrderUpdate(clientOrderID, db: db, nowMs: nowMs)
        }
        events.committed(upTo: seq)
    }

    /// `orders` topic: the order's status as just written (one event per status change).
    static func appendOrderUpdate(_ clientOrderID: String, db: Database, nowMs: Int64) throws -> UInt64 {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM orders WHERE client_order_id = ?"), arguments: [clientOrderID]) else { return 0 }
        var update = Keel_Gateway_V1_OrderUpdate()
        update.clientOrderID = clientOrderID
        update.batchID = row["batch_id"]
        update.status = try UnreadableStoredValue.enumCase(OrderStatus.self, row["status"], table: "orders", row: clientOrderID, column: "status")
        update.filledQty = row["filled_qty"]
        update.avgPrice = row["avg_price"]
        update.reason = row["reason"]
        return try appendEvent(.with {
            $0.topic = "orders"
            $0.timeMs = nowMs
            $0.order = update
        }, db: db)
    }

    /// The broker's answer for an order, and the fill in the attribution ledger of (world,
    /// strategy, venue, symbol), in one transaction.
    public func record(_ answer: BrokerOrder, for order: VenueOrder, nowMs: Int64) async throws {
        let price = answer.averagePrice
        let seq = try await pool.write { db -> UInt64 in
            try db.cachedStatement(sql: """
                UPDATE orders SET status = ?, filled_qty = ?, avg_price = ?, reason = ?, updated_at_ms = ? WHERE client_order_id = ?
                """).execute(arguments: [answer.status.rawValue, answer.filledQuantity.description, price?.description ?? "", answer.reason, nowMs, order.clientOrderID])
            let seq = try Self.appendOrderUpdate(order.clientOrderID, db: db, nowMs: nowMs)
            guard let price, !answer.filledQuantity.isZero else { return seq }
            let signed = order.side == .buy ? answer.filledQuantity : -answer.filledQuantity
            let key: StatementArguments = [order.worldID, order.strategyID, order.venue, order.symbol]
            let old = try String.fetchOne(db.cachedStatement(sql: "SELECT qty FROM attribution WHERE world_id = ? AND strategy_id = ? AND venue = ? AND symbol = ?"), arguments: key)
            let held = try UnreadableStoredValue.decimal(ifAny: old, table: "attribution", row: "\(order.worldID)/\(order.strategyID)/\(order.venue)/\(order.symbol)", column: "qty")
            let qty = (held ?? .zero) + signed
            try db.cachedStatement(sql: """
                INSERT INTO attribution (world_id, strategy_id, venue, symbol, qty, mark) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(world_id, strategy_id, venue, symbol) DO UPDATE SET qty = excluded.qty, mark = excluded.mark
                """).execute(arguments: key + [qty.description, price.description])
            return seq
        }
        events.committed(upTo: seq)
    }

    /// The attribution ledger in the shape of the planner's `Position` (non-zero rows).
    public func attributedPositions() async throws -> [Keel_Planner_V1_Position] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM attribution ORDER BY world_id, strategy_id, venue, symbol").compactMap { row in
                let qty: String = row["qty"]
                guard DecimalGrammar.parse(qty)?.isZero == false else { return nil }
                return .with {
                    $0.worldID = row["world_id"]
                    $0.strategyID = row["strategy_id"]
                    $0.venue = row["venue"]
                    $0.symbol = row["symbol"]
                    $0.qty = qty
                    $0.mark = row["mark"]
                }
            }
        }
    }

    // MARK: reads

    public func commitLog(from offset: UInt64, limit: Int) async throws -> [CommitLogRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: #"SELECT * FROM commit_log WHERE "offset" >= ? ORDER BY "offset" LIMIT ?"#, arguments: [offset, limit]).map { row in
                var record = CommitLogRecord()
                record.offset = row["offset"]
                record.key = row["key"]
                record.recordType = row["record_type"]
                record.timestampMs = row["timestamp_ms"]
                record.batchID = row["batch_id"]
                record.payload = try UnreadableStoredValue.reading(table: "commit_log", row: "\(record.offset)", column: "payload") {
                    try Keel_Gateway_V1_RebalanceBatch(serializedBytes: row["payload"] as Data)
                }
                return record
            }
        }
    }

    public func auditEvents(key: String, afterID: UInt64, limit: Int) async throws -> [AuditEvent] {
        try await pool.read { db in
            let rows = key.isEmpty
                ? try Row.fetchAll(db, sql: "SELECT * FROM audit_events WHERE id > ? ORDER BY id LIMIT ?", arguments: [afterID, limit])
                : try Row.fetchAll(db, sql: "SELECT * FROM audit_events WHERE key = ? AND id > ? ORDER BY id LIMIT ?", arguments: [key, afterID, limit])
            return rows.map { row in
                AuditEvent.with {
                    $0.id = row["id"]
                    $0.key = row["key"]
                    $0.type = row["type"]
                    $0.timeMs = row["time_ms"]
                    $0.bodyJson = row["body_json"]
                }
            }
        }
    }

    public func orderRecords(batchID: String, worldID: String, status: OrderStatus, afterSeq: Int64, limit: Int) async throws -> [(seq: Int64, record: Keel_Gateway_V1_OrderRecord)] {
        try await pool.read { db in
            var sql = "SELECT * FROM orders WHERE dispatch_seq > ?"
            var arguments: StatementArguments = [afterSeq]
            if !batchID.isEmpty { sql += " AND batch_id = ?"; arguments += [batchID] }
            if !worldID.isEmpty { sql += " AND world_id = ?"; arguments += [worldID] }
            if status != .unspecified { sql += " AND status = ?"; arguments += [status.rawValue] }
            sql += " ORDER BY dispatch_seq LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                var record = Keel_Gateway_V1_OrderRecord()
                (record.order, record.status) = try Self.storedOrder(row)
                record.batchID = row["batch_id"]
                record.filledQty = row["filled_qty"]
                record.updatedAtMs = row["updated_at_ms"]
                record.reason = row["reason"]
                return (row["dispatch_seq"], record)
            }
        }
    }
}

import Contracts
import Foundation
import GRDB
import KeelStore

/// keel-planner's store: plans and risk evaluations (with their request bytes, digest and
/// idempotency key) and the event outbox. Each is written with its events in one transaction.
public final class PlannerStore: Sendable {
    public struct StoredPlan: Sendable {
        public var planID: String
        public var createdAtMs: Int64
        public var requestDigest: String
        public var idempotencyKey: String?
        public var requestBytes: Data
        public var planBytes: Data

        public init(planID: String, createdAtMs: Int64, requestDigest: String, idempotencyKey: String?, requestBytes: Data, planBytes: Data) {
            (self.planID, self.createdAtMs, self.requestDigest, self.idempotencyKey) = (planID, createdAtMs, requestDigest, idempotencyKey)
            (self.requestBytes, self.planBytes) = (requestBytes, planBytes)
        }
    }

    let pool: DatabasePool
    /// Reads of one plan or evaluation by key, in place (GetPlan and the replay lookups).
    let keyed: PointReaders
    /// The log's checkpoints, which the process host runs.
    public let checkpoints: WALCheckpoints
    /// Raised after every commit of events, so `Watch` streams follow without polling.
    public let commits: CommitSignal

    public init(path: String) throws {
        let file = try StoreFile(path: path, migrator: Self.migrator)
        (pool, keyed, checkpoints) = (file.pool, file.keyed, file.checkpoints)
        commits = try file.commitSignal(latest: "SELECT MAX(seq) FROM planner_events")
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: plans and event outbox") { db in
            try db.execute(sql: """
                CREATE TABLE plans (
                    plan_id TEXT PRIMARY KEY,
                    created_at_ms INTEGER NOT NULL,
                    request_digest TEXT NOT NULL,
                    idempotency_key TEXT UNIQUE,
                    request BLOB NOT NULL,
                    plan BLOB NOT NULL
                );
                CREATE TABLE planner_events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id TEXT NOT NULL UNIQUE,
                    topic TEXT NOT NULL,
                    time_ms INTEGER NOT NULL,
                    plan_id TEXT NOT NULL REFERENCES plans(plan_id),
                    event BLOB NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2: risk evaluations; events without a plan (exit signals)") { db in
            try db.execute(sql: """
                CREATE TABLE risk_evaluations (
                    evaluation_id TEXT PRIMARY KEY,
                    created_at_ms INTEGER NOT NULL,
                    request_digest TEXT NOT NULL,
                    idempotency_key TEXT UNIQUE,
                    request BLOB NOT NULL,
                    response BLOB NOT NULL
                );
                CREATE TABLE planner_events_v2 (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id TEXT NOT NULL UNIQUE,
                    topic TEXT NOT NULL,
                    time_ms INTEGER NOT NULL,
                    plan_id TEXT NOT NULL,
                    event BLOB NOT NULL
                );
                INSERT INTO planner_events_v2 (seq, event_id, topic, time_ms, plan_id, event)
                    SELECT seq, event_id, topic, time_ms, plan_id, event FROM planner_events;
                DROP TABLE planner_events;
                ALTER TABLE planner_events_v2 RENAME TO planner_events;
                """)
        }
        return migrator
    }

    public struct StoredEvaluation: Sendable {
        public var evaluationID: String
        public var createdAtMs: Int64
        public var requestDigest: String
        public var idempotencyKey: String?
        public var requestBytes: Data
        public var responseBytes: Data
    }

    /// A risk evaluation with its inputs and one event per signal, in one transaction. Throws
    /// `IdempotencyKeyTaken` when the key is already stored.
    public func insert(_ evaluation: StoredEvaluation, events: [Keel_Planner_V1_PlannerEvent]) async throws {
        let latest = try await pool.write { db -> UInt64 in
            try IdempotencyKeyClaim.insert {
                try db.execute(sql: """
                    INSERT INTO risk_evaluations (evaluation_id, created_at_ms, request_digest, idempotency_key, request, response) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [evaluation.evaluationID, evaluation.createdAtMs, evaluation.requestDigest, evaluation.idempotencyKey,
                                     evaluation.requestBytes, evaluation.responseBytes])
            }
            return try Self.append(events, db: db)
        }
        if latest > 0 { commits.committed(upTo: latest) }
    }

    public func evaluation(forKey key: String) async throws -> StoredEvaluation? {
        try keyed.row("SELECT * FROM risk_evaluations WHERE idempotency_key = ?", arguments: [key]) { row in
            StoredEvaluation(evaluationID: row["evaluation_id"], createdAtMs: row["created_at_ms"], requestDigest: row["request_digest"],
                             idempotencyKey: row["idempotency_key"], requestBytes: row["request"], responseBytes: row["response"])
        }
    }

    static func append(_ events: [Keel_Planner_V1_PlannerEvent], db: Database) throws -> UInt64 {
        var last: UInt64 = 0
        for event in events {
            let bytes: Data = try event.serializedBytes()
            try db.execute(
                sql: "INSERT INTO planner_events (event_id, topic, time_ms, plan_id, event) VALUES (?, ?, ?, ?, ?)",
                arguments: [event.eventID, event.topic, event.timeMs, event.planID, bytes])
            last = UInt64(db.lastInsertedRowID)
        }
        return last
    }

    public func plan(forKey key: String) async throws -> StoredPlan? {
        try keyed.row("SELECT * FROM plans WHERE idempotency_key = ?", arguments: [key], as: Self.storedPlan)
    }

    public func plan(id: String) async throws -> StoredPlan? {
        try keyed.row("SELECT * FROM plans WHERE plan_id = ?", arguments: [id], as: Self.storedPlan)
    }

    /// Writes the plan and its events (their `seq` assigned here) in one transaction; answers the
    /// highest `seq` written. Throws `IdempotencyKeyTaken` when the key is already stored.
    public func insert(_ plan: StoredPlan, events: [Keel_Planner_V1_PlannerEvent]) async throws -> UInt64 {
        let latest = try await pool.write { db -> UInt64 in
            try IdempotencyKeyClaim.insert {
                try db.execute(
                    sql: "INSERT INTO plans (plan_id, created_at_ms, request_digest, idempotency_key, request, plan) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [plan.planID, plan.createdAtMs, plan.requestDigest, plan.idempotencyKey, plan.requestBytes, plan.planBytes])
            }
            return try Self.append(events, db: db)
        }
        if latest > 0 { commits.committed(upTo: latest) }
        return latest
    }

    /// Events with `seq > after`, in order, at most `limit`.
    public func events(after: UInt64, limit: Int) async throws -> [Keel_Planner_V1_PlannerEvent] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, event FROM planner_events WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [after, limit]).map { row in
                var event = try Keel_Planner_V1_PlannerEvent(serializedBytes: row["event"] as Data)
                event.seq = row["seq"]
                return event
            }
        }
    }

    /// The oldest retained event's `seq`, nil when there is none.
    public func oldestSeq() async throws -> UInt64? {
        try await pool.read { db in try UInt64.fetchOne(db, sql: "SELECT MIN(seq) FROM planner_events") }
    }

    /// Retention: drops events older than `maxAgeMs` (7 days) that are not
    /// among the newest `keepNewest` (100,000); answers how many were dropped. Plans are kept
    /// (at least 30 days is required; nothing deletes them).
    @discardableResult
    public func pruneEvents(nowMs: Int64, maxAgeMs: Int64 = 7 * 24 * 3_600_000, keepNewest: Int = 100_000) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: """
                DELETE FROM planner_events
                WHERE time_ms < ? AND seq <= (SELECT MAX(seq) FROM planner_events) - ?
                """, arguments: [nowMs - maxAgeMs, keepNewest])
            return db.changesCount
        }
    }

    static func storedPlan(_ row: Row) -> StoredPlan {
        StoredPlan(
            planID: row["plan_id"], createdAtMs: row["created_at_ms"], requestDigest: row["request_digest"],
            idempotencyKey: row["idempotency_key"], requestBytes: row["request"], planBytes: row["plan"])
    }
}

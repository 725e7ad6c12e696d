import Contracts
import Execution
import Foundation
import GRDB
import KeelStore

public typealias Schedule = Keel_Gateway_V1_Schedule
public typealias ScheduleEvent = Keel_Gateway_V1_ScheduleEvent
public typealias ScheduleState = Keel_Gateway_V1_ScheduleState
public typealias RoundState = Keel_Gateway_V1_RoundState

extension ScheduleState {
    /// COMPLETED, CANCELLED, EXPIRED, FAILED: no new round will start.
    public var isTerminal: Bool {
        switch self {
        case .completed, .cancelled, .expired, .failed: true
        default: false
        }
    }

    /// The states that are not terminal, as stored (what "active" means to Start and List).
    static let activeRawValues: [Int] = [ScheduleState.scheduled, .selling, .waiting, .buying].map(\.rawValue)
}

/// A schedule as stored, with what the engine keeps beside it.
public struct StoredSchedule: Sendable {
    public var schedule: Schedule
    public var buysWaitingEmitted: Bool
    public var requestDigest: String
}

/// The order row of one round, written in the same transaction as the schedule change it belongs to.
struct ScheduleOrderRow: Sendable {
    var order: VenueOrder
    var accountID: String
    var status: OrderStatus
    var filledQty: String = "0"
    var avgPrice: String = ""
    var reason: String = ""
}

extension GatewayStore {
    /// A new schedule, its `CREATED` event, and the execution and batch rows its orders hang from
    /// (`batch_id = schedule_id`, empty world), in one transaction. A taken idempotency key throws
    /// `IdempotencyKeyTaken`.
    func createSchedule(_ schedule: Schedule, idempotencyKey: String?, requestDigest: String, event: ScheduleEvent) async throws {
        let seq = try await pool.write { db -> UInt64 in
            try IdempotencyKeyClaim.insert {
                try db.execute(sql: """
                    INSERT INTO schedules (schedule_id, account_id, venue, state, live, created_at_ms, idempotency_key, request_digest, body)
                    VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)
                    """, arguments: [schedule.scheduleID, schedule.accountID, schedule.venue.lowercased(), schedule.state.rawValue,
                                     schedule.createdAtMs, idempotencyKey, requestDigest, try schedule.serializedBytes() as Data])
            }
            try db.execute(
                sql: "INSERT INTO executions (execution_id, created_at_ms, plan_id, idempotency_key, request_digest, response) VALUES (?, ?, ?, NULL, ?, ?)",
                arguments: [schedule.scheduleID, schedule.createdAtMs, schedule.planID, requestDigest, Data()])
            try db.execute(
                sql: "INSERT INTO batches (batch_id, execution_id, world_id, scope, dispatched, account_id) VALUES (?, ?, '', 0, 1, ?)",
                arguments: [schedule.scheduleID, schedule.scheduleID, schedule.accountID])
            return try Self.appendScheduleEvent(event, db: db)
        }
        events.committed(upTo: seq)
    }

    /// One state change of a schedule: the schedule, its order rows and its events, in one transaction.
    func saveSchedule(_ schedule: Schedule, live: Bool, buysWaitingEmitted: Bool, events scheduleEvents: [ScheduleEvent],
                      orders: [ScheduleOrderRow], nowMs: Int64) async throws {
        let seq = try await pool.write { db -> UInt64 in
            try db.execute(
                sql: "UPDATE schedules SET state = ?, live = ?, buys_waiting_emitted = ?, body = ? WHERE schedule_id = ?",
                arguments: [schedule.state.rawValue, live, buysWaitingEmitted, try schedule.serializedBytes() as Data, schedule.scheduleID])
            var seq: UInt64 = 0
            for row in orders {
                let next = (try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(dispatch_seq), 0) FROM orders") ?? 0) + 1
                try db.execute(sql: """
                    INSERT INTO orders (client_order_id, batch_id, dispatch_seq, world_id, account_id, body, status, filled_qty, avg_price, reason, updated_at_ms, schedule_id)
                    VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(client_order_id) DO UPDATE SET body = excluded.body, status = excluded.status, filled_qty = excluded.filled_qty,
                        avg_price = excluded.avg_price, reason = excluded.reason, updated_at_ms = excluded.updated_at_ms
                    """, arguments: [row.order.clientOrderID, schedule.scheduleID, next, row.accountID, try row.order.serializedBytes() as Data,
                                     row.status.rawValue, row.filledQty, row.avgPrice, row.reason, nowMs, schedule.scheduleID])
                seq = try Self.appendOrderUpdate(row.order.clientOrderID, db: db, nowMs: nowMs)
            }
            for event in scheduleEvents { seq = try Self.appendScheduleEvent(event, db: db) }
            return seq
        }
        if seq > 0 { events.committed(upTo: seq) }
    }

    static func appendScheduleEvent(_ event: ScheduleEvent, db: Database) throws -> UInt64 {
        try appendEvent(.with {
            $0.topic = "schedule.progress"
            $0.timeMs = event.timeMs
            $0.schedule = event
        }, db: db)
    }

    public func storedSchedule(id: String) async throws -> StoredSchedule? {
        try keyed.row("SELECT * FROM schedules WHERE schedule_id = ?", arguments: [id], as: Self.stored)
    }

    func schedule(forKey key: String) async throws -> StoredSchedule? {
        try keyed.row("SELECT * FROM schedules WHERE idempotency_key = ?", arguments: [key], as: Self.stored)
    }

    /// Schedules the engine still has work for, oldest first.
    func liveSchedules() async throws -> [StoredSchedule] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM schedules WHERE live = 1 ORDER BY created_at_ms, schedule_id").map(Self.stored)
        }
    }

    /// The non-terminal schedule of (account, venue), if one exists.
    func activeScheduleID(accountID: String, venue: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT schedule_id FROM schedules WHERE account_id = ? AND venue = ? AND state IN (?, ?, ?, ?) LIMIT 1",
                                arguments: StatementArguments([accountID, venue.lowercased()]) + StatementArguments(ScheduleState.activeRawValues))
        }
    }

    /// Newest first; `before` is the (created, id) of the last schedule of the previous page.
    func schedules(accountID: String, activeOnly: Bool, before: (createdAtMs: Int64, id: String)?, limit: Int) async throws -> [Schedule] {
        try await pool.read { db in
            var sql = "SELECT * FROM schedules WHERE 1 = 1"
            var arguments: StatementArguments = []
            if !accountID.isEmpty { sql += " AND account_id = ?"; arguments += [accountID] }
            if activeOnly {
                sql += " AND state IN (?, ?, ?, ?)"
                arguments += StatementArguments(ScheduleState.activeRawValues)
            }
            if let before {
                sql += " AND (created_at_ms < ? OR (created_at_ms = ? AND schedule_id < ?))"
                arguments += [before.createdAtMs, before.createdAtMs, before.id]
            }
            sql += " ORDER BY created_at_ms DESC, schedule_id DESC LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { try Self.stored($0).schedule }
        }
    }

    static func stored(_ row: Row) throws -> StoredSchedule {
        StoredSchedule(schedule: try Schedule(serializedBytes: row["body"] as Data), buysWaitingEmitted: row["buys_waiting_emitted"],
                       requestDigest: row["request_digest"])
    }
}

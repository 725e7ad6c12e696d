import CapitalAllocation
import Contracts
import ExactNumbers
import Foundation
import GRDB
import KeelStore

/// The scheduler's lease and its slot runs.
struct SchedulerStore: Sendable {
    let pool: DatabasePool

    // MARK: schedule

    /// Claims the scheduler lease for `holder` when it is free, expired or already held; answers
    /// whether `holder` holds it now.
    func acquireLease(holder: String, nowMs: Int64, ttlMs: Int64) async throws -> Bool {
        try await pool.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT holder, expires_at_ms FROM scheduler_lease WHERE id = 1"),
               (row["holder"] as String) != holder, (row["expires_at_ms"] as Int64) > nowMs {
                return false
            }
            try db.execute(sql: """
                INSERT INTO scheduler_lease (id, holder, expires_at_ms) VALUES (1, ?, ?)
                ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms
                """, arguments: [holder, nowMs + ttlMs])
            return true
        }
    }

    func releaseLease(holder: String) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM scheduler_lease WHERE holder = ?", arguments: [holder]) }
    }

    /// Runs claimed by a process that stopped before finishing them: marked INTERRUPTED, never repeated.
    func markInterruptedRuns(nowMs: Int64) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "UPDATE schedule_runs SET outcome = ?, finished_at_ms = ? WHERE outcome = ?",
                           arguments: [Keel_Capital_V1_SlotOutcome.interrupted.rawValue, nowMs, Keel_Capital_V1_SlotOutcome.running.rawValue])
            return db.changesCount
        }
    }

    func scheduleRunExists(slot: String, atMs: Int64) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM schedule_runs WHERE slot = ? AND scheduled_at_ms = ?)", arguments: [slot, atMs]) ?? false
        }
    }

    /// Inserts the rows of occurrences (RUNNING claims or MISSED records) in one transaction;
    /// answers false, writing nothing, when any of them is already recorded.
    func claim(_ occurrences: [(slot: String, atMs: Int64)], outcome: Keel_Capital_V1_SlotOutcome, nowMs: Int64) async throws -> Bool {
        do {
            try await pool.write { db in
                for occurrence in occurrences {
                    try db.execute(sql: "INSERT INTO schedule_runs (slot, scheduled_at_ms, claimed_at_ms, finished_at_ms, outcome) VALUES (?, ?, ?, ?, ?)",
                                   arguments: [occurrence.slot, occurrence.atMs, nowMs, outcome == .running ? nil : nowMs, outcome.rawValue])
                }
            }
            return true
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            return false
        }
    }

    func finish(_ occurrences: [(slot: String, atMs: Int64)], outcome: Keel_Capital_V1_SlotOutcome, rebalanced: Int, skipped: Int, failed: Int, nowMs: Int64) async throws {
        try await pool.write { db in
            for occurrence in occurrences {
                try db.execute(sql: """
                    UPDATE schedule_runs SET outcome = ?, finished_at_ms = ?, rebalanced = ?, skipped = ?, failed = ? WHERE slot = ? AND scheduled_at_ms = ?
                    """, arguments: [outcome.rawValue, nowMs, rebalanced, skipped, failed, occurrence.slot, occurrence.atMs])
            }
        }
    }

    /// The latest recorded occurrence of each slot: slot → (scheduled at, outcome).
    func lastScheduleRuns() async throws -> [String: (atMs: Int64, outcome: Keel_Capital_V1_SlotOutcome)] {
        try await pool.read { db in
            var out: [String: (Int64, Keel_Capital_V1_SlotOutcome)] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT slot, scheduled_at_ms, outcome FROM schedule_runs r
                WHERE scheduled_at_ms = (SELECT MAX(scheduled_at_ms) FROM schedule_runs WHERE slot = r.slot)
                """) {
                out[row["slot"]] = (row["scheduled_at_ms"], Keel_Capital_V1_SlotOutcome(rawValue: row["outcome"]) ?? .unspecified)
            }
            return out
        }
    }

    /// Every recorded occurrence, oldest first (for tests and operators).
    func scheduleRuns() async throws -> [(slot: String, atMs: Int64, outcome: Int, rebalanced: Int)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM schedule_runs ORDER BY scheduled_at_ms, slot").map { ($0["slot"], $0["scheduled_at_ms"], $0["outcome"], $0["rebalanced"]) }
        }
    }
}

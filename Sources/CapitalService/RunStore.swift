import CapitalAllocation
import Contracts
import ExactNumbers
import Foundation
import GRDB
import KeelStore

/// Allocations written, rebalance runs and the answers kept under idempotency keys.
struct RunStore: Sendable {
    let pool: DatabasePool
    /// Reads of one row by key, in place.
    let keyed: PointReaders

    // MARK: allocations and runs

    /// One allocation to write: every active strategy account's capital, the
    /// account's previous total and last rebalance, the PnL the balance already holds marked as
    /// applied by the run, the run, and the idempotency record when the call has a key.
    struct AllocationWrite: Sendable {
        var accountID: String
        var total: ExactDecimal
        var lines: [(strategyAccountID: String, allocated: ExactDecimal)]
        var atMs: Int64
        var runID: String
        var runStartedAtMs: Int64
        /// The encoded run, made while the allocation is prepared (off the store's one writer).
        var runBytes: Data
        var answer: (key: String, StoredAnswer)?
    }

    /// Writes allocations in one transaction: per account one upsert of all its lines and one
    /// update of their unapplied executions (up to 200 lines per statement).
    func writeAllocations(_ writes: [AllocationWrite]) async throws {
        guard !writes.isEmpty else { return }
        try await pool.write { db in
            // The two statements' text per number of lines (accounts mostly share a few counts).
            var sqlByCount: [Int: (capital: String, executions: String)] = [:]
            func sql(_ count: Int) -> (capital: String, executions: String) {
                if let known = sqlByCount[count] { return known }
                let made = (capital: """
                    INSERT INTO strategy_capital (strategy_account_id, allocated_capital, last_updated_ms, last_rebalance_at_ms) VALUES
                    """ + Array(repeating: "(?, ?, ?, ?)", count: count).joined(separator: ", ") + """

                    ON CONFLICT (strategy_account_id) DO UPDATE SET allocated_capital = excluded.allocated_capital,
                        last_updated_ms = excluded.last_updated_ms, last_rebalance_at_ms = excluded.last_rebalance_at_ms
                    """, executions: "UPDATE trade_executions SET applied_by = ? WHERE strategy_account_id IN (" + databaseQuestionMarks(count: count)
                        + ") AND applied_by IS NULL AND realized_pnl IS NOT NULL")
                sqlByCount[count] = made
                return made
            }
            for write in writes {
                for lines in write.lines.chunks(of: 200) {
                    let statements = sql(lines.count)
                    var capital: [(any DatabaseValueConvertible)?] = []
                    capital.reserveCapacity(lines.count * 4)
                    for line in lines { capital += [line.strategyAccountID, line.allocated.description, write.atMs, write.atMs] }
                    try db.cachedStatement(sql: statements.capital).execute(arguments: StatementArguments(capital))
                    try db.cachedStatement(sql: statements.executions).execute(arguments: StatementArguments([write.runID] + lines.map(\.strategyAccountID)))
                }
                try db.cachedStatement(sql: "UPDATE accounts SET previous_total_capital = ?, last_rebalance_at_ms = ? WHERE account_id = ?")
                    .execute(arguments: [write.total.description, write.atMs, write.accountID])
                try db.cachedStatement(sql: "INSERT INTO rebalance_runs (run_id, account_id, started_at_ms, run) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [write.runID, write.accountID, write.runStartedAtMs, write.runBytes])
                if let (key, answer) = write.answer { try Self.insert(db, key: key, answer) }
            }
        }
    }

    /// Stores the converge outcome of a run (and the plan request it built), and refreshes the
    /// answer stored under the call's idempotency key.
    func updateRun(_ run: RebalanceRun, planRequest: Data?, answer: (key: String, response: Data)?) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE rebalance_runs SET run = ?, plan_request = COALESCE(?, plan_request) WHERE run_id = ?",
                           arguments: [try run.serializedBytes() as Data, planRequest, run.runID])
            if let answer {
                try db.execute(sql: "UPDATE idempotency_keys SET response = ? WHERE idempotency_key = ?", arguments: [answer.response, answer.key])
            }
        }
    }

    func run(id: String) async throws -> (run: RebalanceRun, planRequest: Data?)? {
        try keyed.row("SELECT run, plan_request FROM rebalance_runs WHERE run_id = ?", arguments: [id]) { row in
            (try RebalanceRun(serializedBytes: row["run"] as Data), row["plan_request"])
        }
    }

    /// Newest first (in write order); `before` = the last run id of the previous page. nil when
    /// `before` names no run (not a token this service issued).
    func runs(accountID: String?, limit: Int, before: String?) async throws -> [RebalanceRun]? {
        try await pool.read { db in
            var sql = "SELECT run FROM rebalance_runs WHERE 1 = 1"
            var arguments: StatementArguments = []
            if let accountID { sql += " AND account_id = ?"; arguments += [accountID] }
            if let before {
                guard let seq = try Int64.fetchOne(db, sql: "SELECT seq FROM rebalance_runs WHERE run_id = ?", arguments: [before]) else { return nil }
                sql += " AND seq < ?"
                arguments += [seq]
            }
            sql += " ORDER BY seq DESC LIMIT ?"
            arguments += [limit]
            return try Data.fetchAll(db, sql: sql, arguments: arguments).map { try RebalanceRun(serializedBytes: $0) }
        }
    }

    // MARK: idempotency

    func answer(forKey key: String) async throws -> StoredAnswer? {
        try keyed.row("SELECT * FROM idempotency_keys WHERE idempotency_key = ?", arguments: [key]) { row in
            StoredAnswer(method: row["method"], digest: row["digest"], response: row["response"], runID: row["run_id"])
        }
    }

    func store(_ answer: StoredAnswer, key: String) async throws {
        try await pool.write { db in try Self.insert(db, key: key, answer) }
    }

    static func insert(_ db: Database, key: String, _ answer: StoredAnswer) throws {
        try IdempotencyKeyClaim.insert {
            try db.execute(sql: "INSERT INTO idempotency_keys (idempotency_key, method, digest, response, run_id) VALUES (?, ?, ?, ?, ?)",
                           arguments: [key, answer.method, answer.digest, answer.response, answer.runID])
        }
    }
}

import Contracts
import Execution
import Foundation
import GRDB
import KeelStore

public typealias ExitSignalRecord = Keel_Gateway_V1_ExitSignalRecord
public typealias ExitSignalState = Keel_Gateway_V1_ExitSignalState

/// The exit engine's signals at the gateway: each one as received (with the state the exit policy
/// gave it) and every decision after, each written with its audit event and its `exit.signals`
/// event in one transaction.
extension GatewayStore {
    static func registerExitSignals(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4: exit signals") { db in
            try db.execute(sql: """
                CREATE TABLE exit_signals (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    signal_id TEXT NOT NULL UNIQUE,
                    state INTEGER NOT NULL,
                    body BLOB NOT NULL
                );
                CREATE INDEX exit_signals_by_state ON exit_signals(state, id);
                """)
        }
    }

    /// A relayed planner exit signal, in the relay's transaction: the record, its audit event and
    /// its `exit.signals` event; answers the `seq` of the event.
    static func receiveExitSignal(_ record: ExitSignalRecord, db: Database) throws -> UInt64 {
        try db.execute(sql: "INSERT INTO exit_signals (signal_id, state, body) VALUES (?, ?, ?)", arguments: [
            record.signal.signalID, record.state.rawValue, try record.serializedBytes() as Data,
        ])
        return try appendExitAudit(record, type: "EXIT_SIGNAL", nowMs: record.receivedAtMs, db: db)
    }

    /// A decision: the record moves from `expected` to its new state, with its audit event (`type`)
    /// and its event. Answers false (and writes nothing) when the signal is no longer in `expected`.
    func decideExitSignal(_ record: ExitSignalRecord, from expected: ExitSignalState, auditType: String, nowMs: Int64) async throws -> Bool {
        let seq = try await pool.write { db -> UInt64? in
            try db.execute(sql: "UPDATE exit_signals SET state = ?, body = ? WHERE signal_id = ? AND state = ?", arguments: [
                record.state.rawValue, try record.serializedBytes() as Data, record.signal.signalID, expected.rawValue,
            ])
            guard db.changesCount == 1 else { return nil }
            return try Self.appendExitAudit(record, type: auditType, nowMs: nowMs, db: db)
        }
        guard let seq else { return false }
        events.committed(upTo: seq)
        return true
    }

    static func appendExitAudit(_ record: ExitSignalRecord, type: String, nowMs: Int64, db: Database) throws -> UInt64 {
        let signal = record.signal
        var body: [String: Any] = [
            "signal_id": signal.signalID, "evaluation_id": signal.evaluationID, "world_id": signal.worldID, "strategy_id": signal.strategyID,
            "rule_id": signal.ruleID, "action": "\(signal.action)", "reduce_fraction": signal.reduceFraction, "reason": signal.reason,
            "metrics": signal.metrics, "state": "\(record.state)", "decided_by": record.decidedBy, "decision_reason": record.reason,
            "plan_id": record.planID, "execution_id": record.executionID,
        ]
        if signal.asOfMs != 0 { body["as_of_ms"] = signal.asOfMs }
        let json = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        try db.execute(sql: "INSERT INTO audit_events (key, type, time_ms, body_json) VALUES (?, ?, ?, ?)",
                       arguments: ["exit:\(signal.worldID)", type, nowMs, json])
        return try appendEvent(.with {
            $0.topic = "exit.signals"
            $0.timeMs = nowMs
            $0.exitSignal = record
        }, db: db)
    }

    public func exitSignal(id: String) async throws -> ExitSignalRecord? {
        try keyed.row("SELECT body FROM exit_signals WHERE signal_id = ?", arguments: [id]) { row in try ExitSignalRecord(serializedBytes: row["body"] as Data) }
    }

    /// In the order received, after the row `afterID`; `state` UNSPECIFIED = all.
    public func exitSignals(state: ExitSignalState, afterID: Int64, limit: Int) async throws -> [(id: Int64, record: ExitSignalRecord)] {
        try await pool.read { db in
            let rows = state == .unspecified
                ? try Row.fetchAll(db, sql: "SELECT id, body FROM exit_signals WHERE id > ? ORDER BY id LIMIT ?", arguments: [afterID, limit])
                : try Row.fetchAll(db, sql: "SELECT id, body FROM exit_signals WHERE state = ? AND id > ? ORDER BY id LIMIT ?", arguments: [state.rawValue, afterID, limit])
            return try rows.map { ($0["id"], try ExitSignalRecord(serializedBytes: $0["body"] as Data)) }
        }
    }
}

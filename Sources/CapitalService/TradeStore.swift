import CapitalAllocation
import Contracts
import ExactNumbers
import Foundation
import GRDB
import KeelStore

/// Recorded trades, the strategies' net positions, PnL compounding and the fill follower's state.
struct TradeStore: Sendable {
    let pool: DatabasePool

    // MARK: trades, positions, PnL

    static func trade(_ row: Row) throws(UnreadableStoredValue) -> TradeRecord {
        let key = "\(row["strategy_account_id"] as String)/\(row["execution_id"] as String)"
        func decimal(_ column: String) throws(UnreadableStoredValue) -> ExactDecimal {
            try UnreadableStoredValue.decimal(row[column], table: "trade_executions", row: key, column: column)
        }
        let pnl: String? = row["realized_pnl"]
        return TradeRecord(
            strategyAccountID: row["strategy_account_id"], executionID: row["execution_id"], executionTimeMs: row["execution_time_ms"],
            symbol: row["symbol"], side: try UnreadableStoredValue.enumCase(TradeSide.self, row["side"], table: "trade_executions", row: key, column: "side"),
            qty: try decimal("qty"), price: try decimal("price"), realizedPnl: pnl == nil ? nil : try decimal("realized_pnl"))
    }

    /// A fill of a gateway order as the follower last recorded it (cumulative), and the `orders`
    /// event it came from.
    struct FollowedFill: Sendable {
        var clientOrderID: String
        var filledQty: ExactDecimal
        var notional: ExactDecimal
        var seq: UInt64
    }

    enum TradeOutcome {
        case replayed(positionQty: ExactDecimal)
        case stored(positionQty: ExactDecimal, pnl: PnlCompounding.Result?)
    }

    /// Stores a trade, moves the strategy's net quantity of the symbol, and (with `compound`)
    /// applies the unapplied PnL, all in one transaction. The same execution id with the same
    /// content is a replay (`timeGiven` false: the stored time is accepted); other content conflicts.
    func record(_ trade: TradeRecord, timeGiven: Bool, compound: Bool, nowMs: Int64, followed: FollowedFill? = nil) async throws -> TradeOutcome {
        try await pool.write { db in
            if let followed { try Self.follow(db, followed) }
            if let stored = try Row.fetchOne(db, sql: "SELECT * FROM trade_executions WHERE strategy_account_id = ? AND execution_id = ?",
                                             arguments: [trade.strategyAccountID, trade.executionID]).map({ row throws in try Self.trade(row) }) {
                var comparable = trade
                if !timeGiven { comparable.executionTimeMs = stored.executionTimeMs }
                guard comparable == stored else {
                    throw FieldError(.tradeConflict, field: "execution_id",
                                     message: "execution \(trade.executionID) is already recorded with other content")
                }
                return .replayed(positionQty: try Self.netQuantity(db, trade.strategyAccountID, trade.symbol))
            }
            try db.execute(sql: """
                INSERT INTO trade_executions (strategy_account_id, execution_id, execution_time_ms, symbol, side, qty, price, realized_pnl)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [trade.strategyAccountID, trade.executionID, trade.executionTimeMs, trade.symbol, trade.side.rawValue,
                                 trade.qty.description, trade.price.description, trade.realizedPnl?.description])
            let position = try Self.netQuantity(db, trade.strategyAccountID, trade.symbol) + trade.signedQty
            try db.execute(sql: """
                INSERT INTO strategy_positions (strategy_account_id, symbol, qty) VALUES (?, ?, ?)
                ON CONFLICT (strategy_account_id, symbol) DO UPDATE SET qty = excluded.qty
                """, arguments: [trade.strategyAccountID, trade.symbol, position.description])
            var pnl: PnlCompounding.Result?
            if compound, try Self.hasCapital(db, trade.strategyAccountID) {
                pnl = try Self.applyPnl(db, trade.strategyAccountID, nowMs: nowMs)
            }
            return .stored(positionQty: position, pnl: pnl)
        }
    }

    static func follow(_ db: Database, _ fill: FollowedFill) throws {
        try db.execute(sql: """
            INSERT INTO followed_orders (client_order_id, filled_qty, notional) VALUES (?, ?, ?)
            ON CONFLICT (client_order_id) DO UPDATE SET filled_qty = excluded.filled_qty, notional = excluded.notional
            """, arguments: [fill.clientOrderID, fill.filledQty.description, fill.notional.description])
        try setCursor(db, fill.seq)
    }

    static func setCursor(_ db: Database, _ seq: UInt64) throws {
        try db.execute(sql: "INSERT INTO fill_cursor (id, after_seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET after_seq = excluded.after_seq", arguments: [seq])
    }

    /// The last gateway `orders` event the follower handled.
    func fillCursor() async throws -> UInt64 {
        try await pool.read { db in try UInt64.fetchOne(db, sql: "SELECT after_seq FROM fill_cursor WHERE id = 1") ?? 0 }
    }

    func setFillCursor(_ seq: UInt64) async throws {
        try await pool.write { db in try Self.setCursor(db, seq) }
    }

    /// What the follower has recorded of an order so far: (filled quantity, notional).
    func followed(clientOrderID: String) async throws -> (filled: ExactDecimal, notional: ExactDecimal)? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT filled_qty, notional FROM followed_orders WHERE client_order_id = ?", arguments: [clientOrderID]).map { row in
                (try UnreadableStoredValue.decimal(row["filled_qty"], table: "followed_orders", row: clientOrderID, column: "filled_qty"),
                 try UnreadableStoredValue.decimal(row["notional"], table: "followed_orders", row: clientOrderID, column: "notional"))
            }
        }
    }

    static func hasCapital(_ db: Database, _ strategyAccountID: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM strategy_capital WHERE strategy_account_id = ?)", arguments: [strategyAccountID]) ?? false
    }

    static func netQuantity(_ db: Database, _ strategyAccountID: String, _ symbol: String) throws -> ExactDecimal {
        // No row: nothing recorded, a net quantity of zero.
        guard let qty = try String.fetchOne(db, sql: "SELECT qty FROM strategy_positions WHERE strategy_account_id = ? AND symbol = ?", arguments: [strategyAccountID, symbol]) else {
            return .zero
        }
        return try UnreadableStoredValue.decimal(qty, table: "strategy_positions", row: "\(strategyAccountID)/\(symbol)", column: "qty")
    }

    /// The recorded net quantity of (strategy account, symbol); 0 when none.
    func netQuantity(strategyAccountID: String, symbol: String) async throws -> ExactDecimal {
        try await pool.read { db in try Self.netQuantity(db, strategyAccountID, symbol) }
    }

    /// Non-zero recorded net quantities of an account's strategy accounts: (strategy account id, symbol, qty).
    func netQuantities(accountID: String) async throws -> [(strategyAccountID: String, symbol: String, qty: ExactDecimal)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT p.strategy_account_id, p.symbol, p.qty FROM strategy_positions p JOIN strategy_accounts s USING (strategy_account_id)
                WHERE s.account_id = ? ORDER BY p.strategy_account_id, p.symbol
                """, arguments: [accountID]).compactMap { row in
                    let qty = try UnreadableStoredValue.decimal(row["qty"], table: "strategy_positions", row: "\(row["strategy_account_id"] as String)/\(row["symbol"] as String)", column: "qty")
                    return qty.isZero ? nil : (row["strategy_account_id"], row["symbol"], qty)
                }
        }
    }

    /// PnL compounding in one transaction; no StrategyCapital row → `E_NO_ALLOCATED_CAPITAL`.
    func applyPnl(strategyAccountID: String, nowMs: Int64) async throws -> PnlCompounding.Result {
        try await pool.write { db in
            guard try Self.hasCapital(db, strategyAccountID) else {
                throw FieldError(.noAllocatedCapital, field: "strategy_account_id",
                                 message: "strategy account \(strategyAccountID) has no allocated capital yet; its PnL waits for the first reallocation")
            }
            return try Self.applyPnl(db, strategyAccountID, nowMs: nowMs)
        }
    }

    static func applyPnl(_ db: Database, _ strategyAccountID: String, nowMs: Int64) throws -> PnlCompounding.Result {
        // Called only for an account with a capital row (applyPnl checks); none reads as zero capital.
        let stored = try String.fetchOne(db, sql: "SELECT allocated_capital FROM strategy_capital WHERE strategy_account_id = ?", arguments: [strategyAccountID])
        let capital = try UnreadableStoredValue.decimal(ifAny: stored, table: "strategy_capital", row: strategyAccountID, column: "allocated_capital") ?? .zero
        let pending = try Row.fetchAll(db, sql: """
            SELECT execution_id, realized_pnl FROM trade_executions
            WHERE strategy_account_id = ? AND applied_by IS NULL AND realized_pnl IS NOT NULL ORDER BY execution_time_ms, seq
            """, arguments: [strategyAccountID]).map { row in
                let id: String = row["execution_id"]
                return PnlCompounding.Execution(executionID: id, realizedPnl: try UnreadableStoredValue.decimal(ifAny: row["realized_pnl"], table: "trade_executions", row: id, column: "realized_pnl"))
            }
        let result = PnlCompounding.apply(capital: capital, executions: pending, alreadyApplied: [])
        if !result.appliedExecutionIDs.isEmpty {
            let marker = "pnl:\(nowMs)"
            for id in result.appliedExecutionIDs {
                try db.execute(sql: "UPDATE trade_executions SET applied_by = ? WHERE strategy_account_id = ? AND execution_id = ?", arguments: [marker, strategyAccountID, id])
            }
        }
        try db.execute(sql: "UPDATE strategy_capital SET allocated_capital = ?, last_updated_ms = ? WHERE strategy_account_id = ?",
                       arguments: [result.allocatedCapital.description, nowMs, strategyAccountID])
        return result
    }
}

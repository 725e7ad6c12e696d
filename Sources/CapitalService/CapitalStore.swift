import CapitalAllocation
import Contracts
import ExactNumbers
import Foundation
import GRDB
import KeelStore

typealias Account = Keel_Capital_V1_Account
typealias StrategyAccount = Keel_Capital_V1_StrategyAccount
typealias StrategyCapital = Keel_Capital_V1_StrategyCapital
typealias RebalanceRun = Keel_Capital_V1_RebalanceRun
typealias ReallocateResponse = Keel_Capital_V1_ReallocateResponse
typealias ConvergeResult = Keel_Capital_V1_ConvergeResult
typealias ErrorDetail = Keel_Capital_V1_ErrorDetail

/// A trade as `RecordTrade` stores it (canonical decimals).
struct TradeRecord: Sendable, Equatable {
    var strategyAccountID: String
    var executionID: String
    var executionTimeMs: Int64
    var symbol: String
    var side: TradeSide
    var qty: ExactDecimal
    var price: ExactDecimal
    var realizedPnl: ExactDecimal?

    /// BUY adds, SELL subtracts.
    var signedQty: ExactDecimal { side == .buy ? qty : -qty }
}

/// The side of a recorded trade; stored as its proto number (1 = BUY, 2 = SELL).
enum TradeSide: Int, Sendable {
    case buy = 1
    case sell = 2
}

/// The idempotency record of a mutating call: the request's digest and the stored answer.
struct StoredAnswer: Sendable {
    var method: String
    var digest: String
    var response: Data
    var runID: String?
}

/// keel-capital's store: accounts, strategy accounts, strategy capital, daily
/// balances, trade executions with the per-strategy net quantities they add up to, rebalance runs,
/// idempotency keys, schedule runs and the scheduler lease. Money is decimal text, instants UTC ms.
/// Every mutation is one transaction; a failed one leaves nothing behind.
public final class CapitalStore: Sendable {
    let pool: DatabasePool

    public init(path: String) throws {
        pool = try StoreSetup.open(path: path, migrator: Self.migrator)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: capital") { db in
            try db.execute(sql: """
                CREATE TABLE accounts (
                    account_id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    venue TEXT NOT NULL,
                    quote_currency TEXT NOT NULL,
                    currency_scale INTEGER NOT NULL,
                    gateway_account_id TEXT NOT NULL,
                    world_id TEXT NOT NULL,
                    is_active INTEGER NOT NULL,
                    previous_total_capital TEXT,
                    last_rebalance_at_ms INTEGER
                );
                CREATE TABLE strategy_accounts (
                    strategy_account_id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(account_id),
                    strategy_id TEXT NOT NULL,
                    strategy_name TEXT NOT NULL,
                    market_type INTEGER NOT NULL,
                    weight TEXT NOT NULL,
                    leverage TEXT NOT NULL,
                    max_symbols INTEGER NOT NULL,
                    is_active INTEGER NOT NULL,
                    UNIQUE (account_id, strategy_id)
                );
                CREATE TABLE strategy_capital (
                    strategy_account_id TEXT PRIMARY KEY REFERENCES strategy_accounts(strategy_account_id),
                    allocated_capital TEXT NOT NULL,
                    last_updated_ms INTEGER NOT NULL,
                    last_rebalance_at_ms INTEGER
                );
                CREATE TABLE daily_balances (
                    account_id TEXT NOT NULL REFERENCES accounts(account_id),
                    date TEXT NOT NULL,
                    ending_balance TEXT NOT NULL,
                    PRIMARY KEY (account_id, date)
                );
                CREATE TABLE trade_executions (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    strategy_account_id TEXT NOT NULL REFERENCES strategy_accounts(strategy_account_id),
                    execution_id TEXT NOT NULL,
                    execution_time_ms INTEGER NOT NULL,
                    symbol TEXT NOT NULL,
                    side INTEGER NOT NULL,
                    qty TEXT NOT NULL,
                    price TEXT NOT NULL,
                    realized_pnl TEXT,
                    applied_by TEXT,
                    UNIQUE (strategy_account_id, execution_id)
                );
                CREATE TABLE strategy_positions (
                    strategy_account_id TEXT NOT NULL REFERENCES strategy_accounts(strategy_account_id),
                    symbol TEXT NOT NULL,
                    qty TEXT NOT NULL,
                    PRIMARY KEY (strategy_account_id, symbol)
                );
                CREATE TABLE rebalance_runs (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    run_id TEXT NOT NULL UNIQUE,
                    account_id TEXT NOT NULL REFERENCES accounts(account_id),
                    started_at_ms INTEGER NOT NULL,
                    run BLOB NOT NULL,
                    plan_request BLOB
                );
                CREATE INDEX rebalance_runs_by_account ON rebalance_runs(account_id, seq);
                CREATE TABLE idempotency_keys (
                    idempotency_key TEXT NOT NULL UNIQUE,
                    method TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    response BLOB NOT NULL,
                    run_id TEXT
                );
                CREATE TABLE schedule_runs (
                    slot TEXT NOT NULL,
                    scheduled_at_ms INTEGER NOT NULL,
                    claimed_at_ms INTEGER NOT NULL,
                    finished_at_ms INTEGER,
                    outcome INTEGER NOT NULL,
                    rebalanced INTEGER NOT NULL DEFAULT 0,
                    skipped INTEGER NOT NULL DEFAULT 0,
                    failed INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (slot, scheduled_at_ms)
                );
                CREATE TABLE scheduler_lease (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    holder TEXT NOT NULL,
                    expires_at_ms INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2: gateway fills followed") { db in
            try db.execute(sql: """
                CREATE TABLE fill_cursor (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    after_seq INTEGER NOT NULL
                );
                CREATE TABLE followed_orders (
                    client_order_id TEXT PRIMARY KEY,
                    filled_qty TEXT NOT NULL,
                    notional TEXT NOT NULL
                );
                """)
        }
        return migrator
    }

    // MARK: accounts

    // Accounts, strategy accounts and balances are selected with explicit columns and decoded by
    // position: GRDB's lookup by name lowercases each name on every row, which was most of
    // ReallocateAll's read time.
    // (Statements are literals joined with `+`, never interpolated: the one rule the security
    // tests check; placeholders lists are the only text built at run time.)
    static let accountSelect = """
        SELECT account_id, name, venue, quote_currency, currency_scale, gateway_account_id, world_id, is_active, previous_total_capital, last_rebalance_at_ms
        FROM accounts
        """

    /// A row of `accountSelect`.
    static func account(_ row: Row) -> Account {
        var account = Account()
        account.accountID = row[0]
        account.name = row[1]
        account.venue = row[2]
        account.quoteCurrency = row[3]
        account.currencyScale = UInt32(row[4] as Int)
        account.gatewayAccountID = row[5]
        account.worldID = row[6]
        account.isActive = row[7]
        account.previousTotalCapital = row[8] ?? ""
        account.lastRebalanceAtMs = row[9] ?? 0
        return account
    }

    func account(id: String) async throws -> Account? {
        try await pool.read { db in try Self.account(db, id: id) }
    }

    static func account(_ db: Database, id: String) throws -> Account? {
        try Row.fetchOne(db.cachedStatement(sql: accountSelect + " WHERE account_id = ?"), arguments: [id]).map(account)
    }

    /// Active accounts in id (byte) order.
    func activeAccountIDs() async throws -> [String] {
        try await pool.read { db in try String.fetchAll(db, sql: "SELECT account_id FROM accounts WHERE is_active = 1 ORDER BY account_id") }
    }

    /// Inserts or replaces an account (its reallocation outputs are kept). The quote currency and
    /// the scale cannot change once any strategy of the account holds capital.
    func upsert(_ account: Account) async throws -> Account {
        try await pool.write { db in
            let existing = try Row.fetchOne(db, sql: Self.accountSelect + " WHERE account_id = ?", arguments: [account.accountID]).map(Self.account)
            var stored = account
            if let existing {
                let allocated = try Bool.fetchOne(db, sql: """
                    SELECT EXISTS (SELECT 1 FROM strategy_capital c JOIN strategy_accounts s USING (strategy_account_id) WHERE s.account_id = ?)
                    """, arguments: [account.accountID]) ?? false
                if allocated, existing.quoteCurrency != account.quoteCurrency {
                    throw FieldError(.immutableField, field: "account.quote_currency",
                                     message: "the quote currency cannot change once capital is allocated (stored: \(existing.quoteCurrency))")
                }
                if allocated, existing.currencyScale != account.currencyScale {
                    throw FieldError(.immutableField, field: "account.currency_scale",
                                     message: "the currency scale cannot change once capital is allocated (stored: \(existing.currencyScale))")
                }
                stored.previousTotalCapital = existing.previousTotalCapital
                stored.lastRebalanceAtMs = existing.lastRebalanceAtMs
            }
            try db.execute(sql: """
                INSERT INTO accounts (account_id, name, venue, quote_currency, currency_scale, gateway_account_id, world_id, is_active, previous_total_capital, last_rebalance_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (account_id) DO UPDATE SET name = excluded.name, venue = excluded.venue, quote_currency = excluded.quote_currency,
                    currency_scale = excluded.currency_scale, gateway_account_id = excluded.gateway_account_id, world_id = excluded.world_id,
                    is_active = excluded.is_active
                """, arguments: [
                    stored.accountID, stored.name, stored.venue, stored.quoteCurrency, Int(stored.currencyScale), stored.gatewayAccountID,
                    stored.worldID, stored.isActive, stored.previousTotalCapital.isEmpty ? nil : stored.previousTotalCapital,
                    stored.lastRebalanceAtMs == 0 ? nil : stored.lastRebalanceAtMs,
                ])
            return stored
        }
    }

    // MARK: strategy accounts

    /// A row of `strategyAccountSelect`.
    static func strategyAccount(_ row: Row) -> StrategyAccount {
        var sa = StrategyAccount()
        sa.strategyAccountID = row[0]
        sa.accountID = row[1]
        sa.strategyID = row[2]
        sa.strategyName = row[3]
        sa.marketType = Keel_Capital_V1_MarketType(rawValue: row[4]) ?? .spot
        sa.weight = row[5]
        sa.leverage = row[6]
        sa.maxSymbols = UInt32(row[7] as Int)
        sa.isActive = row[8]
        if let allocated: String = row[9] {
            sa.capital.allocatedCapital = allocated
            sa.capital.lastUpdatedMs = row[10]
            sa.capital.lastRebalanceAtMs = row[11] ?? 0
        }
        return sa
    }

    static let strategyAccountSelect = """
        SELECT s.strategy_account_id, s.account_id, s.strategy_id, s.strategy_name, s.market_type, s.weight, s.leverage, s.max_symbols, s.is_active,
            c.allocated_capital, c.last_updated_ms, c.last_rebalance_at_ms
        FROM strategy_accounts s LEFT JOIN strategy_capital c USING (strategy_account_id)
        """

    /// With `capital` set when a StrategyCapital row exists.
    func strategyAccount(id: String) async throws -> StrategyAccount? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: Self.strategyAccountSelect + " WHERE s.strategy_account_id = ?", arguments: [id]).map(Self.strategyAccount)
        }
    }

    /// An account's strategy accounts in id (byte) order, with their capital.
    func strategyAccounts(accountID: String) async throws -> [StrategyAccount] {
        try await pool.read { db in try Self.strategyAccounts(db, accountID: accountID) }
    }

    static func strategyAccounts(_ db: Database, accountID: String) throws -> [StrategyAccount] {
        try Row.fetchAll(db.cachedStatement(sql: strategyAccountSelect + " WHERE s.account_id = ? ORDER BY s.strategy_account_id"), arguments: [accountID]).map(strategyAccount)
    }

    func upsert(_ sa: StrategyAccount) async throws -> StrategyAccount {
        try await pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM accounts WHERE account_id = ?)", arguments: [sa.accountID]) == true else {
                throw FieldError(.accountNotFound, field: "strategy_account.account_id", message: "no account \(sa.accountID)")
            }
            if let owner = try String.fetchOne(db, sql: "SELECT account_id FROM strategy_accounts WHERE strategy_account_id = ?", arguments: [sa.strategyAccountID]),
               owner != sa.accountID {
                throw FieldError(.immutableField, field: "strategy_account.account_id",
                                 message: "strategy account \(sa.strategyAccountID) belongs to account \(owner); it cannot move")
            }
            if let other = try String.fetchOne(db, sql: "SELECT strategy_account_id FROM strategy_accounts WHERE account_id = ? AND strategy_id = ?",
                                               arguments: [sa.accountID, sa.strategyID]), other != sa.strategyAccountID {
                throw FieldError(.strategyAccountConflict, field: "strategy_account.strategy_id",
                                 message: "strategy \(sa.strategyID) of account \(sa.accountID) is already strategy account \(other)",
                                 metadata: ["strategy_account_id": other])
            }
            try db.execute(sql: """
                INSERT INTO strategy_accounts (strategy_account_id, account_id, strategy_id, strategy_name, market_type, weight, leverage, max_symbols, is_active)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (strategy_account_id) DO UPDATE SET strategy_id = excluded.strategy_id, strategy_name = excluded.strategy_name,
                    market_type = excluded.market_type, weight = excluded.weight, leverage = excluded.leverage,
                    max_symbols = excluded.max_symbols, is_active = excluded.is_active
                """, arguments: [sa.strategyAccountID, sa.accountID, sa.strategyID, sa.strategyName, sa.marketType.rawValue, sa.weight, sa.leverage, Int(sa.maxSymbols), sa.isActive])
            return try Row.fetchOne(db, sql: Self.strategyAccountSelect + " WHERE s.strategy_account_id = ?", arguments: [sa.strategyAccountID]).map(Self.strategyAccount)!
        }
    }

    // MARK: daily balances

    func recordBalance(accountID: String, date: String, endingBalance: String) async throws {
        try await pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM accounts WHERE account_id = ?)", arguments: [accountID]) == true else {
                throw FieldError(.accountNotFound, field: "balance.account_id", message: "no account \(accountID)")
            }
            try db.execute(sql: """
                INSERT INTO daily_balances (account_id, date, ending_balance) VALUES (?, ?, ?)
                ON CONFLICT (account_id, date) DO UPDATE SET ending_balance = excluded.ending_balance
                """, arguments: [accountID, date, endingBalance])
        }
    }

    static let balanceSelect = "SELECT account_id, date, ending_balance FROM daily_balances"

    /// A row of `balanceSelect`.
    static func dailyBalance(_ row: Row) -> Keel_Capital_V1_DailyBalance {
        var balance = Keel_Capital_V1_DailyBalance()
        balance.accountID = row[0]
        balance.date = row[1]
        balance.endingBalance = row[2]
        return balance
    }

    /// The row with the greatest date.
    func latestBalance(accountID: String) async throws -> Keel_Capital_V1_DailyBalance? {
        try await pool.read { db in try Self.latestBalance(db, accountID: accountID) }
    }

    static func latestBalance(_ db: Database, accountID: String) throws -> Keel_Capital_V1_DailyBalance? {
        try Row.fetchOne(db.cachedStatement(sql: balanceSelect + " WHERE account_id = ? ORDER BY date DESC LIMIT 1"), arguments: [accountID])
            .map(dailyBalance)
    }

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

    /// The strategy accounts that own `strategyID` in world `worldID` at `venue` (an account without
    /// a venue takes every venue).
    func strategyAccounts(worldID: String, venue: String, strategyID: String) async throws -> [StrategyAccount] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: Self.strategyAccountSelect + """
                 JOIN accounts a ON a.account_id = s.account_id
                WHERE a.world_id = ? AND s.strategy_id = ? AND (a.venue = '' OR lower(a.venue) = lower(?))
                ORDER BY s.strategy_account_id
                """, arguments: [worldID, strategyID, venue]).map(Self.strategyAccount)
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
        let capital = try stored.map { text throws(UnreadableStoredValue) in
            try UnreadableStoredValue.decimal(text, table: "strategy_capital", row: strategyAccountID, column: "allocated_capital")
        } ?? .zero
        let pending = try Row.fetchAll(db, sql: """
            SELECT execution_id, realized_pnl FROM trade_executions
            WHERE strategy_account_id = ? AND applied_by IS NULL AND realized_pnl IS NOT NULL ORDER BY execution_time_ms, seq
            """, arguments: [strategyAccountID]).map { row in
                let id: String = row["execution_id"]
                return PnlCompounding.Execution(executionID: id, realizedPnl: try (row["realized_pnl"] as String?).map { text throws(UnreadableStoredValue) in
                    try UnreadableStoredValue.decimal(text, table: "trade_executions", row: id, column: "realized_pnl")
                })
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

    // MARK: allocations and runs

    /// For each existing account of `accountIDs`: the account, its latest daily balance and its
    /// strategy accounts, read in one transaction with three queries per 500 accounts.
    func allocationInputs(accountIDs: [String]) async throws -> [String: (account: Account, balance: Keel_Capital_V1_DailyBalance?, strategies: [StrategyAccount])] {
        try await pool.read { db in
            var out: [String: (account: Account, balance: Keel_Capital_V1_DailyBalance?, strategies: [StrategyAccount])] = [:]
            out.reserveCapacity(accountIDs.count)
            for ids in accountIDs.chunks(of: 500) {
                let list = databaseQuestionMarks(count: ids.count)
                let arguments = StatementArguments(ids)
                var balances: [String: Keel_Capital_V1_DailyBalance] = [:]
                // (Cursors decode straight from the statement; fetchAll would copy every row first.)
                let balanceRows = try Row.fetchCursor(db.cachedStatement(sql: Self.balanceSelect + " d WHERE account_id IN (" + list + """
                    ) AND date = (SELECT MAX(date) FROM daily_balances WHERE account_id = d.account_id)
                    """), arguments: arguments)
                while let row = try balanceRows.next() {
                    let balance = Self.dailyBalance(row)
                    balances[balance.accountID] = balance
                }
                var strategies: [String: [StrategyAccount]] = [:]
                let strategyRows = try Row.fetchCursor(db.cachedStatement(sql: Self.strategyAccountSelect + " WHERE s.account_id IN (" + list + ") ORDER BY s.account_id, s.strategy_account_id"),
                                                       arguments: arguments)
                while let row = try strategyRows.next() {
                    let sa = Self.strategyAccount(row)
                    strategies[sa.accountID, default: []].append(sa)
                }
                let accountRows = try Row.fetchCursor(db.cachedStatement(sql: Self.accountSelect + " WHERE account_id IN (" + list + ")"), arguments: arguments)
                while let row = try accountRows.next() {
                    let account = Self.account(row)
                    out[account.accountID] = (account, balances[account.accountID], strategies[account.accountID] ?? [])
                }
            }
            return out
        }
    }

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
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT run, plan_request FROM rebalance_runs WHERE run_id = ?", arguments: [id]).map { row in
                (try RebalanceRun(serializedBytes: row["run"] as Data), row["plan_request"])
            }
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
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM idempotency_keys WHERE idempotency_key = ?", arguments: [key]).map { row in
                StoredAnswer(method: row["method"], digest: row["digest"], response: row["response"], runID: row["run_id"])
            }
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
    public func scheduleRuns() async throws -> [(slot: String, atMs: Int64, outcome: Int, rebalanced: Int)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM schedule_runs ORDER BY scheduled_at_ms, slot").map { ($0["slot"], $0["scheduled_at_ms"], $0["outcome"], $0["rebalanced"]) }
        }
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements, in order (the last may be shorter).
    func chunks(of size: Int) -> [ArraySlice<Element>] {
        precondition(size > 0, "chunk size must be positive")
        return stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

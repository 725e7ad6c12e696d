import CapitalAllocation
import Contracts
import ExactNumbers
import Foundation
import GRDB
import KeelStore

/// Accounts, their strategy accounts (weight, leverage, capital) and daily balances.
struct AccountStore: Sendable {
    let pool: DatabasePool
    /// Reads of one row by key, in place.
    let keyed: PointReaders

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

    /// The columns of `accountSelect`, in its order.
    enum AccountColumn: Int {
        case accountID, name, venue, quoteCurrency, currencyScale, gatewayAccountID, worldID, isActive, previousTotalCapital, lastRebalanceAtMs
    }

    /// A row of `accountSelect`.
    static func account(_ row: Row) -> Account {
        func column(_ c: AccountColumn) -> Int { c.rawValue }
        var account = Account()
        account.accountID = row[column(.accountID)]
        account.name = row[column(.name)]
        account.venue = row[column(.venue)]
        account.quoteCurrency = row[column(.quoteCurrency)]
        account.currencyScale = UInt32(row[column(.currencyScale)] as Int)
        account.gatewayAccountID = row[column(.gatewayAccountID)]
        account.worldID = row[column(.worldID)]
        account.isActive = row[column(.isActive)]
        account.previousTotalCapital = row[column(.previousTotalCapital)] ?? ""
        account.lastRebalanceAtMs = row[column(.lastRebalanceAtMs)] ?? 0
        return account
    }

    func account(id: String) async throws -> Account? {
        try keyed.row(Self.accountSelect + " WHERE account_id = ?", arguments: [id], as: Self.account)
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
            let existing = try Self.account(db, id: account.accountID)
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

    /// The columns of `strategyAccountSelect`, in its order.
    enum StrategyAccountColumn: Int {
        case strategyAccountID, accountID, strategyID, strategyName, marketType, weight, leverage, maxSymbols, isActive
        case allocatedCapital, capitalUpdatedMs, capitalRebalancedAtMs
    }

    /// A row of `strategyAccountSelect`.
    static func strategyAccount(_ row: Row) throws(UnreadableStoredValue) -> StrategyAccount {
        func column(_ c: StrategyAccountColumn) -> Int { c.rawValue }
        var sa = StrategyAccount()
        sa.strategyAccountID = row[column(.strategyAccountID)]
        sa.accountID = row[column(.accountID)]
        sa.strategyID = row[column(.strategyID)]
        sa.strategyName = row[column(.strategyName)]
        sa.marketType = try UnreadableStoredValue.enumCase(
            Keel_Capital_V1_MarketType.self, row[column(.marketType)], table: "strategy_accounts", row: sa.strategyAccountID, column: "market_type")
        sa.weight = row[column(.weight)]
        sa.leverage = row[column(.leverage)]
        sa.maxSymbols = UInt32(row[column(.maxSymbols)] as Int)
        sa.isActive = row[column(.isActive)]
        if let allocated: String = row[column(.allocatedCapital)] {
            sa.capital.allocatedCapital = allocated
            sa.capital.lastUpdatedMs = row[column(.capitalUpdatedMs)]
            sa.capital.lastRebalanceAtMs = row[column(.capitalRebalancedAtMs)] ?? 0
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
        try keyed.row(Self.strategyAccountSelect + " WHERE s.strategy_account_id = ?", arguments: [id], as: Self.strategyAccount)
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

    // MARK: what an allocation reads

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
                    let sa = try Self.strategyAccount(row)
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
}

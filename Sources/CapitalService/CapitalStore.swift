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

/// keel-capital's store file and its schema, with one store per aggregate over it: accounts
/// (strategy accounts, strategy capital, daily balances), trades (with the per-strategy net
/// quantities they add up to), rebalance runs (with the idempotency keys' answers) and the
/// scheduler (its lease and slot runs). Money is decimal text, instants UTC ms. Every mutation is
/// one transaction; a failed one leaves nothing behind.
public struct CapitalStore: Sendable {
    let accounts: AccountStore
    let trades: TradeStore
    let runs: RunStore
    let scheduler: SchedulerStore
    /// The log's checkpoints, which the process host runs.
    public let checkpoints: WALCheckpoints

    public init(path: String) throws {
        let file = try StoreFile(path: path, migrator: Self.migrator)
        accounts = AccountStore(pool: file.pool, keyed: file.keyed)
        trades = TradeStore(pool: file.pool)
        runs = RunStore(pool: file.pool, keyed: file.keyed)
        scheduler = SchedulerStore(pool: file.pool)
        checkpoints = file.checkpoints
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
}

extension Array {
    /// Consecutive slices of at most `size` elements, in order (the last may be shorter).
    func chunks(of size: Int) -> [ArraySlice<Element>] {
        precondition(size > 0, "chunk size must be positive")
        return stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

import Contracts
import ExactNumbers
import Execution
import Foundation
import GRDB
import KeelStore
import Venues

/// The embedded paper broker: after `latency_ms`, fills market orders at the order's reference mark
/// (plus the configured slippage against the order), in the gateway's own store. `partial_fill_ratio` leaves
/// that share of each order unfilled; `reject_ratio` rejects that share of orders, chosen by a hash
/// of the client order id so a run repeats exactly.
public final class PaperBroker: Broker {
    let pool: DatabasePool
    let settings: PaperBrokerSettings
    let clock: @Sendable () -> Int64

    /// The paper broker's tables, in the gateway's file but not its schema: the simulation owns
    /// them (a real venue's adapter keeps nothing there). `IF NOT EXISTS`: stores made before it
    /// owned them already have them, in this shape.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("paper broker v1: accounts, positions, orders") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS paper_accounts (
                    account_id TEXT PRIMARY KEY,
                    currency TEXT NOT NULL,
                    cash TEXT NOT NULL
                );
                CREATE TABLE IF NOT EXISTS paper_positions (
                    account_id TEXT NOT NULL REFERENCES paper_accounts(account_id),
                    venue TEXT NOT NULL,
                    symbol TEXT NOT NULL,
                    qty TEXT NOT NULL,
                    avg_price TEXT NOT NULL,
                    mark TEXT NOT NULL,
                    PRIMARY KEY (account_id, venue, symbol)
                );
                CREATE TABLE IF NOT EXISTS paper_orders (
                    client_order_id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    filled_qty TEXT NOT NULL,
                    price TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    side INTEGER NOT NULL DEFAULT 0,
                    venue TEXT NOT NULL DEFAULT '',
                    symbol TEXT NOT NULL DEFAULT '',
                    qty TEXT NOT NULL DEFAULT '0',
                    limit_price TEXT NOT NULL DEFAULT '',
                    lot TEXT NOT NULL DEFAULT '1',
                    filled_notional TEXT NOT NULL DEFAULT '0',
                    matchable_from_ms INTEGER NOT NULL DEFAULT 0,
                    broker_order_id TEXT NOT NULL DEFAULT ''
                );
                """)
        }
        return migrator
    }

    public init(store: GatewayStore, settings: PaperBrokerSettings, clock: @escaping @Sendable () -> Int64 = nowMs) throws {
        pool = store.pool
        self.settings = settings
        self.clock = clock
        try Self.migrator.migrate(pool)
        try pool.write { db in
            for (id, account) in settings.accounts {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO paper_accounts (account_id, currency, cash) VALUES (?, ?, ?)",
                    arguments: [id, account.currency, account.cash.description])
                // Opening positions only when the account is new: later starts keep what trading made of them.
                guard db.changesCount == 1 else { continue }
                for position in account.positions where !position.qty.isZero {
                    try db.execute(
                        sql: "INSERT INTO paper_positions (account_id, venue, symbol, qty, avg_price, mark) VALUES (?, ?, ?, ?, ?, ?)",
                        arguments: [id, position.venue, position.symbol, position.qty.description, position.avgPrice.description, position.mark.description])
                }
            }
        }
    }

    public func hasAccount(_ accountID: String) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM paper_accounts WHERE account_id = ?", arguments: [accountID]) ?? false
        }
    }

    public func submit(_ order: VenueOrder, accountID: String) async throws -> BrokerOutcome {
        let settings = self.settings
        if settings.latencyMs > 0 {
            // The configured exchange latency, before the order is seen.
            do {
                try await Task.sleep(for: .milliseconds(settings.latencyMs))
            } catch {
                return .unknown("cancelled before the paper broker saw the order")
            }
        }
        let answer: Fill
        do {
            answer = try await pool.write { db in
                if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM paper_orders WHERE client_order_id = ?"), arguments: [order.clientOrderID]) {
                    // Seen before: the same answer, nothing filled twice.
                    let price: String = row["price"]
                    return Fill(
                        status: try UnreadableStoredValue.enumCase(OrderStatus.self, row["status"], table: "paper_orders", row: order.clientOrderID, column: "status"),
                        filledQuantity: try Self.decimal(row, "filled_qty", table: "paper_orders", key: order.clientOrderID),
                        price: price.isEmpty ? nil : try Self.decimal(row, "price", table: "paper_orders", key: order.clientOrderID), reason: row["reason"])
                }
                let fill = Self.fill(order, settings: settings)
                try db.cachedStatement(sql: "INSERT INTO paper_orders (client_order_id, account_id, status, filled_qty, price, reason) VALUES (?, ?, ?, ?, ?, ?)")
                    .execute(arguments: [order.clientOrderID, accountID, fill.status.rawValue, fill.filledQuantity.description, fill.price?.description ?? "", fill.reason])
                if let price = fill.price, !fill.filledQuantity.isZero {
                    let signed = order.side == .buy ? fill.filledQuantity : -fill.filledQuantity
                    try Self.apply(signed, at: price, venue: order.venue, symbol: order.symbol, accountID: accountID, db: db)
                }
                return fill
            }
        } catch let error as UnreadableStoredValue {
            throw error
        } catch {
            // The transaction did not commit: the paper broker has not seen the order.
            return .unknown("the paper broker's store: \(error)")
        }
        guard answer.status != .rejected else { return .rejected(.paper(answer.reason)) }
        let quantity = DecimalGrammar.parse(order.quantity) ?? answer.filledQuantity
        return .accepted(BrokerOrder(
            venueOrderID: Self.venueOrderID(of: order.clientOrderID), status: answer.status, quantity: quantity,
            filledQuantity: answer.filledQuantity, filledNotional: answer.price.map { answer.filledQuantity * $0 } ?? .zero, limit: nil, reason: answer.reason))
    }

    /// What the paper broker makes of an order to fill at once.
    struct Fill {
        var status: OrderStatus
        var filledQuantity: ExactDecimal
        var price: ExactDecimal?
        var reason: String
    }

    static func fill(_ order: VenueOrder, settings: PaperBrokerSettings) -> Fill {
        guard let quantity = DecimalGrammar.parse(order.quantity), quantity.signum > 0 else {
            return Fill(status: .rejected, filledQuantity: .zero, price: nil, reason: "quantity is not a positive decimal")
        }
        guard let mark = DecimalGrammar.parse(order.referenceMark), mark.signum > 0 else {
            return Fill(status: .rejected, filledQuantity: .zero, price: nil, reason: "no reference mark to fill at")
        }
        if rejects(order.clientOrderID, settings: settings) {
            return Fill(status: .rejected, filledQuantity: .zero, price: nil, reason: "rejected by the paper broker's reject_ratio")
        }
        let slip = settings.slippageBps.rational / Rational(10_000)
        let factor = order.side == .buy ? Rational.one + slip : Rational.one - slip
        let price = (mark.rational * factor).roundedToSignificantDigits(34)
        var filled = quantity
        var status = OrderStatus.filled
        if settings.partialFillRatio.signum > 0 {
            filled = (quantity.rational * (Rational.one - settings.partialFillRatio.rational)).roundedToSignificantDigits(34)
            status = filled.isZero ? .rejected : .partiallyFilled
        }
        return Fill(status: status, filledQuantity: filled, price: price, reason: status == .rejected ? "nothing filled" : "")
    }

    /// The paper broker's own id of an order: the same every time for the same client order id.
    static func venueOrderID(of clientOrderID: String) -> String {
        "P" + SHA256.hex(clientOrderID).prefix(15)
    }

    /// `reject_ratio` of orders are rejected, chosen by a hash of the client order id so a run repeats exactly.
    static func rejects(_ clientOrderID: String, settings: PaperBrokerSettings) -> Bool {
        guard settings.rejectRatio.signum > 0 else { return false }
        let draw = SHA256.hash(Array(clientOrderID.utf8)).prefix(2).reduce(0) { $0 << 8 | Int($1) }
        return Rational(BigInt(draw)) / Rational(65_536) < settings.rejectRatio.rational
    }

    /// Moves the position and the cash: cash −= signed quantity × price; the average price follows
    /// additions, stays on reductions and restarts when the position crosses zero.
    static func apply(_ signed: ExactDecimal, at price: ExactDecimal, venue: String, symbol: String, accountID: String, db: Database) throws {
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT qty, avg_price FROM paper_positions WHERE account_id = ? AND venue = ? AND symbol = ?"), arguments: [accountID, venue, symbol])
        // No row yet: a flat position.
        let key = "\(accountID)/\(venue)/\(symbol)"
        let old = try row.map { row throws(UnreadableStoredValue) in try Self.decimal(row, "qty", table: "paper_positions", key: key) } ?? .zero
        let oldAverage = try row.map { row throws(UnreadableStoredValue) in try Self.decimal(row, "avg_price", table: "paper_positions", key: key) } ?? .zero
        let new = old + signed
        let average: ExactDecimal
        if new.isZero {
            average = .zero
        } else if old.isZero || old.signum != new.signum {
            average = price
        } else if old.signum == signed.signum {
            average = ((old * oldAverage + signed * price).rational / new.rational).roundedToSignificantDigits(34)
        } else {
            average = oldAverage
        }
        try db.cachedStatement(sql: """
            INSERT INTO paper_positions (account_id, venue, symbol, qty, avg_price, mark) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(account_id, venue, symbol) DO UPDATE SET qty = excluded.qty, avg_price = excluded.avg_price, mark = excluded.mark
            """).execute(arguments: [accountID, venue, symbol, new.description, average.description, price.description])
        let cash = try Self.cash(accountID, db: db)
        try db.cachedStatement(sql: "UPDATE paper_accounts SET cash = ? WHERE account_id = ?")
            .execute(arguments: [(cash - signed * price).description, accountID])
    }

    public func positions(accountID: String) async throws -> [BrokerPosition] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM paper_positions WHERE account_id = ? ORDER BY venue, symbol", arguments: [accountID]).compactMap { row in
                let qty: String = row["qty"]
                guard try !Self.decimal(row, "qty", table: "paper_positions", key: "\(accountID)/\(row["venue"] as String)/\(row["symbol"] as String)").isZero else { return nil }
                return BrokerPosition.with {
                    $0.venue = row["venue"]
                    $0.symbol = row["symbol"]
                    $0.qty = qty
                    $0.avgPrice = row["avg_price"]
                    $0.mark = row["mark"]
                }
            }
        }
    }

    public func balance(accountID: String) async throws -> Keel_Gateway_V1_GetBalanceResponse {
        let now = clock()
        return try await pool.read { db in
            let account = try Row.fetchOne(db, sql: "SELECT * FROM paper_accounts WHERE account_id = ?", arguments: [accountID])
            let cash = try account.map { (row) throws(UnreadableStoredValue) in try Self.decimal(row, "cash", table: "paper_accounts", key: accountID) } ?? .zero
            var equity = cash
            for row in try Row.fetchAll(db, sql: "SELECT venue, symbol, qty, mark FROM paper_positions WHERE account_id = ?", arguments: [accountID]) {
                let key = "\(accountID)/\(row["venue"] as String)/\(row["symbol"] as String)"
                equity += try Self.decimal(row, "qty", table: "paper_positions", key: key) * Self.decimal(row, "mark", table: "paper_positions", key: key)
            }
            return .with {
                $0.cash = cash.description
                $0.equity = equity.description
                $0.currency = account?["currency"] ?? ""
                $0.asOfMs = now
            }
        }
    }
}

extension PaperBroker {
    /// A decimal column of one of the paper broker's rows; one that does not parse names the row.
    static func decimal(_ row: Row, _ column: String, table: String, key: String) throws(UnreadableStoredValue) -> ExactDecimal {
        try UnreadableStoredValue.decimal(row[column], table: table, row: key, column: column)
    }

    /// The account's cash; an account the paper broker does not have holds none.
    static func cash(_ accountID: String, db: Database) throws -> ExactDecimal {
        guard let text = try String.fetchOne(db.cachedStatement(sql: "SELECT cash FROM paper_accounts WHERE account_id = ?"), arguments: [accountID]) else {
            return .zero
        }
        return try UnreadableStoredValue.decimal(text, table: "paper_accounts", row: accountID, column: "cash")
    }
}

import Contracts
import ExactNumbers
import Execution
import Foundation
import GRDB
import Venues

/// The paper broker's limit orders. A resting order is matched when it is looked at (placed,
/// polled, amended): once `fill_delay_ms` has passed since it was placed or amended, a quote at or
/// through its limit fills it at the limit — all of it, or with `partial_fill_ratio` that share of
/// the remainder is left for a later match (in whole lots, at least one lot per match). Quotes come
/// from `paper_broker.quotes`, else the account's mark of the symbol.
extension PaperBroker {
    public func quote(venue: String, symbol: String, accountID: String) async throws -> ExactDecimal? {
        let now = clock()
        return try await pool.read { db in try self.quote(venue: venue, symbol: symbol, accountID: accountID, now: now, db: db) }
    }

    func quote(venue: String, symbol: String, accountID: String, now: Int64, db: Database) throws -> ExactDecimal? {
        if let path = settings.quotePath(venue: venue, symbol: symbol) { return path.price(atMs: now) }
        let mark = try String.fetchOne(db, sql: """
            SELECT mark FROM paper_positions WHERE venue = ? AND symbol = ? ORDER BY account_id = ? DESC LIMIT 1
            """, arguments: [venue, symbol, accountID])
        // A mark of 0 is no quote.
        let quote = try UnreadableStoredValue.decimal(ifAny: mark, table: "paper_positions", row: "\(venue)/\(symbol)", column: "mark")
        return quote.flatMap { $0.signum > 0 ? $0 : nil }
    }

    public func holding(accountID: String, venue: String, symbol: String) async throws -> ExactDecimal {
        try await pool.read { db in
            // No row: nothing held.
            guard let qty = try String.fetchOne(db, sql: "SELECT qty FROM paper_positions WHERE account_id = ? AND venue = ? AND symbol = ?", arguments: [accountID, venue, symbol]) else {
                return .zero
            }
            return try UnreadableStoredValue.decimal(qty, table: "paper_positions", row: "\(accountID)/\(venue)/\(symbol)", column: "qty")
        }
    }

    public func orderableCash(accountID: String) async throws -> ExactDecimal {
        try await pool.read { db in
            var cash = try Self.cash(accountID, db: db)
            for row in try Row.fetchAll(db, sql: "SELECT * FROM paper_orders WHERE account_id = ? AND side = ? AND status IN (?, ?)", arguments: [
                accountID, Keel_Gateway_V1_OrderSide.buy.rawValue, OrderStatus.acked.rawValue, OrderStatus.partiallyFilled.rawValue,
            ]) {
                let order = try Self.resting(row)
                cash -= order.remaining * (order.limit ?? .zero)
            }
            return cash
        }
    }

    public func place(_ order: VenueOrder, limit: ExactDecimal?, lot: ExactDecimal, accountID: String) async throws -> BrokerOutcome {
        let now = clock()
        return try await outcome(of: order.clientOrderID) { db in
            if let row = try Self.row(order.clientOrderID, db: db) {
                return try self.match(row, now: now, db: db)
            }
            var status = OrderStatus.acked
            var reason = ""
            // An order quantity that is not a positive decimal is refused, as the venue would.
            let quantity = DecimalGrammar.parse(order.quantity) ?? .zero
            if quantity.signum <= 0 {
                (status, reason) = (.rejected, "quantity is not a positive decimal")
            } else if let limit, limit.signum <= 0 {
                (status, reason) = (.rejected, "limit price is not positive")
            } else if Self.rejects(order.clientOrderID, settings: self.settings) {
                (status, reason) = (.rejected, "rejected by the paper broker's reject_ratio")
            } else if limit == nil, try self.quote(venue: order.venue, symbol: order.symbol, accountID: accountID, now: now, db: db) == nil {
                (status, reason) = (.rejected, "no quote to fill a market order at")
            }
            let brokerID = status == .rejected ? "" : Self.venueOrderID(of: order.clientOrderID)
            try db.execute(sql: """
                INSERT INTO paper_orders (client_order_id, account_id, status, filled_qty, price, reason, side, venue, symbol, qty, limit_price, lot,
                    filled_notional, matchable_from_ms, broker_order_id)
                VALUES (?, ?, ?, '0', '', ?, ?, ?, ?, ?, ?, ?, '0', ?, ?)
                """, arguments: [order.clientOrderID, accountID, status.rawValue, reason, order.side.rawValue, order.venue, order.symbol,
                                 quantity.description, limit?.description ?? "", lot.description,
                                 limit == nil ? now : now + Int64(self.settings.fillDelayMs), brokerID])
            return try self.match(try Self.row(order.clientOrderID, db: db)!, now: now, db: db)
        }
    }

    public func amend(clientOrderID: String, remaining: ExactDecimal, limit: ExactDecimal) async throws -> BrokerOutcome {
        let now = clock()
        return try await outcome(of: clientOrderID) { db in
            guard let row = try Self.row(clientOrderID, db: db) else { return nil }
            let current = try self.match(row, now: now, db: db)
            guard current.isWorking, remaining.signum > 0, limit.signum > 0 else { return current }
            try db.execute(sql: "UPDATE paper_orders SET qty = ?, limit_price = ?, matchable_from_ms = ? WHERE client_order_id = ?",
                           arguments: [(current.filledQuantity + remaining).description, limit.description, now + Int64(self.settings.fillDelayMs), clientOrderID])
            return try self.match(try Self.row(clientOrderID, db: db)!, now: now, db: db)
        }
    }

    public func cancel(clientOrderID: String) async throws -> BrokerOutcome {
        try await outcome(of: clientOrderID) { db in
            guard let row = try Self.row(clientOrderID, db: db) else { return nil }
            let order = try Self.resting(row)
            guard order.isWorking else { return order }
            try db.execute(sql: "UPDATE paper_orders SET status = ?, reason = 'cancelled' WHERE client_order_id = ?", arguments: [OrderStatus.cancelled.rawValue, clientOrderID])
            return try Self.resting(try Self.row(clientOrderID, db: db)!)
        }
    }

    public func order(clientOrderID: String) async throws -> BrokerOrder? {
        let now = clock()
        return try await pool.write { db in
            try Self.row(clientOrderID, db: db).map { try self.match($0, now: now, db: db) }
        }
    }

    /// A write that answers the order as it then stands: REJECTED is the paper broker's refusal,
    /// no order its "no such order", and a transaction that did not commit an unknown outcome; a
    /// stored value that does not read is thrown.
    private func outcome(of clientOrderID: String, _ write: @escaping @Sendable (Database) throws -> BrokerOrder?) async throws -> BrokerOutcome {
        let order: BrokerOrder?
        do {
            order = try await pool.write(write)
        } catch let error as UnreadableStoredValue {
            throw error
        } catch {
            return .unknown("the paper broker's store: \(error)")
        }
        guard let order else {
            return .rejected(VenueRejection(kind: .noSuchOrder, httpStatus: 0, code: 0, message: "the paper broker has no order \(clientOrderID)"))
        }
        return order.status == .rejected ? .rejected(.paper(order.reason)) : .accepted(order)
    }

    // MARK: matching

    /// One match of a working order against the quote at `now`; answers the order as it then stands.
    func match(_ row: Row, now: Int64, db: Database) throws -> BrokerOrder {
        let order = try Self.resting(row)
        guard order.isWorking, now >= row["matchable_from_ms"] as Int64,
              let quote = try quote(venue: row["venue"], symbol: row["symbol"], accountID: row["account_id"], now: now, db: db) else { return order }
        let sell = (row["side"] as Int) == Keel_Gateway_V1_OrderSide.sell.rawValue
        if let limit = order.limit, sell ? quote < limit : quote > limit { return order }
        let price = order.limit ?? quote
        let lot = try Self.decimal(row, "lot", table: "paper_orders", key: row["client_order_id"])
        var chunk = order.remaining
        if settings.partialFillRatio.signum > 0 {
            let share = (order.remaining.rational * (Rational.one - settings.partialFillRatio.rational)).roundedToSignificantDigits(34)
            chunk = min(order.remaining, max(share.roundedToLot(lot), lot))
        }
        let filled = order.filledQuantity + chunk
        let notional = order.filledNotional + chunk * price
        // A market order takes what it gets at once; the rest is not left resting.
        let status: OrderStatus = filled >= order.quantity ? .filled : (order.limit == nil ? .cancelled : .partiallyFilled)
        try db.execute(sql: """
            UPDATE paper_orders SET status = ?, filled_qty = ?, filled_notional = ?, price = ?, matchable_from_ms = ? WHERE client_order_id = ?
            """, arguments: [status.rawValue, filled.description, notional.description,
                             (notional.rational / filled.rational).roundedToSignificantDigits(34).description,
                             now + Int64(settings.fillDelayMs), row["client_order_id"] as String])
        try Self.apply(sell ? -chunk : chunk, at: price, venue: row["venue"], symbol: row["symbol"], accountID: row["account_id"], db: db)
        return try Self.resting(try Self.row(row["client_order_id"], db: db)!)
    }

    static func row(_ clientOrderID: String, db: Database) throws -> Row? {
        try Row.fetchOne(db, sql: "SELECT * FROM paper_orders WHERE client_order_id = ?", arguments: [clientOrderID])
    }

    static func resting(_ row: Row) throws(UnreadableStoredValue) -> BrokerOrder {
        let id: String = row["client_order_id"]
        let limit: String = row["limit_price"]
        return BrokerOrder(
            venueOrderID: row["broker_order_id"],
            status: try UnreadableStoredValue.enumCase(OrderStatus.self, row["status"], table: "paper_orders", row: id, column: "status"),
            quantity: try decimal(row, "qty", table: "paper_orders", key: id), filledQuantity: try decimal(row, "filled_qty", table: "paper_orders", key: id),
            filledNotional: try decimal(row, "filled_notional", table: "paper_orders", key: id),
            limit: limit.isEmpty ? nil : try decimal(row, "limit_price", table: "paper_orders", key: id), reason: row["reason"])
    }
}

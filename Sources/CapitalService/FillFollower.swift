import CapitalAllocation
import Contracts
import ExactNumbers
import Foundation
import KeelStore
import KeelWire
import Logging
import Metrics

/// Closes the loop: follows the gateway's `orders` topic from a stored cursor and records
/// every fill of an order attributed to one of this service's strategies as a trade, so compounding
/// and converge see what was really executed. A fill is identified by its order and its cumulative
/// filled quantity (`<client order id>@<filled qty>`), so a replayed event records nothing twice; the
/// trade, the order's followed state and the cursor are written in one transaction.
public final class FillFollower: Sendable {
    let service: CapitalService
    let logger: Logger
    /// Raised after each handled event (tests wait on it instead of a timer).
    let handled = CommitSignal()

    public init(service: CapitalService, logger: Logger) {
        self.service = service
        self.logger = logger
    }

    var store: CapitalStore { service.store }

    /// The follower's loop, until cancelled: reconnects when the gateway's stream ends. The
    /// process host runs it.
    public func run() async {
        var attempt = 0
        while !Task.isCancelled {
            do {
                try await follow()
                attempt = 0
            } catch is CancellationError {
                break
            } catch let error as RPCError where error.has(.resumePointExpired) {
                logger.error("gateway order events were pruned before this service read them; following from the oldest retained", metadata: ["error": "\(error)"])
                try? await store.trades.setFillCursor(0)
            } catch {
                if Task.isCancelled { break }
                attempt += 1
                if attempt == 1 || attempt % 30 == 0 {
                    logger.warning("following the gateway's order events failed; retrying", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                }
            }
            // A reconnect delay (the gateway may be down), not a synchronisation.
            try? await Task.sleep(for: .milliseconds(min(1000, 100 * (attempt + 1))))
        }
    }

    /// Returns once the event `seq` (or a later one) has been handled.
    public func waitUntilHandled(_ seq: UInt64) async {
        guard seq > 0 else { return }
        await handled.wait(after: seq - 1)
    }

    func follow() async throws {
        let cursor = try await store.trades.fillCursor()
        handled.committed(upTo: cursor)
        let request = Keel_Gateway_V1_WatchRequest.with { $0.topics = ["orders"]; $0.afterSeq = cursor }
        let stream = service.gateway.serverStream(KeelRPC.gatewayWatch, request, as: Keel_Gateway_V1_GatewayEvent.self)
        var batches: [String: [Keel_Gateway_V1_OrderRecord]] = [:]
        for try await event in stream {
            try await handle(event, batches: &batches)
            handled.committed(upTo: event.seq)
        }
    }

    func handle(_ event: Keel_Gateway_V1_GatewayEvent, batches: inout [String: [Keel_Gateway_V1_OrderRecord]]) async throws {
        let update = event.order
        guard update.status == .filled || update.status == .partiallyFilled else { return try await store.trades.setFillCursor(event.seq) }
        let filled = try CapitalValidation.answered(update.filledQty, by: "keel-gateway", field: "orders[\(update.clientOrderID)].filled_qty")
        guard filled.signum > 0 else { return try await store.trades.setFillCursor(event.seq) }
        let previous = try await store.trades.followed(clientOrderID: update.clientOrderID)
        let delta = filled - (previous?.filled ?? .zero)
        guard delta.signum > 0 else { return try await store.trades.setFillCursor(event.seq) }
        if batches[update.batchID] == nil {
            var request = Keel_Gateway_V1_ListOrdersRequest()
            request.batchID = update.batchID
            request.limit = 1000
            let answer = try await service.gateway.unary(KeelRPC.gatewayListOrders, request, as: Keel_Gateway_V1_ListOrdersResponse.self,
                                                         timeout: .milliseconds(Int64(service.settings.downstreamTimeoutMs)))
            batches[update.batchID] = answer.orders
        }
        guard let order = batches[update.batchID]?.first(where: { $0.order.clientOrderID == update.clientOrderID })?.order, !order.strategyID.isEmpty else {
            return try await store.trades.setFillCursor(event.seq)
        }
        let owners = try await store.accounts.strategyAccounts(worldID: order.worldID, venue: order.venue, strategyID: order.strategyID)
        guard owners.count == 1, let owner = owners.first else {
            if owners.count > 1 {
                logger.warning("a fill matches several strategy accounts; not recorded", metadata: [
                    "client_order_id": "\(update.clientOrderID)", "world_id": "\(order.worldID)", "strategy_id": "\(order.strategyID)",
                    "strategy_accounts": "\(owners.map(\.strategyAccountID))",
                ])
            }
            return try await store.trades.setFillCursor(event.seq)
        }
        // The update carries the cumulative average price: this fill's price is what its notional adds.
        // An update without an average price (a broker that reports none) is priced at the order's mark.
        let average = update.avgPrice.isEmpty
            ? try CapitalValidation.answered(order.referenceMark, by: "keel-gateway", field: "orders[\(update.clientOrderID)].reference_mark")
            : try CapitalValidation.answered(update.avgPrice, by: "keel-gateway", field: "orders[\(update.clientOrderID)].avg_price")
        let notional = filled * average
        let price = ((notional - (previous?.notional ?? .zero)).rational / delta.rational).roundedToSignificantDigits(34)
        let trade = TradeRecord(
            strategyAccountID: owner.strategyAccountID, executionID: "\(update.clientOrderID)@\(filled)", executionTimeMs: event.timeMs,
            symbol: order.symbol, side: order.side == .buy ? .buy : .sell, qty: delta, price: price.signum > 0 ? price : average, realizedPnl: nil)
        let followed = TradeStore.FollowedFill(clientOrderID: update.clientOrderID, filledQty: filled, notional: notional, seq: event.seq)
        do {
            _ = try await store.trades.record(trade, timeGiven: true, compound: service.settings.compoundOnTrade, nowMs: service.clock(), followed: followed)
            Counter(label: "keel_capital_fills_recorded_total").increment()
            logger.info("fill recorded as a trade", metadata: [
                "strategy_account_id": "\(owner.strategyAccountID)", "execution_id": "\(trade.executionID)", "qty": "\(delta)", "side": "\(order.side)",
            ])
        } catch let error as FieldError where error.has(.tradeConflict) {
            logger.error("a fill conflicts with a trade recorded by hand under the same execution id; skipped", metadata: ["execution_id": "\(trade.executionID)"])
            try await store.trades.setFillCursor(event.seq)
        }
    }
}

import Contracts
import Execution
import KeelOps
import KeelStore
import Logging
import Metrics
import NIOConcurrencyHelpers

/// Hands dispatched orders to the broker in batch order, then order order: each order is marked
/// SENT (committed) before the broker call and gets the broker's answer after it. On start it
/// resumes every PENDING or SENT order with the same client order id; the broker deduplicates, so
/// an order reaches it once. A flip's OPEN leg goes only after its CLOSE leg was accepted.
public final class Dispatcher: Sendable {
    let store: GatewayStore
    let broker: any Broker
    let logger: Logger
    let clock: @Sendable () -> Int64
    private let kicks: AsyncStream<Void>.Continuation
    private let kicked: AsyncStream<Void>
    /// Kicks requested and served so far; idle when they are equal.
    private let progress = NIOLockedValueBox<(requested: Int, served: Int, waiters: [CheckedContinuation<Void, Never>])>((0, 0, []))

    public init(store: GatewayStore, broker: any Broker, clock: @escaping @Sendable () -> Int64 = nowMs, logger: Logger) {
        self.store = store
        self.broker = broker
        self.clock = clock
        self.logger = logger
        (kicked, kicks) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The dispatcher's loop: a drain of the outbox per kick, until `finish()` (the one in hand
    /// completes first). The process host runs it.
    public func run() async {
        for await _ in kicked {
            let target = progress.withLockedValue { $0.requested }
            await Self.drain(store: store, broker: broker, clock: clock, logger: logger)
            let waiters = progress.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
                state.served = max(state.served, target)
                guard state.served == state.requested else { return [] }
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Sends every PENDING or SENT order now (at start-up, before the loop runs).
    public func resend() async {
        await Self.drain(store: store, broker: broker, clock: clock, logger: logger)
    }

    /// Something was written (or the gateway started): send what is pending.
    public func kick() {
        progress.withLockedValue { $0.requested += 1 }
        kicks.yield()
    }

    /// Returns once the dispatcher has nothing in hand (tests and shutdown wait on it).
    public func idle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = progress.withLockedValue { state -> Bool in
                if state.served == state.requested { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Ends `run()` once the drain in hand is done.
    public func finish() {
        kicks.finish()
    }

    static func drain(store: GatewayStore, broker: any Broker, clock: @Sendable () -> Int64, logger: Logger) async {
        while !Task.isCancelled {
            do {
                guard let pending = try await store.nextPendingOrder() else { return }
                let order = pending.order
                // A flip's OPEN leg goes only once its CLOSE leg was accepted whole (ACKED or FILLED).
                if order.leg == .open,
                   let close = try await store.previousOrderStatus(batchID: pending.batchID, before: order.clientOrderID),
                   close != .acked, close != .filled {
                    let reason = close == .rejected || close == .cancelled ? "close leg rejected" : "close leg not filled (\(close))"
                    try await store.setStatus(order.clientOrderID, .cancelled, reason: reason, nowMs: clock())
                    continue
                }
                if pending.status == .pending {
                    try await store.setStatus(order.clientOrderID, .sent, nowMs: clock())
                }
                Failpoint.hit("dispatch.after_sent")
                let answer: BrokerOrder
                switch try await broker.submit(order, accountID: pending.accountID) {
                case .accepted(let report):
                    answer = report
                case .rejected(let rejection):
                    answer = .rejected(quantity: .zero, limit: nil, rejection)
                case .unknown(let cause):
                    throw BrokerOutcomeUnknown(clientOrderID: order.clientOrderID, cause: cause)
                }
                Failpoint.hit("dispatch.after_broker")
                Counter(label: "rebalance_orders_dispatched_total", dimensions: [("venue", order.venue)]).increment()
                try await store.record(answer, for: order, nowMs: clock())
                Failpoint.hit("dispatch.after_record")
                logger.info("order dispatched", metadata: [
                    "client_order_id": "\(order.clientOrderID)", "status": "\(answer.status)", "filled_qty": "\(answer.filledQuantity)",
                ])
            } catch {
                // The order stays PENDING or SENT and is sent again on the next kick or start.
                logger.error("dispatch failed; will retry", metadata: ["error": "\(error)"])
                return
            }
        }
    }
}

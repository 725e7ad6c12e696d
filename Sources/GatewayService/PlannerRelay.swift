import Contracts
import Execution
import KeelStore
import KeelWire
import Logging
import Metrics
import NIOCore

/// One `Watch` stream on the planner from the stored cursor; each event relayed into the
/// gateway's own outbox (deduplicated by seq and event id), reconnecting with capped backoff and
/// jitter, and resuming from `oldest_seq − 1` when the planner no longer has the cursor.
public final class PlannerRelay: Sendable {
    static let topic = "rebalancing.planned"
    static let exitTopic = "exit_signal_emitted"
    let store: GatewayStore
    let planner: KWPClient
    let clock: @Sendable () -> Int64
    let logger: Logger
    let exitPolicy: ExitPolicy.Mode
    /// Called with each exit signal once it is recorded (the exit policy acts on approved ones).
    let onExitSignal: @Sendable (ExitSignalRecord) async -> Void

    public init(store: GatewayStore, planner: KWPClient, clock: @escaping @Sendable () -> Int64 = nowMs, logger: Logger,
                exitPolicy: ExitPolicy.Mode = .off, onExitSignal: @escaping @Sendable (ExitSignalRecord) async -> Void = { _ in }) {
        self.store = store
        self.planner = planner
        self.clock = clock
        self.logger = logger
        self.exitPolicy = exitPolicy
        self.onExitSignal = onExitSignal
    }

    /// The relay's loop, until cancelled. The process host runs it.
    public func run() async {
        let backoff = KWPClient.Backoff(initial: .milliseconds(200), maximum: .seconds(10))
        var attempt = 0
        while !Task.isCancelled {
            do {
                let cursor = try await store.relayCursor()
                let stream = planner.serverStream(
                    KeelRPC.plannerWatch, Keel_Planner_V1_WatchRequest.with { $0.topics = [Self.topic, Self.exitTopic]; $0.afterSeq = cursor },
                    as: Keel_Planner_V1_PlannerEvent.self)
                for try await event in stream {
                    attempt = 0
                    try await handle(event)
                }
            } catch let error as RPCError where error.has(.resumePointExpired) {
                let oldest = UInt64(error.metadata["oldest_seq"] ?? "") ?? 1
                logger.warning("planner events were lost before the gateway could relay them", metadata: ["oldest_seq": "\(oldest)"])
                Counter(label: "event_relay_gaps_total", dimensions: [("topic", Self.topic)]).increment()
                try? await store.setRelayCursor(oldest > 0 ? oldest - 1 : 0)
                continue
            } catch {
                if Task.isCancelled { return }
                logger.debug("planner watch ended; reconnecting", metadata: ["error": "\(error)"])
            }
            let delay = backoff.delay(attempt: attempt)
            attempt += 1
            try? await Task.sleep(nanoseconds: UInt64(delay.nanoseconds))  // backoff before reconnecting
        }
    }

    func handle(_ event: Keel_Planner_V1_PlannerEvent) async throws {
        switch try await store.relay(event, nowMs: clock(), exitPolicy: exitPolicy) {
        case .exitSignal(let record):
            Counter(label: "event_relay_events_total", dimensions: [("topic", Self.exitTopic)]).increment()
            Counter(label: "exit_signals_received_total", dimensions: [("state", "\(record.state)")]).increment()
            logger.info("exit signal received", metadata: [
                "signal_id": "\(record.signal.signalID)", "world_id": "\(record.signal.worldID)", "action": "\(record.signal.action)",
                "reduce_fraction": "\(record.signal.reduceFraction)", "state": "\(record.state)", "reason": "\(record.signal.reason)",
            ])
            await onExitSignal(record)
        case .forwarded:
            Counter(label: "event_relay_events_total", dimensions: [("topic", Self.topic)]).increment()
            Counter(label: "rebalance_plans_observed_total", dimensions: [("world_id", event.worldID)]).increment()
            Gauge(label: "rebalance_plan_last_delta_count", dimensions: [("world_id", event.worldID)]).record(Double(event.deltaCount))
        case .duplicate:
            Counter(label: "event_relay_dropped_total", dimensions: [("topic", Self.topic)]).increment()
        case .invalid:
            logger.warning("dropped an invalid planner event", metadata: ["seq": "\(event.seq)", "event_id": "\(event.eventID)"])
            Counter(label: "event_relay_dropped_total", dimensions: [("topic", Self.topic)]).increment()
        }
    }
}

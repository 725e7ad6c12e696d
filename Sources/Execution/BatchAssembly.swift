import Contracts
import ExactNumbers

public typealias BatchRef = Keel_Gateway_V1_BatchRef

/// The batches a submit writes, with deterministic client order ids.
public enum BatchAssembly {
    public struct Batch: Sendable {
        public var ref: BatchRef
        public var orders: [VenueOrder]
    }

    /// `k` + the first 31 lower-case hex characters of
    /// SHA-256("<batch_id>|<world_id>|<strategy_id>|<venue>|<symbol>|<leg>|<n>"), `n` the order's
    /// 1-based position in its batch: 32 characters, the same for the same order of the same batch.
    public static func clientOrderID(batchID: String, order: VenueOrder, position: Int) -> String {
        let leg = switch order.leg {
        case .close: "CLOSE"
        case .open: "OPEN"
        default: "SINGLE"
        }
        let text = "\(batchID)|\(order.worldID)|\(order.strategyID)|\(order.venue)|\(order.symbol)|\(leg)|\(position)"
        return "k" + String(SHA256.hex(text).prefix(31))
    }

    /// The batches of a submitted response in write order: per world (plan order), the global
    /// batch, then per strategy (worlds in first-appearance order). Batches without orders are not
    /// written. `batchID(world)` makes `<world_id>:<32 hex>` ids.
    public static func batches(of response: ExecuteResponse, batchID: (String) -> String) -> [Batch] {
        var out: [Batch] = []
        let scope = response.executionScope
        for world in response.ordersPerWorld where !world.orders.isEmpty {
            out.append(batch(world.worldID, .perWorld, world.orders, dispatched: scope == .perWorld, batchID: batchID))
        }
        if !response.ordersGlobal.isEmpty {
            out.append(batch("global", .global, response.ordersGlobal, dispatched: true, batchID: batchID))
        }
        var worlds: [String] = []
        var byWorld: [String: [VenueOrder]] = [:]
        for order in response.ordersPerStrategy {
            if byWorld[order.worldID] == nil { worlds.append(order.worldID) }
            byWorld[order.worldID, default: []].append(order)
        }
        for world in worlds {
            out.append(batch(world, .perStrategy, byWorld[world]!, dispatched: true, batchID: batchID))
        }
        return out
    }

    static func batch(_ world: String, _ scope: Keel_Gateway_V1_BatchScope, _ orders: [VenueOrder], dispatched: Bool, batchID: (String) -> String) -> Batch {
        let id = batchID(world)
        let identified = orders.enumerated().map { i, order in
            var order = order
            order.clientOrderID = clientOrderID(batchID: id, order: order, position: i + 1)
            return order
        }
        let reduceOnly = orders.filter(\.reduceOnly).count
        return Batch(ref: .with {
            $0.batchID = id
            $0.worldID = world
            $0.scope = scope
            $0.orderCount = UInt32(orders.count)
            $0.reduceOnlyRatio = (Rational(reduceOnly) / Rational(orders.count)).outputString
            $0.dispatched = dispatched
        }, orders: identified)
    }

    /// `<world_id>:<32 random lower-case hex characters>`.
    public static func randomBatchID(world: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "\(world):\(bytes.hexString)"
    }
}

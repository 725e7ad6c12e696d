import ExactNumbers
import Foundation

/// One order event of the user data stream (`executionReport`): the order's state after it, and
/// the trade it reports when its execution type is TRADE.
public struct BinanceExecutionReport: Sendable, Equatable {
    public var symbol: String
    public var clientOrderID: String
    /// The id of the order a cancel was for (`C`); empty otherwise.
    public var originalClientOrderID: String
    public var orderID: Int64
    public var side: String
    public var orderType: String
    /// NEW, CANCELED, REPLACED, REJECTED, TRADE, EXPIRED, TRADE_PREVENTION.
    public var executionType: String
    public var status: BinanceOrderStatus
    public var rejectReason: String
    public var orderQuantity: ExactDecimal
    public var cumulativeQuantity: ExactDecimal
    public var cumulativeQuoteQuantity: ExactDecimal
    public var transactionTimeMs: Int64
    /// The trade of this event (`t` ≥ 0 with TRADE); nil for any other event.
    public var trade: BinanceTrade?
}

/// What the user data stream says.
public enum BinanceUserEvent: Sendable, Equatable {
    case execution(BinanceExecutionReport)
    /// `outboundAccountPosition`: the balances an event changed.
    case balances([BinanceBalance])
    /// An event the broker does not act on (its type): balance updates, list status, stream ends.
    case other(String)
}

public enum BinanceUserData {
    /// One message of the WebSocket API connection that carries a user data event
    /// (`{"subscriptionId": N, "event": {...}}`); an answer to a request (with `id`) is not one.
    public static func event(_ message: Data) throws(VenueAnswerError) -> BinanceUserEvent {
        struct Envelope: Decodable {
            struct Kind: Decodable { var e: String }
            var event: Kind
        }
        let kind = try VenueAnswerError.decode(Envelope.self, message).event.e
        switch kind {
        case "executionReport":
            struct Wire: Decodable { var event: ExecutionWire }
            return .execution(try report(VenueAnswerError.decode(Wire.self, message).event))
        case "outboundAccountPosition":
            struct Wire: Decodable {
                struct Event: Decodable {
                    struct Balance: Decodable {
                        var a: String
                        var f: String
                        var l: String
                    }

                    var B: [Balance]
                }

                var event: Event
            }
            var balances: [BinanceBalance] = []
            for (i, balance) in try VenueAnswerError.decode(Wire.self, message).event.B.enumerated() {
                balances.append(BinanceBalance(
                    asset: balance.a, free: try BinanceOrderAnswer.decimal(balance.f, "event.B[\(i)].f"),
                    locked: try BinanceOrderAnswer.decimal(balance.l, "event.B[\(i)].l")))
            }
            return .balances(balances)
        default:
            return .other(kind)
        }
    }

    static func report(_ wire: ExecutionWire) throws(VenueAnswerError) -> BinanceExecutionReport {
        func decimal(_ text: String, _ field: String) throws(VenueAnswerError) -> ExactDecimal {
            try BinanceOrderAnswer.decimal(text, "event.\(field)")
        }
        guard let status = BinanceOrderStatus(rawValue: wire.X) else { throw VenueAnswerError(path: "event.X", "not an order status Keel knows") }
        var trade: BinanceTrade?
        if wire.x == "TRADE" {
            guard wire.t >= 0 else { throw VenueAnswerError(path: "event.t", "a TRADE event without a trade id") }
            trade = BinanceTrade(
                tradeID: wire.t, price: try decimal(wire.L, "L"), quantity: try decimal(wire.l, "l"), commission: try decimal(wire.n, "n"),
                commissionAsset: wire.N ?? "")
        }
        return BinanceExecutionReport(
            symbol: wire.s, clientOrderID: wire.c, originalClientOrderID: wire.C, orderID: wire.i, side: wire.S, orderType: wire.o, executionType: wire.x,
            status: status, rejectReason: wire.r, orderQuantity: try decimal(wire.q, "q"), cumulativeQuantity: try decimal(wire.z, "z"),
            cumulativeQuoteQuantity: try decimal(wire.Z, "Z"), transactionTimeMs: wire.T, trade: trade)
    }

    // Binance's one-letter names, which differ by case only (s and S, x and X, …).
    struct ExecutionWire: Decodable {
        var s: String
        var c: String
        var S: String
        var o: String
        var q: String
        var C: String
        var x: String
        var X: String
        var r: String
        var i: Int64
        var l: String
        var z: String
        var L: String
        var n: String
        var N: String?
        var T: Int64
        var t: Int64
        var Z: String
    }
}

import Crypto
import ExactNumbers
import Foundation

/// What a call that changes an order came to. *Unknown* is anything the venue did not state: the
/// order must then be resolved by asking the venue, never sent again under a new identity.
public enum VenueOutcome<Report: Sendable>: Sendable {
    case accepted(Report)
    case rejected(VenueRejection)
    case unknown(String)
}

/// The venue's refusal, with its code and words.
public struct VenueRejection: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// HTTP 429 or Binance `-1003`: pause the broker.
        case tooManyRequests
        /// HTTP 418: the key is banned for a while; halt the broker.
        case banned
        /// Binance `-1021`: the timestamp was outside the window; refused before the matching
        /// engine, so re-measuring the clock and sending again is safe.
        case timestamp
        /// Binance `-2013`: the venue has no such order.
        case noSuchOrder
        case other
    }

    public var kind: Kind
    /// 0 when the broker speaks no HTTP (the paper broker).
    public var httpStatus: Int
    /// The venue's error code; 0 when it gave none.
    public var code: Int
    public var message: String

    public init(kind: Kind, httpStatus: Int, code: Int, message: String) {
        (self.kind, self.httpStatus, self.code, self.message) = (kind, httpStatus, code, message)
    }
}

/// Binance Spot's order states.
public enum BinanceOrderStatus: String, Sendable, Equatable {
    case new = "NEW"
    case pendingNew = "PENDING_NEW"
    case partiallyFilled = "PARTIALLY_FILLED"
    case filled = "FILLED"
    case canceled = "CANCELED"
    case pendingCancel = "PENDING_CANCEL"
    case rejected = "REJECTED"
    case expired = "EXPIRED"
    case expiredInMatch = "EXPIRED_IN_MATCH"

    /// Still working at the venue.
    public var isWorking: Bool { self == .new || self == .pendingNew || self == .partiallyFilled || self == .pendingCancel }
}

/// One trade of an order, as the venue reports it (`fills` of a FULL answer, `myTrades`).
public struct BinanceTrade: Sendable, Equatable {
    /// The venue's trade identity: a fill is recorded once per id.
    public var tradeID: Int64
    public var price: ExactDecimal
    public var quantity: ExactDecimal
    public var commission: ExactDecimal
    public var commissionAsset: String
}

/// An order as Binance reports it (the answer of place, query, cancel).
public struct BinanceOrderReport: Sendable, Equatable {
    public var symbol: String
    public var orderID: Int64
    public var clientOrderID: String
    public var status: BinanceOrderStatus
    public var side: String
    public var type: String
    /// Zero for a market order.
    public var price: ExactDecimal
    public var originalQuantity: ExactDecimal
    public var executedQuantity: ExactDecimal
    public var cumulativeQuoteQuantity: ExactDecimal
    /// The trades of a FULL answer; empty in a query's answer.
    public var trades: [BinanceTrade]
}

/// Reads Binance's answers to the order endpoints. Every decimal is read exactly as written; an
/// answer that does not parse (truncated JSON, a number where a string belongs, a status Keel does
/// not know) is an unknown outcome naming where it failed, never a guessed state.
public enum BinanceOrderAnswer {
    /// The answer of `POST /api/v3/order`, `GET /api/v3/order` or `DELETE /api/v3/order`.
    public static func read(httpStatus: Int, body: Data) -> VenueOutcome<BinanceOrderReport> {
        switch httpStatus {
        case 200..<300:
            do {
                return .accepted(try report(body))
            } catch {
                return .unknown("the venue's answer (HTTP \(httpStatus)) does not parse at \(error)")
            }
        case 500...:
            return .unknown("HTTP \(httpStatus): the venue did not say whether it took the request")
        default:
            guard let error = try? JSONDecoder().decode(ErrorWire.self, from: body) else {
                if httpStatus == 429 || httpStatus == 418 {
                    return .rejected(VenueRejection(kind: httpStatus == 429 ? .tooManyRequests : .banned, httpStatus: httpStatus, code: 0, message: ""))
                }
                return .unknown("HTTP \(httpStatus) with an answer that is not a Binance error")
            }
            switch error.code {
            // "Timeout waiting for response from backend server. Send status unknown."
            case -1007: return .unknown("Binance -1007: \(error.msg)")
            // A working order already has this client order id: the earlier send was placed.
            case -2010 where error.msg == "Duplicate order sent.": return .unknown("Binance -2010: \(error.msg)")
            default: break
            }
            let kind: VenueRejection.Kind
            switch (httpStatus, error.code) {
            case (418, _): kind = .banned
            case (429, _), (_, -1003): kind = .tooManyRequests
            case (_, -1021): kind = .timestamp
            // -2011 "Unknown order sent." is a cancel's way of saying so.
            case (_, -2013): kind = .noSuchOrder
            case (_, -2011) where error.msg == "Unknown order sent.": kind = .noSuchOrder
            default: kind = .other
            }
            return .rejected(VenueRejection(kind: kind, httpStatus: httpStatus, code: error.code, message: error.msg))
        }
    }

    static func report(_ body: Data) throws(VenueAnswerError) -> BinanceOrderReport {
        try report(VenueAnswerError.decode(OrderWire.self, body), at: "")
    }

    /// An order object read where it lies in the answer (`at`: its path, "" for the whole answer).
    static func report(_ wire: OrderWire, at path: String) throws(VenueAnswerError) -> BinanceOrderReport {
        func field(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }
        guard let status = BinanceOrderStatus(rawValue: wire.status) else { throw VenueAnswerError(path: field("status"), "not an order status Keel knows") }
        var trades: [BinanceTrade] = []
        for (i, fill) in (wire.fills ?? []).enumerated() {
            trades.append(BinanceTrade(
                tradeID: fill.tradeId, price: try decimal(fill.price, field("fills[\(i)].price")), quantity: try decimal(fill.qty, field("fills[\(i)].qty")),
                commission: try decimal(fill.commission, field("fills[\(i)].commission")), commissionAsset: fill.commissionAsset))
        }
        return BinanceOrderReport(
            // A cancel's answer names the order by origClientOrderId (its clientOrderId is the cancel's).
            symbol: wire.symbol, orderID: wire.orderId, clientOrderID: wire.origClientOrderId ?? wire.clientOrderId, status: status, side: wire.side, type: wire.type,
            price: try decimal(wire.price, field("price")), originalQuantity: try decimal(wire.origQty, field("origQty")),
            executedQuantity: try decimal(wire.executedQty, field("executedQty")),
            cumulativeQuoteQuantity: try decimal(wire.cummulativeQuoteQty, field("cummulativeQuoteQty")), trades: trades)
    }

    static func decimal(_ text: String, _ path: String) throws(VenueAnswerError) -> ExactDecimal {
        guard let value = DecimalGrammar.parse(text), value.signum >= 0 else { throw VenueAnswerError(path: path, "not a non-negative decimal") }
        return value
    }

    struct ErrorWire: Decodable {
        var code: Int
        var msg: String
    }

    struct OrderWire: Decodable {
        struct Fill: Decodable {
            var price: String
            var qty: String
            var commission: String
            var commissionAsset: String
            var tradeId: Int64
        }

        var symbol: String
        var orderId: Int64
        var clientOrderId: String
        var origClientOrderId: String?
        var price: String
        var origQty: String
        var executedQty: String
        var cummulativeQuoteQty: String
        var status: String
        var type: String
        var side: String
        var fills: [Fill]?
    }
}

/// Client order ids as Binance takes them (`^[a-zA-Z0-9-_]{1,36}$`).
public enum BinanceClientOrderID {
    /// The id an amend (cancel-replace) sends for the replacement: the order's id and the amend
    /// number, the same every time it is made, within 36 characters. An id too long to extend keeps
    /// its head and a digest of the whole, so two ids never share a replacement id.
    public static func amend(of clientOrderID: String, number: Int) -> String {
        let suffix = "_a\(number)"
        if clientOrderID.utf8.count + suffix.utf8.count <= 36 { return clientOrderID + suffix }
        let digest = SHA256.hash(data: Data(clientOrderID.utf8)).prefix(5).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        return String(clientOrderID.prefix(36 - suffix.count - digest.count - 1)) + "-" + digest + suffix
    }

    public static func isValid(_ id: String) -> Bool {
        (1...36).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"): true
            default: false
            }
        }
    }
}

/// The offset between the venue's clock and this machine's, from `GET /api/v3/time`: the server's
/// time against the midpoint of the round trip. Signed requests carry local time plus the offset.
public enum VenueClockOffset {
    public static func measure(sentAtMs: Int64, serverTimeMs: Int64, receivedAtMs: Int64) -> Int64 {
        serverTimeMs - (sentAtMs + (receivedAtMs - sentAtMs) / 2)
    }

    /// The server time of a `GET /api/v3/time` answer.
    public static func serverTime(_ body: Data) throws(VenueAnswerError) -> Int64 {
        struct Wire: Decodable { var serverTime: Int64 }
        return try VenueAnswerError.decode(Wire.self, body).serverTime
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

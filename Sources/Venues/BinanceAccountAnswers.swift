import ExactNumbers
import Foundation

/// One asset of the account (`GET /api/v3/account`): what is free and what working orders lock.
/// Spot has no positions: a configured instrument's position is its base asset's free + locked.
public struct BinanceBalance: Sendable, Equatable {
    public var asset: String
    public var free: ExactDecimal
    public var locked: ExactDecimal

    public var total: ExactDecimal { free + locked }
}

/// The best bid and ask of a symbol (`GET /api/v3/ticker/bookTicker`).
public struct BinanceBookTicker: Sendable, Equatable {
    public var symbol: String
    public var bid: ExactDecimal
    public var ask: ExactDecimal
}

/// One of the account's trades (`GET /api/v3/myTrades`): a fill, known by its trade id.
public struct BinanceAccountTrade: Sendable, Equatable {
    public var tradeID: Int64
    public var orderID: Int64
    public var symbol: String
    public var price: ExactDecimal
    public var quantity: ExactDecimal
    public var quoteQuantity: ExactDecimal
    public var commission: ExactDecimal
    public var commissionAsset: String
    public var timeMs: Int64
    public var isBuyer: Bool
}

/// Reads the answers of Binance's account and market endpoints, exactly, or says where they fail.
public enum BinanceAnswers {
    public static func balances(_ body: Data) throws(VenueAnswerError) -> [String: BinanceBalance] {
        struct Wire: Decodable {
            struct Balance: Decodable {
                var asset: String
                var free: String
                var locked: String
            }

            var balances: [Balance]
        }
        let wire = try VenueAnswerError.decode(Wire.self, body)
        var out: [String: BinanceBalance] = [:]
        for (i, balance) in wire.balances.enumerated() {
            out[balance.asset] = BinanceBalance(
                asset: balance.asset, free: try BinanceOrderAnswer.decimal(balance.free, "balances[\(i)].free"),
                locked: try BinanceOrderAnswer.decimal(balance.locked, "balances[\(i)].locked"))
        }
        return out
    }

    public static func bookTicker(_ body: Data) throws(VenueAnswerError) -> BinanceBookTicker {
        struct Wire: Decodable {
            var symbol: String
            var bidPrice: String
            var askPrice: String
        }
        let wire = try VenueAnswerError.decode(Wire.self, body)
        return BinanceBookTicker(
            symbol: wire.symbol, bid: try BinanceOrderAnswer.decimal(wire.bidPrice, "bidPrice"), ask: try BinanceOrderAnswer.decimal(wire.askPrice, "askPrice"))
    }

    public static func trades(_ body: Data) throws(VenueAnswerError) -> [BinanceAccountTrade] {
        struct Wire: Decodable {
            var symbol: String
            var id: Int64
            var orderId: Int64
            var price: String
            var qty: String
            var quoteQty: String
            var commission: String
            var commissionAsset: String
            var time: Int64
            var isBuyer: Bool
        }
        var out: [BinanceAccountTrade] = []
        for (i, trade) in try VenueAnswerError.decode([Wire].self, body).enumerated() {
            out.append(BinanceAccountTrade(
                tradeID: trade.id, orderID: trade.orderId, symbol: trade.symbol, price: try BinanceOrderAnswer.decimal(trade.price, "[\(i)].price"),
                quantity: try BinanceOrderAnswer.decimal(trade.qty, "[\(i)].qty"), quoteQuantity: try BinanceOrderAnswer.decimal(trade.quoteQty, "[\(i)].quoteQty"),
                commission: try BinanceOrderAnswer.decimal(trade.commission, "[\(i)].commission"), commissionAsset: trade.commissionAsset,
                timeMs: trade.time, isBuyer: trade.isBuyer))
        }
        return out
    }

    /// `GET /api/v3/openOrders`: the working orders, as order reports (without fills).
    public static func openOrders(_ body: Data) throws(VenueAnswerError) -> [BinanceOrderReport] {
        var out: [BinanceOrderReport] = []
        for (i, wire) in try VenueAnswerError.decode([BinanceOrderAnswer.OrderWire].self, body).enumerated() {
            out.append(try BinanceOrderAnswer.report(wire, at: "[\(i)]"))
        }
        return out
    }
}

extension BinanceOrderAnswer {
    /// The answer of `POST /api/v3/order/cancelReplace`: accepted with the new order; HTTP 409
    /// (`-2021`, one of the two parts failed) is unknown, to be settled by looking both orders up.
    public static func readCancelReplace(httpStatus: Int, body: Data) -> VenueOutcome<BinanceOrderReport> {
        switch httpStatus {
        case 200..<300:
            struct Wire: Decodable { var newOrderResponse: OrderWire }
            do throws(VenueAnswerError) {
                return .accepted(try report(VenueAnswerError.decode(Wire.self, body).newOrderResponse, at: "newOrderResponse"))
            } catch {
                return .unknown("the venue's answer (HTTP \(httpStatus)) does not parse at \(error)")
            }
        case 409:
            return .unknown("HTTP 409: the cancel-replace partly failed; both orders are looked up")
        default:
            return read(httpStatus: httpStatus, body: body)
        }
    }
}

import ExactNumbers

/// One Binance Spot REST request, before signing: what is sent, and what it counts against the
/// venue's limits (each endpoint's documented request weight, and 1 toward the unfilled order
/// count for an endpoint that places an order).
public struct BinanceRequest: Sendable, Equatable {
    public enum Method: String, Sendable { case get = "GET", post = "POST", delete = "DELETE" }

    public struct Parameter: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    public var method: Method
    public var path: String
    public var parameters: [Parameter]
    /// SIGNED (TRADE, USER_DATA): carries the API key header, `timestamp` and `signature`.
    public var signed: Bool
    public var weight: Int
    public var orders: Int

    /// The parameters in BinanceSigning's shape.
    public var pairs: [(name: String, value: String)] { parameters.map { ($0.name, $0.value) } }
}

public enum BinanceSide: String, Sendable { case buy = "BUY", sell = "SELL" }

/// A request Keel refuses to build (and so never sends), naming the parameter.
public struct BinanceRequestError: Error, Equatable, CustomStringConvertible {
    public var parameter: String
    public var problem: String

    public var description: String { "\(parameter): \(problem)" }
}

/// The requests the Binance Spot broker sends, with the parameters the venue requires and none it
/// refuses (a MARKET order carries no `timeInForce` and no `price`: `-1106`).
public enum BinanceRequests {
    public enum OrderType: Sendable, Equatable {
        case market
        case limit(price: ExactDecimal, timeInForce: String)
    }

    /// `POST /api/v3/order`, answered in full (its fills included).
    public static func newOrder(symbol: String, side: BinanceSide, type: OrderType, quantity: ExactDecimal, clientOrderID: String) throws(BinanceRequestError) -> BinanceRequest {
        var parameters: [BinanceRequest.Parameter] = [.init(name: "symbol", value: symbol), .init(name: "side", value: side.rawValue)]
        switch type {
        case .market:
            parameters.append(.init(name: "type", value: "MARKET"))
        case .limit(let price, let timeInForce):
            guard ["GTC", "IOC", "FOK"].contains(timeInForce) else { throw BinanceRequestError(parameter: "timeInForce", problem: "Binance Spot takes GTC, IOC or FOK") }
            parameters += [.init(name: "type", value: "LIMIT"), .init(name: "timeInForce", value: timeInForce)]
            parameters.append(.init(name: "price", value: try positive(price, "price")))
        }
        parameters.append(.init(name: "quantity", value: try positive(quantity, "quantity")))
        parameters.append(.init(name: "newClientOrderId", value: try checked(clientOrderID, "newClientOrderId")))
        parameters.append(.init(name: "newOrderRespType", value: "FULL"))
        return BinanceRequest(method: .post, path: "/api/v3/order", parameters: parameters, signed: true, weight: 1, orders: 1)
    }

    /// `GET /api/v3/order` by client order id.
    public static func queryOrder(symbol: String, clientOrderID: String) throws(BinanceRequestError) -> BinanceRequest {
        BinanceRequest(method: .get, path: "/api/v3/order", parameters: [
            .init(name: "symbol", value: symbol), .init(name: "origClientOrderId", value: try checked(clientOrderID, "origClientOrderId")),
        ], signed: true, weight: 4, orders: 0)
    }

    /// `DELETE /api/v3/order` by client order id.
    public static func cancelOrder(symbol: String, clientOrderID: String) throws(BinanceRequestError) -> BinanceRequest {
        BinanceRequest(method: .delete, path: "/api/v3/order", parameters: [
            .init(name: "symbol", value: symbol), .init(name: "origClientOrderId", value: try checked(clientOrderID, "origClientOrderId")),
        ], signed: true, weight: 1, orders: 0)
    }

    /// `POST /api/v3/order/cancelReplace` (an amend): the working order cancelled and a LIMIT order
    /// for the new remainder placed under `newClientOrderID`, or nothing placed when the cancel
    /// fails (`STOP_ON_FAILURE`).
    public static func cancelReplace(symbol: String, side: BinanceSide, cancelClientOrderID: String, newClientOrderID: String, quantity: ExactDecimal,
                                     price: ExactDecimal, timeInForce: String) throws(BinanceRequestError) -> BinanceRequest {
        guard ["GTC", "IOC", "FOK"].contains(timeInForce) else { throw BinanceRequestError(parameter: "timeInForce", problem: "Binance Spot takes GTC, IOC or FOK") }
        return BinanceRequest(method: .post, path: "/api/v3/order/cancelReplace", parameters: [
            .init(name: "symbol", value: symbol), .init(name: "side", value: side.rawValue), .init(name: "type", value: "LIMIT"),
            .init(name: "cancelReplaceMode", value: "STOP_ON_FAILURE"), .init(name: "timeInForce", value: timeInForce),
            .init(name: "price", value: try positive(price, "price")), .init(name: "quantity", value: try positive(quantity, "quantity")),
            .init(name: "cancelOrigClientOrderId", value: try checked(cancelClientOrderID, "cancelOrigClientOrderId")),
            .init(name: "newClientOrderId", value: try checked(newClientOrderID, "newClientOrderId")),
            .init(name: "newOrderRespType", value: "FULL"),
        ], signed: true, weight: 1, orders: 1)
    }

    /// `GET /api/v3/openOrders`, of one symbol or of all (which weighs 80).
    public static func openOrders(symbol: String?) -> BinanceRequest {
        BinanceRequest(method: .get, path: "/api/v3/openOrders", parameters: symbol.map { [.init(name: "symbol", value: $0)] } ?? [],
                       signed: true, weight: symbol == nil ? 80 : 6, orders: 0)
    }

    /// `GET /api/v3/myTrades` of one symbol from a trade id on (inclusive), or the latest.
    public static func myTrades(symbol: String, fromTradeID: Int64?) -> BinanceRequest {
        var parameters: [BinanceRequest.Parameter] = [.init(name: "symbol", value: symbol)]
        if let fromTradeID { parameters.append(.init(name: "fromId", value: String(fromTradeID))) }
        parameters.append(.init(name: "limit", value: "1000"))
        return BinanceRequest(method: .get, path: "/api/v3/myTrades", parameters: parameters, signed: true, weight: 20, orders: 0)
    }

    /// `GET /api/v3/account` (balances).
    public static func account() -> BinanceRequest {
        BinanceRequest(method: .get, path: "/api/v3/account", parameters: [.init(name: "omitZeroBalances", value: "true")], signed: true, weight: 20, orders: 0)
    }

    /// `GET /api/v3/ticker/bookTicker` of one symbol.
    public static func bookTicker(symbol: String) -> BinanceRequest {
        BinanceRequest(method: .get, path: "/api/v3/ticker/bookTicker", parameters: [.init(name: "symbol", value: symbol)], signed: false, weight: 2, orders: 0)
    }

    public static func exchangeInfo() -> BinanceRequest {
        BinanceRequest(method: .get, path: "/api/v3/exchangeInfo", parameters: [], signed: false, weight: 20, orders: 0)
    }

    public static func time() -> BinanceRequest {
        BinanceRequest(method: .get, path: "/api/v3/time", parameters: [], signed: false, weight: 1, orders: 0)
    }

    /// A positive decimal as Binance reads it (Keel writes decimals plain, never with an exponent).
    static func positive(_ value: ExactDecimal, _ parameter: String) throws(BinanceRequestError) -> String {
        guard value.signum > 0 else { throw BinanceRequestError(parameter: parameter, problem: "must be positive") }
        return value.description
    }

    static func checked(_ clientOrderID: String, _ parameter: String) throws(BinanceRequestError) -> String {
        guard BinanceClientOrderID.isValid(clientOrderID) else {
            throw BinanceRequestError(parameter: parameter, problem: "Binance takes 1 to 36 of a-z, A-Z, 0-9, - and _")
        }
        return clientOrderID
    }
}

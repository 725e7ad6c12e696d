import ExactNumbers
import Foundation
import Testing
@testable import Venues

@Suite struct BinanceRequestTests {
    static func decimal(_ text: String) -> ExactDecimal { DecimalGrammar.parse(text)! }

    static func query(_ request: BinanceRequest) -> String { BinanceSigning.query(request.pairs) }

    @Test func aLimitOrderCarriesItsPriceAndTimeInForce() throws {
        let request = try BinanceRequests.newOrder(
            symbol: "BTCUSDT", side: .buy, type: .limit(price: Self.decimal("64000.10"), timeInForce: "GTC"), quantity: Self.decimal("0.00150"),
            clientOrderID: "b_01hzx-1")
        #expect(request.method == .post && request.path == "/api/v3/order" && request.signed && request.weight == 1 && request.orders == 1)
        #expect(Self.query(request) == "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&price=64000.1&quantity=0.0015&newClientOrderId=b_01hzx-1&newOrderRespType=FULL")
    }

    /// A market order sends neither a time in force nor a price (Binance refuses them: -1106).
    @Test func aMarketOrderCarriesNoPriceAndNoTimeInForce() throws {
        let request = try BinanceRequests.newOrder(symbol: "ETHUSDT", side: .sell, type: .market, quantity: Self.decimal("2"), clientOrderID: "x")
        #expect(Self.query(request) == "symbol=ETHUSDT&side=SELL&type=MARKET&quantity=2&newClientOrderId=x&newOrderRespType=FULL")
    }

    @Test func whatBinanceWouldRefuseIsNeverBuilt() {
        #expect(throws: BinanceRequestError(parameter: "quantity", problem: "must be positive")) {
            try BinanceRequests.newOrder(symbol: "A", side: .buy, type: .market, quantity: .zero, clientOrderID: "x")
        }
        #expect(throws: BinanceRequestError(parameter: "price", problem: "must be positive")) {
            try BinanceRequests.newOrder(symbol: "A", side: .buy, type: .limit(price: Self.decimal("-1"), timeInForce: "GTC"), quantity: .one, clientOrderID: "x")
        }
        #expect(throws: BinanceRequestError.self) {
            try BinanceRequests.newOrder(symbol: "A", side: .buy, type: .limit(price: .one, timeInForce: "GTX"), quantity: .one, clientOrderID: "x")
        }
        #expect(throws: BinanceRequestError.self) {
            try BinanceRequests.newOrder(symbol: "A", side: .buy, type: .market, quantity: .one, clientOrderID: "has space")
        }
        #expect(throws: BinanceRequestError.self) { try BinanceRequests.queryOrder(symbol: "A", clientOrderID: String(repeating: "a", count: 37)) }
    }

    @Test func anAmendIsACancelReplaceThatStopsOnFailure() throws {
        let request = try BinanceRequests.cancelReplace(
            symbol: "BTCUSDT", side: .sell, cancelClientOrderID: "s-1", newClientOrderID: BinanceClientOrderID.amend(of: "s-1", number: 1),
            quantity: Self.decimal("0.5"), price: Self.decimal("65000"), timeInForce: "GTC")
        #expect(request.path == "/api/v3/order/cancelReplace" && request.orders == 1)
        #expect(Self.query(request) == "symbol=BTCUSDT&side=SELL&type=LIMIT&cancelReplaceMode=STOP_ON_FAILURE&timeInForce=GTC&price=65000&quantity=0.5&cancelOrigClientOrderId=s-1&newClientOrderId=s-1_a1&newOrderRespType=FULL")
    }

    /// Each endpoint's documented weight.
    @Test func weights() throws {
        #expect(try BinanceRequests.queryOrder(symbol: "A", clientOrderID: "x").weight == 4)
        #expect(try BinanceRequests.cancelOrder(symbol: "A", clientOrderID: "x").weight == 1)
        #expect(BinanceRequests.openOrders(symbol: "A").weight == 6)
        #expect(BinanceRequests.openOrders(symbol: nil).weight == 80)
        #expect(BinanceRequests.myTrades(symbol: "A", fromTradeID: 7).weight == 20)
        #expect(Self.query(BinanceRequests.myTrades(symbol: "A", fromTradeID: 7)) == "symbol=A&fromId=7&limit=1000")
        #expect(BinanceRequests.account().weight == 20)
        #expect(BinanceRequests.bookTicker(symbol: "A").weight == 2 && !BinanceRequests.bookTicker(symbol: "A").signed)
        #expect(BinanceRequests.exchangeInfo().weight == 20)
        #expect(BinanceRequests.time().weight == 1)
    }
}

@Suite struct BinanceAccountAnswerTests {
    static func decimal(_ text: String) -> ExactDecimal { DecimalGrammar.parse(text)! }

    @Test func balancesAreFreeAndLocked() throws {
        let body = #"{"makerCommission":15,"canTrade":true,"balances":[{"asset":"BTC","free":"4723846.89208129","locked":"0.00000000"},{"asset":"LTC","free":"4763368.68006011","locked":"0.50000000"}]}"#
        let balances = try BinanceAnswers.balances(Data(body.utf8))
        #expect(balances["BTC"] == BinanceBalance(asset: "BTC", free: Self.decimal("4723846.89208129"), locked: .zero))
        #expect(balances["LTC"]?.total == Self.decimal("4763369.18006011"))
        #expect(throws: VenueAnswerError(path: "balances[0].free", "not a string")) {
            try BinanceAnswers.balances(Data(#"{"balances":[{"asset":"BTC","free":1.5,"locked":"0"}]}"#.utf8))
        }
    }

    @Test func theBookTickersBidAndAsk() throws {
        let ticker = try BinanceAnswers.bookTicker(Data(#"{"symbol":"LTCBTC","bidPrice":"4.00000000","bidQty":"431.00000000","askPrice":"4.00000200","askQty":"9.00000000"}"#.utf8))
        #expect(ticker == BinanceBookTicker(symbol: "LTCBTC", bid: Self.decimal("4"), ask: Self.decimal("4.000002")))
    }

    @Test func tradesAreKnownByTheirIds() throws {
        let body = #"[{"symbol":"BNBBTC","id":28457,"orderId":100234,"orderListId":-1,"price":"4.00000100","qty":"12.00000000","quoteQty":"48.000012","commission":"10.10000000","commissionAsset":"BNB","time":1499865549590,"isBuyer":true,"isMaker":false,"isBestMatch":true}]"#
        #expect(try BinanceAnswers.trades(Data(body.utf8)) == [BinanceAccountTrade(
            tradeID: 28457, orderID: 100234, symbol: "BNBBTC", price: Self.decimal("4.000001"), quantity: Self.decimal("12"), quoteQuantity: Self.decimal("48.000012"),
            commission: Self.decimal("10.1"), commissionAsset: "BNB", timeMs: 1_499_865_549_590, isBuyer: true)])
        #expect(throws: VenueAnswerError.self) { try BinanceAnswers.trades(Data(body.replacingOccurrences(of: "\"id\":28457", with: "\"id\":\"28457\"").utf8)) }
    }

    static let openOrder = #"{"symbol":"LTCBTC","orderId":1,"orderListId":-1,"clientOrderId":"myOrder1","price":"0.1","origQty":"1.0","executedQty":"0.0","cummulativeQuoteQty":"0.0","status":"NEW","timeInForce":"GTC","type":"LIMIT","side":"BUY","stopPrice":"0.0","icebergQty":"0.0","time":1499827319559,"updateTime":1499827319559,"isWorking":true,"origQuoteOrderQty":"0.000000"}"#

    @Test func openOrdersAreReportsAndABadOneIsNamed() throws {
        let orders = try BinanceAnswers.openOrders(Data("[\(Self.openOrder)]".utf8))
        #expect(orders.map(\.clientOrderID) == ["myOrder1"] && orders[0].status == .new && orders[0].status.isWorking && orders[0].trades.isEmpty)
        let bad = Self.openOrder.replacingOccurrences(of: #""status":"NEW""#, with: #""status":"SLEEPING""#)
        #expect(throws: VenueAnswerError(path: "[1].status", "not an order status Keel knows")) {
            try BinanceAnswers.openOrders(Data("[\(Self.openOrder),\(bad)]".utf8))
        }
    }

    @Test func aCancelReplaceIsAcceptedWithItsNewOrderOrUnknownWhenHalfDone() throws {
        let body = #"{"cancelResult":"SUCCESS","newOrderResult":"SUCCESS","cancelResponse":{"symbol":"BTCUSDT","origClientOrderId":"s-1","orderId":9,"status":"CANCELED"},"newOrderResponse":\#(Self.openOrder)}"#
        guard case .accepted(let report) = BinanceOrderAnswer.readCancelReplace(httpStatus: 200, body: Data(body.utf8)) else {
            Issue.record("not accepted")
            return
        }
        #expect(report.clientOrderID == "myOrder1")
        guard case .unknown(let cause) = BinanceOrderAnswer.readCancelReplace(
            httpStatus: 409, body: Data(#"{"code":-2021,"msg":"Order cancel-replace partially failed.","data":{}}"#.utf8)) else {
            Issue.record("a half-done cancel-replace must be unknown")
            return
        }
        #expect(cause.contains("409"))
        guard case .unknown(let parse) = BinanceOrderAnswer.readCancelReplace(httpStatus: 200, body: Data(body.replacingOccurrences(of: #""origQty":"1.0""#, with: #""origQty":1"#).utf8)) else {
            Issue.record("an unreadable new order must be unknown")
            return
        }
        #expect(parse.contains("newOrderResponse.origQty"), "\(parse)")
        guard case .rejected(let rejection) = BinanceOrderAnswer.readCancelReplace(
            httpStatus: 400, body: Data(#"{"code":-2022,"msg":"Order cancel-replace failed.","data":{}}"#.utf8)) else {
            Issue.record("a failed cancel-replace is a rejection")
            return
        }
        #expect(rejection.code == -2022)
    }
}

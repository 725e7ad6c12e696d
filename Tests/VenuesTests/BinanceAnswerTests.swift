import ExactNumbers
import Foundation
import Testing
@testable import Venues

@Suite struct BinanceExchangeInfoTests {
    static let answer = """
        {"timezone":"UTC","serverTime":1565246363776,
         "rateLimits":[
           {"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000},
           {"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":100},
           {"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":200000},
           {"rateLimitType":"RAW_REQUESTS","interval":"MINUTE","intervalNum":5,"limit":61000}],
         "exchangeFilters":[],
         "symbols":[
           {"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","filters":[
             {"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"},
             {"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"},
             {"filterType":"ICEBERG_PARTS","limit":10},
             {"filterType":"MARKET_LOT_SIZE","minQty":"0.00000000","maxQty":"100.00000000","stepSize":"0.00000000"},
             {"filterType":"NOTIONAL","minNotional":"5.00000000","applyMinToMarket":true,"maxNotional":"9000000.00000000","applyMaxToMarket":false,"avgPriceMins":5},
             {"filterType":"MIN_NOTIONAL","minNotional":"10.00000000","applyToMarket":true,"avgPriceMins":5}]},
           {"symbol":"LTCBTC","status":"BREAK","baseAsset":"LTC","quoteAsset":"BTC","filters":[
             {"filterType":"LOT_SIZE","minQty":"0.001","maxQty":"100000","stepSize":"0.001"},
             {"filterType":"MARKET_LOT_SIZE","minQty":"0.01","maxQty":"1000","stepSize":"0.01"},
             {"filterType":"MIN_NOTIONAL","minNotional":"0.0001","applyToMarket":true,"avgPriceMins":5}]},
           {"symbol":"BADUSDT","status":"TRADING","baseAsset":"BAD","quoteAsset":"USDT","filters":[
             {"filterType":"PRICE_FILTER","tickSize":"0.01"},
             {"filterType":"LOT_SIZE","minQty":"0.1","stepSize":0.1}]},
           {"symbol":"NEGUSDT","status":"TRADING","baseAsset":"NEG","quoteAsset":"USDT","filters":[
             {"filterType":"PRICE_FILTER","tickSize":"-0.01"}]}]}
        """

    static func decimal(_ text: String) -> ExactDecimal { DecimalGrammar.parse(text)! }

    @Test func rateLimitsAndInstrumentsAreReadExactly() throws {
        let info = try BinanceExchangeInfo(json: Data(Self.answer.utf8))
        #expect(info.rateLimits == [
            .init(counted: .requestWeight, intervalMs: 60_000, limit: 6000, header: "X-MBX-USED-WEIGHT-1M"),
            .init(counted: .orders, intervalMs: 10_000, limit: 100, header: "X-MBX-ORDER-COUNT-10S"),
            .init(counted: .orders, intervalMs: 86_400_000, limit: 200_000, header: "X-MBX-ORDER-COUNT-1D"),
            .init(counted: .requests, intervalMs: 300_000, limit: 61_000, header: nil),
        ])
        #expect(info.instruments["BTCUSDT"] == VenueInstrument(
            symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", trading: true, lotSize: Self.decimal("0.00001"), marketLotSize: nil,
            tickSize: Self.decimal("0.01"), minQuantity: Self.decimal("0.00001"), minNotional: Self.decimal("5")))
        // The legacy filter when NOTIONAL is absent; no price filter, no tick.
        #expect(info.instruments["LTCBTC"] == VenueInstrument(
            symbol: "LTCBTC", baseAsset: "LTC", quoteAsset: "BTC", trading: false, lotSize: Self.decimal("0.001"), marketLotSize: Self.decimal("0.01"),
            tickSize: nil, minQuantity: Self.decimal("0.001"), minNotional: Self.decimal("0.0001")))
        #expect(info.instruments.count == 2)
        #expect(info.unreadable["BADUSDT"] == VenueAnswerError(path: "symbols[2].filters[1].stepSize", "not a string"))
        #expect(info.unreadable["NEGUSDT"] == VenueAnswerError(path: "symbols[3].filters[0].tickSize", "not a non-negative decimal"))
    }

    @Test(arguments: [
        (#"{"rateLimits":[],"symbols":[{"symbol":"A""#, ""),
        (#"{"symbols":[]}"#, "rateLimits"),
        (#"{"rateLimits":[{"rateLimitType":"SOMETHING","interval":"MINUTE","intervalNum":1,"limit":1}],"symbols":[]}"#, "rateLimits[0].rateLimitType"),
        (#"{"rateLimits":[{"rateLimitType":"ORDERS","interval":"WEEK","intervalNum":1,"limit":1}],"symbols":[]}"#, "rateLimits[0].interval"),
        (#"{"rateLimits":[{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":"1","limit":1}],"symbols":[]}"#, "rateLimits[0].intervalNum"),
        (#"{"rateLimits":[{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":0,"limit":1}],"symbols":[]}"#, "rateLimits[0].intervalNum"),
    ])
    func aMisshapenAnswerIsAnErrorAtItsPath(json: String, path: String) {
        #expect(throws: VenueAnswerError.self) { try BinanceExchangeInfo(json: Data(json.utf8)) }
        do {
            _ = try BinanceExchangeInfo(json: Data(json.utf8))
        } catch {
            #expect(error.path == path)
        }
    }
}

@Suite struct BinanceOrderAnswerTests {
    static let full = """
        {"symbol":"BTCUSDT","orderId":28,"orderListId":-1,"clientOrderId":"6gCrw2kRUAF9CvJDGP16IP","transactTime":1507725176595,
         "price":"0.00000000","origQty":"10.00000000","executedQty":"10.00000000","cummulativeQuoteQty":"10.00000000",
         "status":"FILLED","timeInForce":"GTC","type":"MARKET","side":"SELL","workingTime":1507725176595,"selfTradePreventionMode":"NONE",
         "fills":[{"price":"4000.00000000","qty":"1.00000000","commission":"4.00000000","commissionAsset":"USDT","tradeId":56},
                  {"price":"3999.00000000","qty":"9.00000000","commission":"35.99100000","commissionAsset":"USDT","tradeId":57}]}
        """

    static func decimal(_ text: String) -> ExactDecimal { DecimalGrammar.parse(text)! }

    @Test func aFullAnswerIsAcceptedWithItsTrades() throws {
        guard case .accepted(let report) = BinanceOrderAnswer.read(httpStatus: 200, body: Data(Self.full.utf8)) else {
            Issue.record("not accepted")
            return
        }
        #expect(report.orderID == 28 && report.clientOrderID == "6gCrw2kRUAF9CvJDGP16IP" && report.status == .filled)
        #expect(report.executedQuantity == Self.decimal("10") && report.price.isZero)
        #expect(report.trades == [
            BinanceTrade(tradeID: 56, price: Self.decimal("4000"), quantity: Self.decimal("1"), commission: Self.decimal("4"), commissionAsset: "USDT"),
            BinanceTrade(tradeID: 57, price: Self.decimal("3999"), quantity: Self.decimal("9"), commission: Self.decimal("35.991"), commissionAsset: "USDT"),
        ])
        #expect(!report.status.isWorking)
    }

    /// What the venue did not state is unknown, never a guess: truncated JSON, a number where a
    /// string belongs, a status Keel does not know, a 5xx, -1007, a duplicate id, a 4xx without a
    /// Binance error.
    @Test(arguments: [
        (200, String(full.prefix(120)), "does not parse"),
        (200, full.replacingOccurrences(of: #""executedQty":"10.00000000""#, with: #""executedQty":10.0"#), "executedQty: not a string"),
        (200, full.replacingOccurrences(of: #""status":"FILLED""#, with: #""status":"HALF_FILLED""#), "status: not an order status"),
        (200, full.replacingOccurrences(of: #""qty":"9.00000000""#, with: #""qty":"9,0""#), "fills[1].qty: not a non-negative decimal"),
        (502, "<html>Bad Gateway</html>", "HTTP 502"),
        (400, #"{"code":-1007,"msg":"Timeout waiting for response from backend server. Send status unknown; execution status unknown."}"#, "-1007"),
        (400, #"{"code":-2010,"msg":"Duplicate order sent."}"#, "-2010"),
        (400, "Bad Request", "not a Binance error"),
    ])
    func unstatedOutcomesAreUnknown(status: Int, body: String, says: String) {
        guard case .unknown(let cause) = BinanceOrderAnswer.read(httpStatus: status, body: Data(body.utf8)) else {
            Issue.record("not unknown")
            return
        }
        #expect(cause.contains(says), "\(cause)")
    }

    @Test(arguments: [
        (400, #"{"code":-2010,"msg":"Account has insufficient balance for requested action."}"#, VenueRejection.Kind.other, -2010),
        (400, #"{"code":-1013,"msg":"Filter failure: LOT_SIZE"}"#, .other, -1013),
        (400, #"{"code":-1021,"msg":"Timestamp for this request was 1000ms ahead of the server's time."}"#, .timestamp, -1021),
        (400, #"{"code":-2013,"msg":"Order does not exist."}"#, .noSuchOrder, -2013),
        (400, #"{"code":-2011,"msg":"Unknown order sent."}"#, .noSuchOrder, -2011),
        (400, #"{"code":-2011,"msg":"Order was canceled or expired."}"#, .other, -2011),
        (429, #"{"code":-1003,"msg":"Too many requests."}"#, .tooManyRequests, -1003),
        (429, "", .tooManyRequests, 0),
        (418, "", .banned, 0),
        (418, #"{"code":-1003,"msg":"Way too many requests; IP banned until 1659146400000."}"#, .banned, -1003),
    ])
    func statedRefusalsAreRejections(status: Int, body: String, kind: VenueRejection.Kind, code: Int) {
        guard case .rejected(let rejection) = BinanceOrderAnswer.read(httpStatus: status, body: Data(body.utf8)) else {
            Issue.record("not rejected")
            return
        }
        #expect(rejection.kind == kind && rejection.code == code && rejection.httpStatus == status)
    }
}

@Suite struct BinanceClientOrderIDTests {
    @Test func anAmendsIdIsTheOrdersIdAndItsNumber() {
        #expect(BinanceClientOrderID.amend(of: "b_01HZX-3", number: 2) == "b_01HZX-3_a2")
        #expect(BinanceClientOrderID.amend(of: "b_01HZX-3", number: 10) == "b_01HZX-3_a10")
    }

    /// Long ids keep within 36 characters and stay distinct from each other and across amends.
    @Test func longIdsStayValidAndDistinct() {
        let ids = (0..<200).map { "sch_01jexample-sell-SYM\($0 % 10)-r\($0)".padding(toLength: 36, withPad: "x", startingAt: 0) }
        var made = Set<String>()
        for id in ids {
            for number in [1, 2, 99, 12_345] {
                let amended = BinanceClientOrderID.amend(of: id, number: number)
                #expect(BinanceClientOrderID.isValid(amended), "\(amended)")
                made.insert(amended)
            }
        }
        #expect(made.count == Set(ids).count * 4)
        #expect(!BinanceClientOrderID.isValid(String(repeating: "a", count: 37)))
        #expect(!BinanceClientOrderID.isValid("a b"))
        #expect(!BinanceClientOrderID.isValid(""))
    }
}

@Suite struct VenueClockOffsetTests {
    @Test func theOffsetIsAgainstTheRoundTripsMidpoint() throws {
        #expect(VenueClockOffset.measure(sentAtMs: 1_000, serverTimeMs: 1_550, receivedAtMs: 1_100) == 500)
        #expect(VenueClockOffset.measure(sentAtMs: 1_000, serverTimeMs: 900, receivedAtMs: 1_000) == -100)
        #expect(try VenueClockOffset.serverTime(Data(#"{"serverTime":1499827319559}"#.utf8)) == 1_499_827_319_559)
        #expect(throws: VenueAnswerError.self) { try VenueClockOffset.serverTime(Data(#"{"serverTime":"1499827319559"}"#.utf8)) }
    }
}

import Crypto
import ExactNumbers
import Foundation
import Testing
@testable import Venues

@Suite struct BinanceWebSocketSigningTests {
    static let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    static let apiKey = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"

    /// The two HMAC examples of the WebSocket API documentation: parameters sorted by name, raw UTF-8.
    @Test func theDocumentationsExamples() throws {
        let ascii: [(name: String, value: String)] = [
            ("symbol", "BTCUSDT"), ("side", "SELL"), ("type", "LIMIT"), ("timeInForce", "GTC"), ("quantity", "0.01000000"), ("price", "52000.00"),
            ("recvWindow", "100"), ("timestamp", "1645423376532"), ("apiKey", Self.apiKey), ("signature", "------ FILL ME ------"),
        ]
        #expect(try BinanceSigning.webSocketSignature(ascii, with: .hmac(secret: Self.secret)) == "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24")
        let unicode: [(name: String, value: String)] = [
            ("symbol", "１２３４５６"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"), ("quantity", "1.00000000"), ("price", "0.10000000"),
            ("recvWindow", "5000"), ("timestamp", "1645423376532"), ("apiKey", Self.apiKey),
        ]
        #expect(try BinanceSigning.webSocketSignature(unicode, with: .hmac(secret: Self.secret)) == "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd")
    }

    /// The subscription carries the API key, the timestamp and an Ed25519 signature that verifies
    /// over `apiKey=…&timestamp=…`; the private key is nowhere in it.
    @Test func theUserDataSubscriptionIsSigned() throws {
        let key = Curve25519.Signing.PrivateKey()
        let request = try BinanceSigning.userDataSubscription(requestID: "r1", apiKey: "KEY", timestampMs: 1_747_385_641_636, key: .ed25519(key))
        let object = try #require(try JSONSerialization.jsonObject(with: request) as? [String: Any])
        #expect(object["method"] as? String == "userDataStream.subscribe.signature" && object["id"] as? String == "r1")
        let params = try #require(object["params"] as? [String: Any])
        #expect(params["apiKey"] as? String == "KEY" && (params["timestamp"] as? NSNumber)?.int64Value == 1_747_385_641_636)
        let text = try #require(params["signature"] as? String)
        let signature = try #require(Data(base64Encoded: text))
        #expect(key.publicKey.isValidSignature(signature, for: Data("apiKey=KEY&timestamp=1747385641636".utf8)))
        #expect(!String(decoding: request, as: UTF8.self).contains(key.rawRepresentation.base64EncodedString()))
    }
}

@Suite struct BinanceUserDataTests {
    static func decimal(_ text: String) -> ExactDecimal { DecimalGrammar.parse(text)! }

    static let new = """
        {"subscriptionId":0,"event":{"e":"executionReport","E":1499405658658,"s":"ETHBTC","c":"mUvoqJxFIILMdfAW5iGSOW","S":"BUY","o":"LIMIT","f":"GTC",
         "q":"1.00000000","p":"0.10264410","P":"0.00000000","F":"0.00000000","g":-1,"C":"","x":"NEW","X":"NEW","r":"NONE","i":4293153,
         "l":"0.00000000","z":"0.00000000","L":"0.00000000","n":"0","N":null,"T":1499405658657,"t":-1,"v":3,"I":8641984,"w":true,"m":false,
         "M":false,"O":1499405658657,"Z":"0.00000000","Y":"0.00000000","Q":"0.00000000","W":1499405658657,"V":"NONE"}}
        """

    static var trade: String {
        new.replacingOccurrences(of: #""x":"NEW","X":"NEW""#, with: #""x":"TRADE","X":"PARTIALLY_FILLED""#)
            .replacingOccurrences(of: #""l":"0.00000000","z":"0.00000000","L":"0.00000000","n":"0","N":null"#,
                                  with: #""l":"0.25000000","z":"0.25000000","L":"0.10264400","n":"0.00025","N":"ETH""#)
            .replacingOccurrences(of: #""t":-1"#, with: #""t":77"#)
            .replacingOccurrences(of: #""Z":"0.00000000""#, with: #""Z":"0.025661""#)
    }

    @Test func aNewOrderEventCarriesNoTrade() throws {
        guard case .execution(let report) = try BinanceUserData.event(Data(Self.new.utf8)) else {
            Issue.record("not an execution report")
            return
        }
        #expect(report.clientOrderID == "mUvoqJxFIILMdfAW5iGSOW" && report.originalClientOrderID.isEmpty && report.side == "BUY" && report.symbol == "ETHBTC")
        #expect(report.status == .new && report.executionType == "NEW" && report.orderID == 4_293_153 && report.trade == nil)
        #expect(report.orderQuantity == Self.decimal("1"))
    }

    @Test func aTradeEventCarriesItsTradeOnce() throws {
        guard case .execution(let report) = try BinanceUserData.event(Data(Self.trade.utf8)) else {
            Issue.record("not an execution report")
            return
        }
        #expect(report.status == .partiallyFilled && report.cumulativeQuantity == Self.decimal("0.25"))
        #expect(report.trade == BinanceTrade(tradeID: 77, price: Self.decimal("0.102644"), quantity: Self.decimal("0.25"), commission: Self.decimal("0.00025"), commissionAsset: "ETH"))
        #expect(throws: VenueAnswerError(path: "event.t", "a TRADE event without a trade id")) {
            try BinanceUserData.event(Data(Self.trade.replacingOccurrences(of: #""t":77"#, with: #""t":-1"#).utf8))
        }
    }

    @Test func balancesAndOtherEvents() throws {
        let position = #"{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1564034571105,"u":1564034571073,"B":[{"a":"ETH","f":"10000.000000","l":"0.000000"}]}}"#
        #expect(try BinanceUserData.event(Data(position.utf8)) == .balances([BinanceBalance(asset: "ETH", free: Self.decimal("10000"), locked: .zero)]))
        #expect(try BinanceUserData.event(Data(#"{"subscriptionId":0,"event":{"e":"balanceUpdate","E":1,"a":"BTC","d":"100.00000000","T":1}}"#.utf8)) == .other("balanceUpdate"))
    }

    /// An event that does not read is an error at its path, never a guessed state.
    @Test(arguments: [
        (#""X":"NEW""#, #""X":"HALF""#, "event.X"),
        (#""z":"0.00000000""#, #""z":0"#, "event.z"),
        (#""i":4293153"#, #""i":"4293153""#, "event.i"),
    ])
    func anUnreadableEventIsAnError(replacing: String, with: String, path: String) {
        do {
            _ = try BinanceUserData.event(Data(Self.new.replacingOccurrences(of: replacing, with: with).utf8))
            Issue.record("read")
        } catch {
            #expect(error.path == path)
        }
        #expect(throws: VenueAnswerError.self) { try BinanceUserData.event(Data(#"{"id":"r1","status":200,"result":{"subscriptionId":0}}"#.utf8)) }
    }
}

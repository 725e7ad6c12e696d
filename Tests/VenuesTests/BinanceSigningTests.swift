import Crypto
import Foundation
import Testing
@testable import Venues

@Suite struct BinanceSigningTests {
    static let documentationSecret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    static let documentationPayload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"

    /// The HMAC example of Binance's API documentation.
    @Test func theDocumentationsHmacExample() throws {
        let signature = try BinanceSigning.signature(of: Self.documentationPayload, with: .hmac(secret: Self.documentationSecret))
        #expect(signature == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71")
    }

    /// The same request built from its parameters: recvWindow and timestamp appended, then the signature.
    @Test func aSignedQueryIsItsParametersThenTheSignature() throws {
        let query = try BinanceSigning.signedQuery(
            [("symbol", "LTCBTC"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"), ("quantity", "1"), ("price", "0.1")],
            timestampMs: 1_499_827_319_559, recvWindowMs: 5000, key: .hmac(secret: Self.documentationSecret))
        #expect(query == Self.documentationPayload + "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71")
    }

    @Test func valuesArePercentEncodedBeforeSigning() {
        #expect(BinanceSigning.query([("a", "x y"), ("b", "é"), ("c", "AZaz09-_.~"), ("d", "1+1=2&")]) == "a=x%20y&b=%C3%A9&c=AZaz09-_.~&d=1%2B1%3D2%26")
    }

    static func pem(_ key: Curve25519.Signing.PrivateKey) -> String {
        let der = Data([0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]) + key.rawRepresentation
        return "-----BEGIN PRIVATE KEY-----\n\(der.base64EncodedString())\n-----END PRIVATE KEY-----\n"
    }

    /// An Ed25519 key read from PEM signs the payload; the signature (base64, percent-encoded)
    /// verifies with the public key.
    @Test func ed25519SignaturesVerify() throws {
        let generated = Curve25519.Signing.PrivateKey()
        let key = try BinanceSigning.ed25519Key(pem: Self.pem(generated))
        #expect(key.publicKey.rawRepresentation == generated.publicKey.rawRepresentation)
        let signature = try BinanceSigning.signature(of: Self.documentationPayload, with: .ed25519(key))
        let base64 = try #require(signature.removingPercentEncoding)
        let bytes = try #require(Data(base64Encoded: base64))
        #expect(generated.publicKey.isValidSignature(bytes, for: Data(Self.documentationPayload.utf8)))
        #expect(!generated.publicKey.isValidSignature(bytes, for: Data((Self.documentationPayload + "0").utf8)))
        #expect(!signature.contains("+") && !signature.contains("/") && !signature.contains("="))
    }

    /// Anything but an Ed25519 PKCS #8 block is refused, and the refusal does not repeat the text.
    @Test(arguments: [
        "",
        "not a key",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END RSA PRIVATE KEY-----",
        // An X25519 key (OID 1.3.101.110), not Ed25519.
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----",
    ])
    func otherKeysAreRefused(pem: String) {
        #expect(throws: BinanceSigning.KeyError.notAnEd25519PrivateKey) { try BinanceSigning.ed25519Key(pem: pem) }
        #expect(!"\(BinanceSigning.KeyError.notAnEd25519PrivateKey)".contains("MC4C"))
    }
}

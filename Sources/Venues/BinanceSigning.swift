import Crypto
import Foundation

/// How a Binance Spot SIGNED request is signed: `timestamp` (and `recvWindow`) appended to its
/// parameters, then `signature` over the parameters as sent. The signing key never appears in what
/// this type returns or throws.
public enum BinanceSigning {
    /// The key a broker signs with: an HMAC secret, or an Ed25519 private key.
    public enum Key: Sendable {
        case hmac(SymmetricKey)
        case ed25519(Curve25519.Signing.PrivateKey)

        public static func hmac(secret: String) -> Key { .hmac(SymmetricKey(data: Data(secret.utf8))) }
    }

    public enum KeyError: Error, Equatable, CustomStringConvertible {
        /// The text is not a PEM `PRIVATE KEY` block holding an Ed25519 key (PKCS #8).
        case notAnEd25519PrivateKey

        public var description: String {
            switch self {
            case .notAnEd25519PrivateKey: "the key is not an Ed25519 private key in PEM (PKCS #8)"
            }
        }
    }

    /// The parameters as Binance reads them: `name=value` joined by `&`, in the order given, values
    /// percent-encoded except for unreserved characters (so that non-ASCII is encoded before signing).
    public static func query(_ parameters: [(name: String, value: String)]) -> String {
        parameters.map { "\($0.name)=\(percentEncoded($0.value))" }.joined(separator: "&")
    }

    /// The signature of `payload` (the query string followed by the form body): hex HMAC-SHA256, or
    /// Ed25519's base64, percent-encoded as a parameter value.
    public static func signature(of payload: String, with key: Key) throws -> String {
        switch key {
        case .hmac(let secret):
            return HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: secret).map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 0x0F)] }.joined()
        case .ed25519(let privateKey):
            return percentEncoded(try privateKey.signature(for: Data(payload.utf8)).base64EncodedString())
        }
    }

    /// The signature of a WebSocket API request's `params`: every parameter but `signature`, sorted
    /// by name, written `name=value` with raw UTF-8 values and joined by `&`; hex HMAC-SHA256 or
    /// plain base64 Ed25519 (it travels in JSON, not in a query).
    public static func webSocketSignature(_ params: [(name: String, value: String)], with key: Key) throws -> String {
        let payload = params.filter { $0.name != "signature" }.sorted { $0.name < $1.name }.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        switch key {
        case .hmac: return try signature(of: payload, with: key)
        case .ed25519(let privateKey): return try privateKey.signature(for: Data(payload.utf8)).base64EncodedString()
        }
    }

    /// `userDataStream.subscribe.signature`: the user data stream of the key's account, on any
    /// WebSocket API session, signed with any key type. The API key goes in the request; the signing
    /// key never does.
    public static func userDataSubscription(requestID: String, apiKey: String, timestampMs: Int64, key: Key) throws -> Data {
        let signature = try webSocketSignature([("apiKey", apiKey), ("timestamp", String(timestampMs))], with: key)
        let request: [String: Any] = [
            "id": requestID, "method": "userDataStream.subscribe.signature",
            "params": ["apiKey": apiKey, "timestamp": timestampMs, "signature": signature],
        ]
        return try JSONSerialization.data(withJSONObject: request, options: [.sortedKeys])
    }

    /// The query of a SIGNED request: its parameters, `recvWindow` when given, `timestamp`, then
    /// `signature` over all of them.
    public static func signedQuery(_ parameters: [(name: String, value: String)], timestampMs: Int64, recvWindowMs: Int?, key: Key) throws -> String {
        var all = parameters
        if let recvWindowMs { all.append(("recvWindow", String(recvWindowMs))) }
        all.append(("timestamp", String(timestampMs)))
        let payload = query(all)
        return payload + "&signature=" + (try signature(of: payload, with: key))
    }

    /// An Ed25519 private key from its PEM form (`-----BEGIN PRIVATE KEY-----`, PKCS #8), as
    /// Binance's key generator writes it.
    public static func ed25519Key(pem: String) throws(KeyError) -> Curve25519.Signing.PrivateKey {
        let lines = pem.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard lines.first == "-----BEGIN PRIVATE KEY-----", lines.last == "-----END PRIVATE KEY-----",
              let der = Data(base64Encoded: lines.dropFirst().dropLast().joined()) else { throw .notAnEd25519PrivateKey }
        // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32 bytes) } }
        let prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
        guard der.count == prefix.count + 32, Array(der.prefix(prefix.count)) == prefix,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32)) else { throw .notAnEd25519PrivateKey }
        return key
    }

    /// RFC 3986 unreserved characters stay; every other byte of the UTF-8 is `%XX`.
    static func percentEncoded(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + hexDigits[Int(byte >> 4)].uppercased() + hexDigits[Int(byte & 0x0F)].uppercased()
            }
        }
        return out
    }

    private static let hexDigits = (0..<16).map { String($0, radix: 16) }
}

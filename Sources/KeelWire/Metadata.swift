/// Reserved KWP/1 metadata keys (docs/protocol.md#6-metadata). Keys are lower-case ASCII.
public enum MetadataKey {
    public static let authorization = "authorization"
    public static let allowLive = "x-allow-live"
    public static let requestID = "x-request-id"
    public static let idempotencyKey = "idempotency-key"
}

enum MetadataValidation {
    /// The first key that is not lower-case printable ASCII, if any.
    static func firstInvalidKey(_ metadata: [String: String]) -> String? {
        for key in metadata.keys.sorted() where !isValidKey(key) { return key }
        return nil
    }

    static func isValidKey(_ key: String) -> Bool {
        guard !key.isEmpty else { return false }
        for byte in key.utf8 {
            // printable ASCII without upper-case letters
            guard byte >= 0x21, byte <= 0x7e, !(byte >= 0x41 && byte <= 0x5a) else { return false }
        }
        return true
    }
}

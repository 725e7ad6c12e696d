import SwiftProtobuf

/// The deterministic encoding (map entries sorted) that request digests hash.
public enum DeterministicEncoding {
    /// A message that cannot be encoded is INTERNAL `E_DIGEST_ENCODING`, never the hash of nothing.
    public static func bytes(_ message: some SwiftProtobuf.Message) throws(FieldError) -> [UInt8] {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        do {
            return try message.serializedBytes(options: options)
        } catch {
            throw FieldError(.digestEncoding, field: "body", message: "the request cannot be encoded for its digest: \(error)")
        }
    }
}

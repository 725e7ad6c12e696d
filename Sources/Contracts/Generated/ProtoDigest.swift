// Written by scripts/gen-contracts. Do not edit.
/// The digest of proto/ that the generated code in this folder was made from:
/// SHA-256 of the `sha256sum` lines of every .proto file (paths `./keel/…`, byte order).
public enum ProtoDigest {
    public static let sha256 = "e0ab4a39517bbab2c2b982e6ed4ab0bbe43d503a615c798704f0086de5e87174"
}

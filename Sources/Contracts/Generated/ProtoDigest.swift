// Written by scripts/gen-contracts. Do not edit.
/// The digest of proto/ that the generated code in this folder was made from:
/// SHA-256 of the `sha256sum` lines of every .proto file (paths `./keel/…`, byte order).
public enum ProtoDigest {
    public static let sha256 = "e3d00248b011449de3c5c4c710993e8519f80847cbb1a20970b8338645317f6f"
}

// Written by scripts/gen-contracts. Do not edit.
/// The digest of proto/ that the generated code in this folder was made from:
/// SHA-256 of the `sha256sum` lines of every .proto file (paths `./keel/…`, byte order).
public enum ProtoDigest {
    public static let sha256 = "56c29ae237079aaad3ab4e7f10a7adb4a3ed3de3b919af984f18253f63466fa3"
}

/// ULIDs (26 characters of Crockford base32: 48 bits of Unix milliseconds, 80 random bits), written
/// in lower case as Keel's ids (`pln_…`, `exe_…`, `sch_…`, `run_…`). They sort by creation time.
public enum ULID {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    public static func make(timeMs: Int64, using generator: inout some RandomNumberGenerator) -> String {
        var value = UInt128(UInt64(max(0, timeMs)) & 0xFFFF_FFFF_FFFF) << 80
        value |= UInt128(generator.next() as UInt64) << 16 | UInt128(generator.next() as UInt16)
        var out = [UInt8](repeating: 0, count: 26)
        for i in (0..<26).reversed() {
            out[i] = alphabet[Int(value & 0x1F)]
            value >>= 5
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func make(timeMs: Int64) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(timeMs: timeMs, using: &generator)
    }
}

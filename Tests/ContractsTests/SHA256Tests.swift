@testable import Contracts
import Testing

@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("The quick brown fox jumps over the lazy dog", "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"),
    ])
    func knownVectors(input: String, digest: String) {
        #expect(SHA256.hex(input) == digest)
    }

    @Test func millionAs() {
        #expect(SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func incrementalUpdatesEqualOneShot() {
        let data = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for split in [0, 1, 55, 56, 63, 64, 65, 500, 1_000] {
            var hasher = SHA256()
            hasher.update(data[..<split])
            hasher.update(data[split...])
            #expect(hasher.finalize() == SHA256.hash(data), "split at \(split)")
        }
    }

    /// The SHA extensions' compression (CSHA256) and the portable rounds agree on every length
    /// around block boundaries and on long inputs, fed whole and in pieces.
    @Test(.enabled(if: SHA256.cpuHasSHAExtensions, "this CPU has no SHA extensions"),
          arguments: [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 127, 128, 129, 1_000, 4_096, 100_003])
    func shaExtensionsAgreeWithThePortableRounds(length: Int) {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var portable = SHA256(usesSHAExtensions: false)
        var extensions = SHA256(usesSHAExtensions: true)
        portable.update(data)
        let third = length / 3
        extensions.update(data[..<third])
        extensions.update(data[third...])
        #expect(extensions.finalize() == portable.finalize(), "length \(length)")
    }

    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func portableRoundsMatchKnownVectors(input: String, digest: String) {
        var hasher = SHA256(usesSHAExtensions: false)
        hasher.update(Array(input.utf8))
        #expect(hasher.finalize().hexString == digest)
    }
}

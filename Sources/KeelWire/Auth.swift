/// Bearer-token checking. The comparison takes time independent of where the inputs differ, so a
/// caller cannot find the token byte by byte; tokens are never logged.
public struct BearerTokenAuthenticator: Sendable {
    private let expected: [UInt8]

    public init(token: String) { self.expected = Array("Bearer \(token)".utf8) }

    public func isAuthorized(_ authorization: String?) -> Bool {
        guard let authorization else { return false }
        return ConstantTime.equals(Array(authorization.utf8), expected)
    }
}

public enum ConstantTime {
    /// Equality whose running time depends only on the lengths, never on the contents.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0 && a.count == b.count
    }
}

import Contracts
import Foundation
import Testing

/// Error reasons are a typed registry: the code names them only through it, and docs/errors.md is
/// the registry written out.
@Suite struct ErrorReasonTests {
    static let root = GeneratedContractsTests.repositoryRoot

    @Test func namesAreUniqueAndWellFormed() {
        let names = ErrorReason.all.map(\.name)
        #expect(names.count > 50)
        #expect(Set(names).count == names.count, "a reason is listed twice")
        for reason in ErrorReason.all {
            #expect(reason.name.wholeMatch(of: /E_[A-Z][A-Z0-9_]*[A-Z0-9]/) != nil, "\(reason.name)")
            #expect(reason.status != .ok, "\(reason.name)")
            #expect(!reason.meaning.isEmpty, "\(reason.name) says nothing")
        }
    }

    /// `all` is kept by hand: a reason declared but left out of it would miss docs/errors.md.
    @Test func everyDeclaredReasonIsListed() throws {
        let source = try String(contentsOf: Self.root.appendingPathComponent("Sources/Contracts/ErrorReason.swift"), encoding: .utf8)
        let declared = source.matches(of: /static let \w+ = ErrorReason\(/).count
        #expect(declared > 50)
        #expect(declared == ErrorReason.all.count, "\(declared) reasons are declared, \(ErrorReason.all.count) listed in ErrorReason.all")
    }

    /// A reason written as a string literal anywhere but the registry would escape docs/errors.md.
    @Test func noReasonIsALiteralOutsideTheRegistry() throws {
        let sources = Self.root.appendingPathComponent("Sources")
        let enumerator = try #require(FileManager.default.enumerator(atPath: sources.path))
        var literals: [String] = []
        var files = 0
        while let path = enumerator.nextObject() as? String {
            guard path.hasSuffix(".swift"), !path.contains("/Generated/"), !path.hasSuffix("Contracts/ErrorReason.swift") else { continue }
            files += 1
            let text = try String(contentsOf: sources.appendingPathComponent(path), encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where line.contains(/"E_[A-Z0-9_]+"/) {
                literals.append("Sources/\(path):\(n + 1): \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
        #expect(files > 50)
        #expect(literals.isEmpty, "reasons written as literals:\n\(literals.joined(separator: "\n"))")
    }

    @Test func docsErrorsMdIsTheRegistryWrittenOut() throws {
        let written = try String(contentsOf: Self.root.appendingPathComponent("docs/errors.md"), encoding: .utf8)
        #expect(written == ErrorReason.reference(), "docs/errors.md differs from the registry: run `swift run keel errors --markdown > docs/errors.md`")
        for reason in ErrorReason.all { #expect(written.contains("`\(reason.name)`")) }
    }
}

import Foundation
import Testing

/// The project explains itself: a comment that points at a document points at one in this
/// repository (and at a heading it has), never at design notes a user who cloned it does not have.
@Suite struct CitationTests {
    static let root = GeneratedContractsTests.repositoryRoot
    static let scanned = ["Sources", "Tests", "scripts", "Benchmarks", "Fuzz", "docker", "Package.swift"]
    /// Generated code and copied data are not ours to word.
    static let skipped = ["/Generated/", "/generated/", "/Fixtures/", "/corpus/"]
    static let textExtensions: Set<String> = ["swift", "c", "h", "sh", "py", "yaml", "yml", ""]

    /// Every comment line of the scanned files, as (path relative to the root, line number, text).
    static func commentLines() throws -> [(path: String, line: Int, text: String)] {
        var out: [(String, Int, String)] = []
        for top in scanned {
            let url = root.appendingPathComponent(top)
            var files: [String] = []
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                let enumerator = try #require(FileManager.default.enumerator(atPath: url.path))
                while let path = enumerator.nextObject() as? String { files.append(top + "/" + path) }
            } else {
                files.append(top)
            }
            for file in files where !skipped.contains(where: { file.contains($0) }) {
                let fileURL = root.appendingPathComponent(file)
                guard textExtensions.contains(fileURL.pathExtension),
                      let text = try? String(contentsOf: fileURL, encoding: .utf8) else { continue }
                let cLike = ["swift", "c", "h"].contains(fileURL.pathExtension)
                for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    let isComment = cLike
                        ? trimmed.hasPrefix("//") || trimmed.hasPrefix("/*") || trimmed.hasPrefix("*") || line.contains(" // ")
                        : trimmed.hasPrefix("#") || line.contains(" # ")
                    if isComment { out.append((file, n + 1, String(line))) }
                }
            }
        }
        return out
    }

    /// `docs/architecture.md#global-deltas` → the file and the anchor.
    static func citedDocuments(_ text: String) -> [(file: String, anchor: String?)] {
        text.matches(of: /([A-Za-z0-9_.\/-]+\.md)(#[a-z0-9-]+)?/).map { (String($0.1), $0.2.map { String($0.dropFirst()) }) }
    }

    /// GitHub-style heading anchors of a Markdown file.
    static func anchors(of file: URL) throws -> Set<String> {
        let text = try String(contentsOf: file, encoding: .utf8)
        return Set(text.split(separator: "\n").filter { $0.hasPrefix("#") }.map { heading in
            let title = heading.drop(while: { $0 == "#" }).trimmingCharacters(in: .whitespaces).lowercased()
            return String(title.compactMap { $0 == " " ? "-" : ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : nil) })
        })
    }

    @Test func commentsCiteOnlyDocumentsInTheRepository() throws {
        let lines = try Self.commentLines()
        #expect(lines.count > 1000, "the scan found \(lines.count) comment lines: is the repository root right?")
        var problems: [String] = []
        for (path, number, text) in lines {
            for outside in ["../shared", "shared/cases", "shared/spec", "spec/", "DESIGN.md"] where text.contains(outside) {
                problems.append("\(path):\(number) cites \(outside), which is not in the repository: \(text)")
            }
            if text.contains(/(?i)\bamendment \d/) || text.contains(/(?i)\bissue \d/) {
                problems.append("\(path):\(number) cites an amendment or issue number: \(text)")
            }
            for (document, anchor) in Self.citedDocuments(text) where !document.hasPrefix("spec/") && document != "DESIGN.md" {
                let relative = Self.root.appendingPathComponent(path).deletingLastPathComponent().appendingPathComponent(document)
                let fromRoot = Self.root.appendingPathComponent(document)
                guard let file = [fromRoot, relative].first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
                    problems.append("\(path):\(number) cites \(document), which does not exist: \(text)")
                    continue
                }
                if let anchor, !(try Self.anchors(of: file)).contains(anchor) {
                    problems.append("\(path):\(number) cites \(document)#\(anchor), a heading \(document) does not have")
                }
            }
        }
        #expect(problems.isEmpty, "\(problems.count) citations:\n\(problems.joined(separator: "\n"))")
    }

    @Test func theCheckFindsWhatItLooksFor() throws {
        #expect(Self.citedDocuments("see docs/architecture.md#global-deltas and README.md").map(\.file) == ["docs/architecture.md", "README.md"])
        #expect(Self.citedDocuments("docs/protocol.md#framing").first?.anchor == "framing")
        let anchors = try Self.anchors(of: Self.root.appendingPathComponent("README.md"))
        #expect(anchors.contains("keel-planner") && anchors.contains("the-keel-cli"))
    }
}

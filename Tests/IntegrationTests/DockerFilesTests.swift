import Foundation
import KeelTestSupport
import Testing

/// docker/ checked statically (no Docker engine here) by scripts/check-docker: the shipped files pass,
/// and a compose file that lost a health check, or a Dockerfile that builds with another command than
/// the README's, fails.
@Suite struct DockerFilesTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// Debian's python3, which has python3-yaml (scripts/test installs it).
    static let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

    static func check(_ repo: URL) async throws -> (status: Int32, output: String) {
        let result = try await runProgram(URL(fileURLWithPath: "/usr/bin/env"), [python, repository.appendingPathComponent("scripts/check-docker").path, "--repo", repo.path])
        return (result.status, result.stdout + result.stderr)
    }

    /// A copy of what the checker reads, with `edit` applied to one file.
    static func copy(editing path: String, _ edit: (String) -> String) throws -> URL {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("keel-docker-\(UUID().uuidString)")
        for item in ["docker", "config", "scripts", "README.md"] {
            let target = root.appendingPathComponent(item)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: repository.appendingPathComponent(item), to: target)
        }
        let file = root.appendingPathComponent(path)
        let text = try String(contentsOf: file, encoding: .utf8)
        try edit(text).write(to: file, atomically: true, encoding: .utf8)
        return root
    }

    @Test func theShippedFilesAreConsistent() async throws {
        let result = try await Self.check(Self.repository)
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func aMissingHealthCheckFails() async throws {
        let broken = try Self.copy(editing: "docker/compose.yaml") { $0.replacingOccurrences(of: #"test: ["CMD", "keel", "health", "127.0.0.1:7402"]"#, with: #"test: ["CMD", "true"]"#) }
        let result = try await Self.check(broken)
        #expect(result.status == 1 && result.output.contains("gateway's health check"), "\(result.output)")
    }

    @Test func aBuildCommandTheReadmeDoesNotShowFails() async throws {
        let broken = try Self.copy(editing: "docker/Dockerfile") { $0.replacingOccurrences(of: "--static-swift-stdlib --product keel-capital", with: "--product keel-capital") }
        let result = try await Self.check(broken)
        #expect(result.status == 1 && result.output.contains("swift build -c release --product keel-capital"), "\(result.output)")
    }
}

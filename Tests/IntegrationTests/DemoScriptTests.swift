import Foundation
import KeelTestSupport
import Testing

/// `./scripts/demo`, the README's first command, run as a user runs it (on the executables this
/// test run built): it succeeds, stops every service it started, and runs again right after.
@Suite struct DemoScriptTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The processes whose command line names `directory` (the demo's services keep their stores there).
    static func processes(naming directory: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { $0.allSatisfy(\.isNumber) }.compactMap { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let line = String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            return line.contains(directory) ? "\(pid): \(line)" : nil
        }
    }

    @Test func theDemoStopsEveryServiceItStartedAndRunsAgain() async throws {
        let scratch = NSTemporaryDirectory() + "keel-demo-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["KEEL_DEMO_BIN"] = ServiceProcess.buildDirectory.path
        environment["TMPDIR"] = scratch
        for run in 1...2 {
            let result = try await runProgram(URL(fileURLWithPath: "/bin/bash"), [Self.root.appendingPathComponent("scripts/demo").path], environment: environment)
            #expect(result.status == 0, "run \(run): \(result.stderr.suffix(2_000))")
            #expect(result.stdout.contains("== done: stopping the services"), "run \(run)")
            let left = Self.processes(naming: scratch)
            #expect(left.isEmpty, "run \(run) left services running:\n\(left.joined(separator: "\n"))")
        }
    }
}

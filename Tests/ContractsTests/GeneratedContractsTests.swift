import Contracts
import Foundation
import Testing

/// The generated code must be regenerated whenever proto/ changes (scripts/gen-contracts).
@Suite struct GeneratedContractsTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func protoFiles() throws -> [String] {
        let protoRoot = repositoryRoot.appendingPathComponent("proto")
        let enumerator = FileManager.default.enumerator(atPath: protoRoot.path)!
        var paths: [String] = []
        while let path = enumerator.nextObject() as? String {
            if path.hasSuffix(".proto") { paths.append("./" + path) }
        }
        return paths.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    @Test func generatedCodeMatchesProto() throws {
        // The same digest as scripts/gen-contracts: sha256 of `sha256sum` lines, paths in byte order.
        var lines = ""
        for path in try Self.protoFiles() {
            let data = try Data(contentsOf: Self.repositoryRoot.appendingPathComponent("proto").appendingPathComponent(path))
            lines += "\(SHA256.hex(Array(data)))  \(path)\n"
        }
        #expect(!lines.isEmpty)
        #expect(SHA256.hex(lines) == ProtoDigest.sha256,
                "proto/ changed since the contracts were generated: run scripts/gen-contracts and commit the result")
    }

    @Test func rpcTableListsEveryRPCOfTheProtoServices() throws {
        var declared: [String] = []
        for path in try Self.protoFiles() {
            let text = try String(contentsOf: Self.repositoryRoot.appendingPathComponent("proto").appendingPathComponent(path), encoding: .utf8)
            guard let package = text.firstMatch(of: /package ([\w.]+);/)?.1 else { continue }
            var service: Substring?
            for line in text.split(separator: "\n") {
                if let match = line.firstMatch(of: /^service (\w+) \{/) { service = match.1 }
                if let match = line.firstMatch(of: /rpc (\w+)\(/), let service { declared.append("/\(package).\(service)/\(match.1)") }
            }
        }
        #expect(declared.sorted() == KeelRPC.all.map(\.path).sorted())
        #expect(KeelRPC.descriptor(forPath: "/keel.planner.v1.Planner/Plan")?.requestType == Keel_Planner_V1_PlanRequest.self)
        #expect(KeelRPC.descriptor(forPath: "/keel.gateway.v1.Gateway/Watch")?.isServerStreaming == true)
        #expect(KeelRPC.descriptor(forPath: "/nope/Nope") == nil)
    }

    @Test func enumNamesCarryTheirTypePrefix() throws {
        // proto3 enum values share the package scope, so every value is prefixed.
        for path in try Self.protoFiles() {
            let text = try String(contentsOf: Self.repositoryRoot.appendingPathComponent("proto").appendingPathComponent(path), encoding: .utf8)
            var currentPrefix: String?
            for line in text.split(separator: "\n") {
                if let match = line.firstMatch(of: /^enum (\w+) \{/) {
                    currentPrefix = Self.screamingSnake(String(match.1)) + "_"
                } else if line.hasPrefix("}") {
                    currentPrefix = nil
                } else if let prefix = currentPrefix, let value = line.firstMatch(of: /^\s+([A-Z0-9_]+) = \d+;/) {
                    #expect(value.1.hasPrefix(prefix), "\(path): \(value.1) lacks \(prefix)")
                }
            }
        }
    }

    static func screamingSnake(_ name: String) -> String {
        var out = ""
        for (i, ch) in name.enumerated() {
            if ch.isUppercase, i > 0 { out.append("_") }
            out.append(ch.uppercased())
        }
        return out
    }
}

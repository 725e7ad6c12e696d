import Foundation
import GRDB
import KeelTestSupport
import KeelWire
import Testing

/// The real executables of one test as processes on ephemeral loopback ports, sharing a token and a
/// data directory; stopped in reverse order of their calls (capital, gateway, planner).
final class Cluster: @unchecked Sendable {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let token: String
    let directory = NSTemporaryDirectory() + "keel-cluster-\(UUID().uuidString)"
    var processes: [String: ServiceProcess] = [:]
    var ports: [String: Int] = [:]

    init(token: String) { self.token = token }

    func start(_ name: String, _ arguments: [String], port: Int = 0) async throws {
        let process = ServiceProcess(
            executable: name, arguments: ["--port", "\(port)", "--data-dir", directory + "/" + name] + arguments,
            environment: ["KEEL_TOKEN": token], readyMarker: "\(name) ready")
        processes[name] = process
        try await process.start()
        let listening: Int = try #require(process.loggedNumber("port"))
        ports[name] = listening
    }

    /// The three services on the demo's configuration.
    func startAll() async throws {
        try await start("keel-planner", [])
        try await start("keel-gateway", ["--planner", "127.0.0.1:\(ports["keel-planner"]!)",
                                         "--config", Self.repository.appendingPathComponent("config/demo/gateway.json").path])
        try await start("keel-capital", capitalArguments)
    }

    var capitalArguments: [String] {
        ["--gateway", "127.0.0.1:\(ports["keel-gateway"]!)", "--planner", "127.0.0.1:\(ports["keel-planner"]!)",
         "--config", Self.repository.appendingPathComponent("config/demo/capital.json").path]
    }

    /// Kills a service with `signal` and starts it again on its port and store.
    func restart(_ name: String, signal: Int32 = SIGKILL) async throws {
        guard let process = processes[name], let port = ports[name] else { return }
        _ = await process.stop(signal: signal)
        let arguments: [String] = switch name {
        case "keel-gateway": ["--planner", "127.0.0.1:\(ports["keel-planner"]!)", "--config", Self.repository.appendingPathComponent("config/demo/gateway.json").path]
        case "keel-capital": capitalArguments
        default: []
        }
        try await start(name, arguments, port: port)
    }

    func client(_ name: String, token: String? = nil, authenticated: Bool = true) -> KWPClient {
        KWPClient(host: "127.0.0.1", port: ports[name]!, configuration: .init(token: authenticated ? (token ?? self.token) : nil, maxFrameBytes: 64 * 1024 * 1024))
    }

    /// The bytes of a service's SQLite store (the database and its write-ahead log).
    /// Every row of every table of a service's store, read beside the running service. (Not the
    /// files' bytes: the service's checkpoints copy its log into the database file whenever they run.)
    func storeContents(_ name: String) throws -> [String] {
        var configuration = Configuration()
        configuration.readonly = true
        let store = try DatabaseQueue(path: directory + "/" + name + "/" + name + ".sqlite", configuration: configuration)
        return try store.read { db in
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            return try tables.flatMap { table in
                try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\" ORDER BY rowid").map { "\(table): \($0)" }
            }
        }
    }

    func stopAll() async {
        for name in ["keel-capital", "keel-gateway", "keel-planner"] {
            if let process = processes[name] { _ = await process.stop() }
        }
    }
}

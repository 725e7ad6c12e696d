import Contracts
import Foundation
import KeelTestSupport
import KeelWire
import Testing

/// Load: many concurrent connections, each making many calls, against the real gateway on
/// loopback, while slow clients hold connections open with a frame they never finish. Zero errors,
/// the gateway's resident memory stays bounded, and it still serves afterwards.
/// `KEEL_LOAD_CONNECTIONS` and `KEEL_LOAD_CALLS` set the size (default 1,000 × 20; the full 1,000 × 100 with KEEL_LOAD_CALLS=100), `KEEL_LOAD_SLOW`
/// the slow clients (default 300).
@Suite struct LoadTests {
    static let environment = ProcessInfo.processInfo.environment
    static let connections = Int(environment["KEEL_LOAD_CONNECTIONS"] ?? "") ?? 1_000
    static let calls = Int(environment["KEEL_LOAD_CALLS"] ?? "") ?? 20
    static let slow = Int(environment["KEEL_LOAD_SLOW"] ?? "") ?? 300

    /// VmRSS of a process, in KiB.
    static func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test func manyConnectionsAndSlowClientsDoNotExhaustTheGateway() async throws {
        let cluster = Cluster(token: "load-token")
        try await withStarted({ cluster }, stop: { await $0.stopAll() }) { cluster in
            try await cluster.start("keel-planner", [])
            try await cluster.start("keel-gateway", ["--planner", "127.0.0.1:\(cluster.ports["keel-planner"]!)",
                                                     "--config", Cluster.repository.appendingPathComponent("config/demo/gateway.json").path])
            let port = cluster.ports["keel-gateway"]!
            let pid = try #require(cluster.processes["keel-gateway"]!.pid)
            let idle = Self.residentKiB(pid)

            // Slow clients: a Hello, then the first bytes of a frame that never completes.
            let stalled = await RawFrames.onDispatchThread { () -> [Int32] in
                (0..<Self.slow).compactMap { _ in
                    guard let fd = LoopbackSocket.connect(port: port) else { return nil }
                    let bytes = RawFrames.hello + [0, 0, 1, 0, 0x0A, 0x05]
                    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    return fd
                }
            }
            #expect(stalled.count == Self.slow)

            let started = ContinuousClock.now
            let failures = try await withThrowingTaskGroup(of: [String].self) { group in
                for c in 0..<Self.connections {
                    group.addTask {
                        let client = KWPClient(host: "127.0.0.1", port: port, configuration: .init(token: "load-token"))
                        var failures: [String] = []
                        for _ in 0..<Self.calls {
                            do {
                                let balance = try await client.unary(KeelRPC.gatewayGetBalance, Keel_Gateway_V1_GetBalanceRequest.with { $0.accountID = "default" },
                                                                     as: Keel_Gateway_V1_GetBalanceResponse.self, timeout: .seconds(30))
                                if balance.currency != "USDT" { failures.append("connection \(c): currency \(balance.currency)") }
                            } catch {
                                failures.append("connection \(c): \(error)")
                            }
                        }
                        await client.close()
                        return failures
                    }
                }
                var all: [String] = []
                for try await failures in group { all += failures }
                return all
            }
            let elapsed = ContinuousClock.now - started
            let loaded = Self.residentKiB(pid)
            #expect(failures.isEmpty, "\(failures.count) failed calls, e.g. \(failures.prefix(5))")
            // Bounded: what the gateway holds does not grow with the number of calls made.
            #expect(loaded < 512 * 1024, "gateway RSS \(loaded / 1024) MiB under load (idle \(idle / 1024) MiB)")
            print("load: \(Self.connections) connections × \(Self.calls) calls in \(elapsed), \(Self.slow) stalled clients; gateway RSS idle \(idle / 1024) MiB, under load \(loaded / 1024) MiB")

            // Still serving, with the stalled connections still open.
            let client = cluster.client("keel-gateway")
            let health = try await client.unary(KeelRPC.healthCheck, Keel_Health_V1_HealthCheckRequest(), as: Keel_Health_V1_HealthCheckResponse.self)
            #expect(health.status == .serving)
            await client.close()
            for fd in stalled { close(fd) }
        }
    }
}

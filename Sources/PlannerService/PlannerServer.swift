import Foundation
import KeelHost
import KeelOps
import KeelStore
import KeelWire
import Logging
import NIOCore

/// keel-planner as a process: its store and service on the process host (KWP/1 server, Health,
/// metrics), with event retention as its one background loop.
public final class PlannerServer: Sendable {
    public struct Configuration: Sendable {
        public var endpoint: ServiceEndpoint
        public var dataDirectory: String

        public init(host: String = "127.0.0.1", port: Int = 7401, dataDirectory: String = "./data", token: String? = nil,
                    maxFrameBytes: UInt32 = 64 * 1024 * 1024, drainTimeout: TimeAmount = .seconds(10), metricsPort: Int? = nil) {
            endpoint = ServiceEndpoint(host: host, port: port, token: token, maxFrameBytes: maxFrameBytes, drainTimeout: drainTimeout, metricsPort: metricsPort)
            self.dataDirectory = dataDirectory
        }
    }

    public let host: ServiceHost
    public var server: KWPServer { host.server }
    public var health: HealthService { host.health }
    public var address: SocketAddress { host.address }
    public var metrics: MetricsEndpoint? { host.metrics }

    private init(host: ServiceHost) {
        self.host = host
    }

    public static func start(_ configuration: Configuration, logger: Logger = Logger(label: "keel.planner")) async throws -> PlannerServer {
        let path = (configuration.dataDirectory as NSString).appendingPathComponent("keel-planner.sqlite")
        let store = try PlannerStore(path: path)
        let host = try await ServiceHost.start(
            .init(name: "keel-planner", healthServices: ["keel.planner.v1.Planner"], endpoint: configuration.endpoint),
            logger: logger, readyMetadata: ["store": "\(path)"],
            routes: { PlannerService(store: store, logger: logger).register(into: &$0) },
            afterServer: [BackgroundLoop("event retention", logger: logger) { await Self.retainEvents(store, logger: logger) }.configuration])
        return PlannerServer(host: host)
    }

    /// Event retention, hourly (a timer, not a synchronisation), until cancelled.
    static func retainEvents(_ store: PlannerStore, logger: Logger) async {
        while !Task.isCancelled {
            do {
                let dropped = try await store.pruneEvents(nowMs: nowMs())
                if dropped > 0 { logger.info("event retention", metadata: ["dropped": "\(dropped)"]) }
            } catch {
                logger.warning("event retention failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(3600))
        }
    }

    /// Runs until SIGTERM or SIGINT, then shuts down in order and returns.
    public func runUntilTerminated() async throws {
        try await host.runUntilTerminated()
    }

    public func stop() async {
        await host.stop()
    }
}

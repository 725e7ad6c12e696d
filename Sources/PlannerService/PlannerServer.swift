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
        public var host: String
        public var port: Int
        public var dataDirectory: String
        public var token: String?
        public var maxFrameBytes: UInt32
        public var drainTimeout: TimeAmount
        /// The HTTP port of `/metrics` and `/healthz`; nil = no endpoint, 0 = a free port.
        public var metricsPort: Int?
        /// SIGTERM and SIGINT stop the process (the executable); in-process users call `stop()`.
        public var handlesSignals = false

        public init(host: String = "127.0.0.1", port: Int = 7401, dataDirectory: String = "./data", token: String? = nil,
                    maxFrameBytes: UInt32 = 64 * 1024 * 1024, drainTimeout: TimeAmount = .seconds(10), metricsPort: Int? = nil) {
            self.metricsPort = metricsPort
            self.host = host
            self.port = port
            self.dataDirectory = dataDirectory
            self.token = token
            self.maxFrameBytes = maxFrameBytes
            self.drainTimeout = drainTimeout
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
            .init(name: "keel-planner", healthServices: ["keel.planner.v1.Planner"], host: configuration.host, port: configuration.port,
                  token: configuration.token, maxFrameBytes: configuration.maxFrameBytes, drainTimeout: configuration.drainTimeout,
                  metricsPort: configuration.metricsPort, handlesSignals: configuration.handlesSignals),
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

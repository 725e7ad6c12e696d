import Foundation
import KeelOps
import KeelStore
import KeelWire
import Logging
import NIOCore

/// keel-planner as a process: the store, the service on a KWP/1 server, Health, and a graceful
/// stop on SIGTERM or SIGINT (GoAway, in-flight calls finish, then exit).
public final class PlannerServer: DrainableService {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var dataDirectory: String
        public var token: String?
        public var maxFrameBytes: UInt32
        public var drainTimeout: TimeAmount
        /// The HTTP port of `/metrics` and `/healthz`; nil = no endpoint, 0 = a free port.
        public var metricsPort: Int?

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

    public let server: KWPServer
    public let health: HealthService
    public let address: SocketAddress
    public let metrics: MetricsEndpoint?
    private let retention: Task<Void, Never>
    let configuration: Configuration
    let logger: Logger

    private init(server: KWPServer, health: HealthService, address: SocketAddress, metrics: MetricsEndpoint?, retention: Task<Void, Never>, configuration: Configuration, logger: Logger) {
        self.retention = retention
        self.server = server
        self.metrics = metrics
        self.health = health
        self.address = address
        self.configuration = configuration
        self.logger = logger
    }

    public static func start(_ configuration: Configuration, logger: Logger = Logger(label: "keel.planner")) async throws -> PlannerServer {
        let path = (configuration.dataDirectory as NSString).appendingPathComponent("keel-planner.sqlite")
        // The metrics backend first, so the service's counters bind to it.
        _ = KeelMetrics.registry
        let store = try PlannerStore(path: path)
        let health = HealthService(services: ["keel.planner.v1.Planner"])
        var router = RPCRouter()
        health.register(into: &router)
        PlannerService(store: store, logger: logger).register(into: &router)
        let server = KWPServer(
            configuration: .init(host: configuration.host, port: configuration.port, maxFrameBytes: configuration.maxFrameBytes,
                                 token: configuration.token, serverName: "keel-planner"),
            router: router, logger: logger)
        let address = try await server.start()
        var metrics: MetricsEndpoint?
        if let metricsPort = configuration.metricsPort {
            metrics = try await MetricsEndpoint.start(host: configuration.host, port: metricsPort) { health.status(of: "") == .serving }
        }
        // SERVING only once the store is open and the listener is up.
        health.setAll(.serving)
        logger.info("keel-planner ready", metadata: [
            "address": "\(address)", "port": "\(address.port ?? 0)", "store": "\(path)", "auth": "\(configuration.token == nil ? "off" : "bearer token")",
            "metrics_port": "\(metrics.map { "\($0.address.port ?? 0)" } ?? "off")",
        ])
        // Event retention runs hourly (a timer, not a synchronisation).
        let retention = Task {
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
        return PlannerServer(server: server, health: health, address: address, metrics: metrics, retention: retention, configuration: configuration, logger: logger)
    }

    /// Runs until SIGTERM or SIGINT, then drains and returns.
    public func runUntilTerminated() async throws {
        try await ServiceProcessRunner.run(self, logger: logger)
    }

    public func stop() async {
        retention.cancel()
        health.setAll(.notServing)
        await server.shutdown(drainTimeout: configuration.drainTimeout)
        await metrics?.stop()
        logger.info("keel-planner stopped")
    }
}


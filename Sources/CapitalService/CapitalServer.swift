import CapitalAllocation
import Foundation
import KeelOps
import KeelStore
import KeelWire
import Logging
import NIOCore

/// keel-capital as a process: the settings, the store, clients of the gateway and the planner, the
/// service on a KWP/1 server, the scheduler, Health, metrics and a graceful stop on SIGTERM.
public final class CapitalServer: DrainableService {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var dataDirectory: String
        public var token: String?
        /// host:port of keel-gateway and keel-planner.
        public var gateway: String
        public var planner: String
        /// Tokens presented downstream (default: the service's own).
        public var gatewayToken: String?
        public var plannerToken: String?
        public var settings: CapitalSettings
        public var maxFrameBytes: UInt32
        public var drainTimeout: TimeAmount
        public var metricsPort: Int?
        /// The scheduler's time (tests inject their own).
        public var clock: any SchedulerClock
        /// Accounts per transaction (one fsync) in a bulk reallocation without converge.
        public var bulkChunk = 500

        public init(host: String = "127.0.0.1", port: Int = 7403, dataDirectory: String = "./data", token: String? = nil,
                    gateway: String = "127.0.0.1:7402", planner: String = "127.0.0.1:7401", gatewayToken: String? = nil, plannerToken: String? = nil,
                    settings: CapitalSettings = CapitalSettings(), maxFrameBytes: UInt32 = 64 * 1024 * 1024, drainTimeout: TimeAmount = .seconds(10),
                    metricsPort: Int? = nil, clock: any SchedulerClock = WallClock()) {
            self.host = host
            self.port = port
            self.dataDirectory = dataDirectory
            self.token = token
            self.gateway = gateway
            self.planner = planner
            self.gatewayToken = gatewayToken
            self.plannerToken = plannerToken
            self.settings = settings
            self.maxFrameBytes = maxFrameBytes
            self.drainTimeout = drainTimeout
            self.metricsPort = metricsPort
            self.clock = clock
        }
    }

    public let server: KWPServer
    public let health: HealthService
    public let address: SocketAddress
    public let metrics: MetricsEndpoint?
    public let service: CapitalService
    public let scheduler: RebalanceScheduler
    public let follower: FillFollower
    public let store: CapitalStore
    let clients: [KWPClient]
    let configuration: Configuration
    let logger: Logger

    private init(server: KWPServer, health: HealthService, address: SocketAddress, metrics: MetricsEndpoint?, service: CapitalService,
                 scheduler: RebalanceScheduler, follower: FillFollower, store: CapitalStore, clients: [KWPClient], configuration: Configuration, logger: Logger) {
        self.follower = follower
        self.server = server
        self.health = health
        self.address = address
        self.metrics = metrics
        self.service = service
        self.scheduler = scheduler
        self.store = store
        self.clients = clients
        self.configuration = configuration
        self.logger = logger
    }

    /// `startScheduler: false` leaves the scheduler to the caller (tests drive `tick()` themselves);
    /// `followFills: false` leaves the gateway's fills unrecorded (tests that record trades by hand).
    public static func start(_ configuration: Configuration, startScheduler: Bool = true, followFills: Bool = true,
                             logger: Logger = Logger(label: "keel.capital")) async throws -> CapitalServer {
        _ = KeelMetrics.registry
        let gateway = try KWPClient(
            target: configuration.gateway,
            configuration: .init(token: configuration.gatewayToken ?? configuration.token, peerName: "keel-capital", maxFrameBytes: configuration.maxFrameBytes),
            logger: logger)
        let planner = try KWPClient(
            target: configuration.planner,
            configuration: .init(token: configuration.plannerToken ?? configuration.token, peerName: "keel-capital", maxFrameBytes: configuration.maxFrameBytes),
            logger: logger)
        let path = (configuration.dataDirectory as NSString).appendingPathComponent("keel-capital.sqlite")
        let store = try CapitalStore(path: path)
        let clock = configuration.clock
        let service = CapitalService(store: store, settings: configuration.settings, gateway: gateway, planner: planner, clock: { clock.now() }, logger: logger,
                                    bulkChunk: configuration.bulkChunk)
        let health = HealthService(services: ["keel.capital.v1.Capital"])
        var router = RPCRouter()
        health.register(into: &router)
        service.register(into: &router)
        let server = KWPServer(
            configuration: .init(host: configuration.host, port: configuration.port, maxFrameBytes: configuration.maxFrameBytes,
                                 token: configuration.token, serverName: "keel-capital"),
            router: router, logger: logger)
        let address = try await server.start()
        var metrics: MetricsEndpoint?
        if let metricsPort = configuration.metricsPort {
            metrics = try await MetricsEndpoint.start(host: configuration.host, port: metricsPort) { health.status(of: "") == .serving }
        }
        let scheduler = RebalanceScheduler(service: service, clock: clock, logger: logger)
        if startScheduler { scheduler.start() }
        let follower = FillFollower(service: service, logger: logger)
        if followFills { follower.start() }
        health.setAll(.serving)
        let schedule = configuration.settings.schedule
        logger.info("keel-capital ready", metadata: [
            "address": "\(address)", "port": "\(address.port ?? 0)", "store": "\(path)",
            "gateway": "\(configuration.gateway)", "planner": "\(configuration.planner)",
            "auth": "\(configuration.token == nil ? "off" : "bearer token")",
            "schedule": "\(schedule.enabled ? "\(schedule.slots.map(\.description).joined(separator: ",")) \(schedule.timeZone.identifier)" : "off")",
            "metrics_port": "\(metrics.map { "\($0.address.port ?? 0)" } ?? "off")",
        ])
        return CapitalServer(server: server, health: health, address: address, metrics: metrics, service: service, scheduler: scheduler,
                             follower: follower, store: store, clients: [gateway, planner], configuration: configuration, logger: logger)
    }

    /// Runs until SIGTERM or SIGINT, then drains and returns.
    public func runUntilTerminated() async throws {
        try await ServiceProcessRunner.run(self, logger: logger)
    }

    public func stop() async {
        health.setAll(.notServing)
        await scheduler.stop()
        await follower.stop()
        await server.shutdown(drainTimeout: configuration.drainTimeout)
        for client in clients { await client.close() }
        await metrics?.stop()
        logger.info("keel-capital stopped")
    }
}

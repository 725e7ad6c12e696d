import CapitalAllocation
import Foundation
import KeelHost
import KeelOps
import ServiceLifecycle
import KeelStore
import KeelWire
import Logging
import NIOCore

/// keel-capital as a process: the settings, the store, clients of the gateway and the planner, the
/// service on a KWP/1 server, the scheduler, Health, metrics and a graceful stop on SIGTERM.
public final class CapitalServer: Sendable {
    public struct Configuration: Sendable {
        public var endpoint: ServiceEndpoint
        public var dataDirectory: String
        /// host:port of keel-gateway and keel-planner.
        public var gateway: String
        public var planner: String
        /// Tokens presented downstream (default: the service's own).
        public var gatewayToken: String?
        public var plannerToken: String?
        public var settings: CapitalSettings
        /// The scheduler's time (tests inject their own).
        public var clock: any SchedulerClock
        /// Accounts per transaction (one fsync) in a bulk reallocation without converge.
        public var bulkChunk = 500

        public init(host: String = "127.0.0.1", port: Int = 7403, dataDirectory: String = "./data", token: String? = nil,
                    gateway: String = "127.0.0.1:7402", planner: String = "127.0.0.1:7401", gatewayToken: String? = nil, plannerToken: String? = nil,
                    settings: CapitalSettings = CapitalSettings(), maxFrameBytes: UInt32 = 64 * 1024 * 1024, drainTimeout: TimeAmount = .seconds(10),
                    metricsPort: Int? = nil, clock: any SchedulerClock = SystemClock()) {
            endpoint = ServiceEndpoint(host: host, port: port, token: token, maxFrameBytes: maxFrameBytes, drainTimeout: drainTimeout, metricsPort: metricsPort)
            self.dataDirectory = dataDirectory
            self.gateway = gateway
            self.planner = planner
            self.gatewayToken = gatewayToken
            self.plannerToken = plannerToken
            self.settings = settings
            self.clock = clock
        }
    }

    public let host: ServiceHost
    public var server: KWPServer { host.server }
    public var health: HealthService { host.health }
    public var address: SocketAddress { host.address }
    public var metrics: MetricsEndpoint? { host.metrics }
    public let service: CapitalService
    public let scheduler: RebalanceScheduler
    public let follower: FillFollower
    public let store: CapitalStore

    private init(host: ServiceHost, service: CapitalService, scheduler: RebalanceScheduler, follower: FillFollower, store: CapitalStore) {
        self.host = host
        self.service = service
        self.scheduler = scheduler
        self.follower = follower
        self.store = store
    }

    /// `startScheduler: false` leaves the scheduler to the caller (tests drive `tick()` themselves);
    /// `followFills: false` leaves the gateway's fills unrecorded (tests that record trades by hand).
    public static func start(_ configuration: Configuration, startScheduler: Bool = true, followFills: Bool = true,
                             logger: Logger = Logger(label: "keel.capital")) async throws -> CapitalServer {
        let gateway = try KWPClient(
            target: configuration.gateway,
            configuration: .init(token: configuration.gatewayToken ?? configuration.endpoint.token, peerName: "keel-capital",
                                 maxFrameBytes: configuration.endpoint.maxFrameBytes),
            logger: logger)
        let planner = try KWPClient(
            target: configuration.planner,
            configuration: .init(token: configuration.plannerToken ?? configuration.endpoint.token, peerName: "keel-capital",
                                 maxFrameBytes: configuration.endpoint.maxFrameBytes),
            logger: logger)
        let path = (configuration.dataDirectory as NSString).appendingPathComponent("keel-capital.sqlite")
        let store = try CapitalStore(path: path)
        let clock = configuration.clock
        let service = CapitalService(store: store, settings: configuration.settings, gateway: gateway, planner: planner, clock: { clock.now() }, logger: logger,
                                    bulkChunk: configuration.bulkChunk)
        let scheduler = RebalanceScheduler(service: service, clock: clock, logger: logger)
        let follower = FillFollower(service: service, logger: logger)
        var loops: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if followFills { loops.append(BackgroundLoop("fill follower", logger: logger) { await follower.run() }.configuration) }
        if startScheduler { loops.append(BackgroundLoop("rebalance scheduler", logger: logger) { await scheduler.run() }.configuration) }
        let schedule = configuration.settings.schedule
        let host = try await ServiceHost.start(
            .init(name: "keel-capital", healthServices: ["keel.capital.v1.Capital"], endpoint: configuration.endpoint),
            logger: logger,
            readyMetadata: [
                "store": "\(path)", "gateway": "\(configuration.gateway)", "planner": "\(configuration.planner)",
                "schedule": "\(schedule.enabled ? "\(schedule.slots.map(\.description).joined(separator: ",")) \(schedule.timeZone.identifier)" : "off")",
            ],
            routes: { service.register(into: &$0) },
            beforeServer: [ShutdownStep("downstream clients", logger: logger) {
                await gateway.close()
                await planner.close()
            }.configuration],
            afterServer: loops)
        return CapitalServer(host: host, service: service, scheduler: scheduler, follower: follower, store: store)
    }

    /// Runs until SIGTERM or SIGINT, then shuts down in order and returns.
    public func runUntilTerminated() async throws {
        try await host.runUntilTerminated()
    }

    public func stop() async {
        await host.stop()
    }
}

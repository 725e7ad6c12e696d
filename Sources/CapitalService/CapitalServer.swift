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
public struct CapitalServer: HostedProcess {
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

        public init(endpoint: ServiceEndpoint = .init(port: 7403), dataDirectory: String = "./data",
                    gateway: String = "127.0.0.1:7402", planner: String = "127.0.0.1:7401", gatewayToken: String? = nil, plannerToken: String? = nil,
                    settings: CapitalSettings = CapitalSettings(), clock: any SchedulerClock = SystemClock()) {
            self.endpoint = endpoint
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
    public let service: CapitalService
    public let scheduler: RebalanceScheduler
    public let follower: FillFollower
    public let store: CapitalStore


    /// `startScheduler: false` leaves the scheduler to the caller (tests drive `tick()` themselves);
    /// `followFills: false` leaves the gateway's fills unrecorded (tests that record trades by hand).
    public static func start(_ configuration: Configuration, startScheduler: Bool = true, followFills: Bool = true,
                             logger: Logger = Logger(label: "keel.capital")) async throws -> CapitalServer {
        let gateway = try configuration.endpoint.client(of: configuration.gateway, token: configuration.gatewayToken, peerName: "keel-capital", logger: logger)
        let planner = try configuration.endpoint.client(of: configuration.planner, token: configuration.plannerToken, peerName: "keel-capital", logger: logger)
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
            .init(name: "keel-capital", healthServices: ["keel.capital.v1.Capital"], endpoint: configuration.endpoint, checkpoints: store.checkpoints),
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
}

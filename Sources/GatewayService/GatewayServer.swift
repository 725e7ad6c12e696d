import Execution
import Foundation
import KeelStore
import KeelOps
import KeelWire
import Logging
import NIOCore

/// keel-gateway as a process: the config, the planner client, the service on a KWP/1 server,
/// Health, metrics, and a graceful stop on SIGTERM.
public final class GatewayServer: DrainableService {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var dataDirectory: String
        public var token: String?
        /// host:port of keel-planner.
        public var planner: String
        /// The token the gateway presents to the planner (defaults to its own).
        public var plannerToken: String?
        public var config: GatewayConfig
        public var maxFrameBytes: UInt32
        public var drainTimeout: TimeAmount
        public var metricsPort: Int?
        /// The gateway's clock (schedules, the paper broker's quotes and fills); tests inject one.
        public var clock: @Sendable () -> Int64 = nowMs
        /// false: the schedule engine only moves when `schedules.tick()` is called (tests).
        public var runsScheduleLoop = true
        /// The broker; nil = the embedded paper broker on the gateway's store.
        public var broker: (@Sendable (GatewayStore, PaperBrokerSettings, @escaping @Sendable () -> Int64) throws -> any PacedBroker)?

        public init(host: String = "127.0.0.1", port: Int = 7402, dataDirectory: String = "./data", token: String? = nil,
                    planner: String = "127.0.0.1:7401", plannerToken: String? = nil, config: GatewayConfig = GatewayConfig(),
                    maxFrameBytes: UInt32 = 64 * 1024 * 1024, drainTimeout: TimeAmount = .seconds(10), metricsPort: Int? = nil) {
            self.host = host
            self.port = port
            self.dataDirectory = dataDirectory
            self.token = token
            self.planner = planner
            self.plannerToken = plannerToken
            self.config = config
            self.maxFrameBytes = maxFrameBytes
            self.drainTimeout = drainTimeout
            self.metricsPort = metricsPort
        }
    }

    public let server: KWPServer
    public let health: HealthService
    public let address: SocketAddress
    public let metrics: MetricsEndpoint?
    public let dispatcher: Dispatcher
    public let schedules: ScheduleEngine
    public let store: GatewayStore
    let relay: PlannerRelay
    let planner: KWPClient
    let configuration: Configuration
    let logger: Logger

    private init(server: KWPServer, health: HealthService, address: SocketAddress, metrics: MetricsEndpoint?, dispatcher: Dispatcher,
                 schedules: ScheduleEngine, store: GatewayStore, relay: PlannerRelay, planner: KWPClient, configuration: Configuration, logger: Logger) {
        self.dispatcher = dispatcher
        self.schedules = schedules
        self.store = store
        self.relay = relay
        self.server = server
        self.health = health
        self.address = address
        self.metrics = metrics
        self.planner = planner
        self.configuration = configuration
        self.logger = logger
    }

    public static func start(_ configuration: Configuration, logger: Logger = Logger(label: "keel.gateway")) async throws -> GatewayServer {
        _ = KeelMetrics.registry
        let planner = try KWPClient(
            target: configuration.planner,
            configuration: .init(token: configuration.plannerToken ?? configuration.token, peerName: "keel-gateway", maxFrameBytes: configuration.maxFrameBytes),
            logger: logger)
        let path = (configuration.dataDirectory as NSString).appendingPathComponent("keel-gateway.sqlite")
        let store = try GatewayStore(path: path)
        let clock = configuration.clock
        let broker = try configuration.broker?(store, configuration.config.paperBroker, clock)
            ?? PaperBroker(store: store, settings: configuration.config.paperBroker, clock: clock)
        let dispatcher = Dispatcher(store: store, broker: broker, clock: clock, logger: logger)
        let schedules = ScheduleEngine(store: store, broker: broker, config: configuration.config, clock: clock, logger: logger)
        let health = HealthService(services: ["keel.gateway.v1.Gateway"])
        var router = RPCRouter()
        health.register(into: &router)
        let service = GatewayService(config: configuration.config, planner: planner, store: store, broker: broker, dispatcher: dispatcher,
                                     schedules: schedules, clock: clock, logger: logger)
        service.register(into: &router)
        let server = KWPServer(
            configuration: .init(host: configuration.host, port: configuration.port, maxFrameBytes: configuration.maxFrameBytes,
                                 token: configuration.token, serverName: "keel-gateway"),
            router: router, logger: logger)
        let address = try await server.start()
        var metrics: MetricsEndpoint?
        if let metricsPort = configuration.metricsPort {
            metrics = try await MetricsEndpoint.start(host: configuration.host, port: metricsPort) { health.status(of: "") == .serving }
        }
        // Orders written before a crash or stop are resent (same client order ids) before serving.
        dispatcher.kick()
        await dispatcher.idle()
        // Schedules that were running are reconciled with the broker before serving.
        try await schedules.load()
        if configuration.runsScheduleLoop { schedules.startLoop() }
        let relay = PlannerRelay(store: store, planner: planner, logger: logger, exitPolicy: configuration.config.exitPolicy.mode) { record in
            await service.exitSignalReceived(record)
        }
        relay.start()
        // Exit signals approved before a stop but not yet applied (Execute's idempotency key makes it safe).
        Task { await service.applyApprovedExitSignals() }
        health.setAll(.serving)
        logger.info("keel-gateway ready", metadata: [
            "store": "\(path)",
            "address": "\(address)", "port": "\(address.port ?? 0)", "planner": "\(configuration.planner)",
            "auth": "\(configuration.token == nil ? "off" : "bearer token")",
            "metrics_port": "\(metrics.map { "\($0.address.port ?? 0)" } ?? "off")",
        ])
        return GatewayServer(server: server, health: health, address: address, metrics: metrics, dispatcher: dispatcher,
                             schedules: schedules, store: store, relay: relay, planner: planner, configuration: configuration, logger: logger)
    }

    /// Runs until SIGTERM or SIGINT, then drains and returns.
    public func runUntilTerminated() async throws {
        try await ServiceProcessRunner.run(self, logger: logger)
    }

    public func stop() async {
        relay.stop()
        health.setAll(.notServing)
        await server.shutdown(drainTimeout: configuration.drainTimeout)
        await schedules.stop()
        await dispatcher.idle()
        dispatcher.stop()
        await planner.close()
        await metrics?.stop()
        logger.info("keel-gateway stopped")
    }
}

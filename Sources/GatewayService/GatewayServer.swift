import Execution
import Foundation
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
    let relay: PlannerRelay
    let planner: KWPClient
    let configuration: Configuration
    let logger: Logger

    private init(server: KWPServer, health: HealthService, address: SocketAddress, metrics: MetricsEndpoint?, dispatcher: Dispatcher,
                 relay: PlannerRelay, planner: KWPClient, configuration: Configuration, logger: Logger) {
        self.dispatcher = dispatcher
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
        let broker = try PaperBroker(store: store, settings: configuration.config.paperBroker)
        let dispatcher = Dispatcher(store: store, broker: broker, logger: logger)
        let health = HealthService(services: ["keel.gateway.v1.Gateway"])
        var router = RPCRouter()
        health.register(into: &router)
        GatewayService(config: configuration.config, planner: planner, store: store, broker: broker, dispatcher: dispatcher, logger: logger)
            .register(into: &router)
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
        let relay = PlannerRelay(store: store, planner: planner, logger: logger)
        relay.start()
        health.setAll(.serving)
        logger.info("keel-gateway ready", metadata: [
            "store": "\(path)",
            "address": "\(address)", "port": "\(address.port ?? 0)", "planner": "\(configuration.planner)",
            "auth": "\(configuration.token == nil ? "off" : "bearer token")",
            "metrics_port": "\(metrics.map { "\($0.address.port ?? 0)" } ?? "off")",
        ])
        return GatewayServer(server: server, health: health, address: address, metrics: metrics, dispatcher: dispatcher, relay: relay, planner: planner, configuration: configuration, logger: logger)
    }

    /// Runs until SIGTERM or SIGINT, then drains and returns.
    public func runUntilTerminated() async throws {
        try await ServiceProcessRunner.run(self, logger: logger)
    }

    public func stop() async {
        relay.stop()
        health.setAll(.notServing)
        await server.shutdown(drainTimeout: configuration.drainTimeout)
        await dispatcher.idle()
        dispatcher.stop()
        await planner.close()
        await metrics?.stop()
        logger.info("keel-gateway stopped")
    }
}

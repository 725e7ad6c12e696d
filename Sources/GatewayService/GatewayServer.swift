import Execution
import Foundation
import KeelHost
import KeelOps
import KeelStore
import KeelWire
import Logging
import NIOCore
import ServiceLifecycle

/// keel-gateway as a process: the config, the planner client, the store and the service on the
/// process host, with the dispatcher, the schedule engine and the planner relay as its loops.
public final class GatewayServer: Sendable {
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
        /// SIGTERM and SIGINT stop the process (the executable); in-process users call `stop()`.
        public var handlesSignals = false
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

    public let host: ServiceHost
    public var server: KWPServer { host.server }
    public var health: HealthService { host.health }
    public var address: SocketAddress { host.address }
    public var metrics: MetricsEndpoint? { host.metrics }
    public let dispatcher: Dispatcher
    public let schedules: ScheduleEngine
    public let store: GatewayStore

    private init(host: ServiceHost, dispatcher: Dispatcher, schedules: ScheduleEngine, store: GatewayStore) {
        self.host = host
        self.dispatcher = dispatcher
        self.schedules = schedules
        self.store = store
    }

    public static func start(_ configuration: Configuration, logger: Logger = Logger(label: "keel.gateway")) async throws -> GatewayServer {
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
        let service = GatewayService(config: configuration.config, planner: planner, store: store, broker: broker, dispatcher: dispatcher,
                                     schedules: schedules, clock: clock, logger: logger)
        let relay = PlannerRelay(store: store, planner: planner, logger: logger, exitPolicy: configuration.config.exitPolicy.mode) { record in
            await service.exitSignalReceived(record)
        }
        var loops = [BackgroundLoop("dispatcher", logger: logger, stop: .finish { dispatcher.finish() }) { await dispatcher.run() }.configuration]
        if configuration.runsScheduleLoop { loops.append(BackgroundLoop("schedule engine", logger: logger) { await schedules.run() }.configuration) }
        let host = try await ServiceHost.start(
            .init(name: "keel-gateway", healthServices: ["keel.gateway.v1.Gateway"], host: configuration.host, port: configuration.port,
                  token: configuration.token, maxFrameBytes: configuration.maxFrameBytes, drainTimeout: configuration.drainTimeout,
                  metricsPort: configuration.metricsPort, handlesSignals: configuration.handlesSignals),
            logger: logger, readyMetadata: ["store": "\(path)", "planner": "\(configuration.planner)"],
            routes: { service.register(into: &$0) },
            beforeServing: {
                // Orders written before a crash or stop are resent (same client order ids), and
                // running schedules reconciled with the broker, before serving.
                await dispatcher.resend()
                try await schedules.load()
            },
            beforeServer: [ShutdownStep("planner client", logger: logger) { await planner.close() }.configuration] + loops,
            afterServer: [
                BackgroundLoop("planner relay", logger: logger) { await relay.run() }.configuration,
                // Exit signals approved before a stop but not yet applied (Execute's idempotency key makes it safe).
                BackgroundLoop.once("approved exit signals", logger: logger) { await service.applyApprovedExitSignals() },
            ])
        return GatewayServer(host: host, dispatcher: dispatcher, schedules: schedules, store: store)
    }

    /// Runs until SIGTERM or SIGINT, then shuts down in order and returns.
    public func runUntilTerminated() async throws {
        try await host.runUntilTerminated()
    }

    public func stop() async {
        await host.stop()
    }
}

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
public struct GatewayServer: HostedProcess {
    public struct Configuration: Sendable {
        public var endpoint: ServiceEndpoint
        public var dataDirectory: String
        /// host:port of keel-planner.
        public var planner: String
        /// The token the gateway presents to the planner (defaults to its own).
        public var plannerToken: String?
        public var config: GatewayConfig
        /// The gateway's clock (schedules, the paper broker's quotes and fills); tests inject one.
        public var clock: @Sendable () -> Int64 = nowMs
        /// false: the schedule engine only moves when `schedules.tick()` is called (tests).
        public var runsScheduleLoop = true
        /// The broker; nil = the embedded paper broker on the gateway's store.
        public var broker: (@Sendable (GatewayStore, PaperBrokerSettings, @escaping @Sendable () -> Int64) throws -> any Broker)?

        public init(endpoint: ServiceEndpoint = .init(port: 7402), dataDirectory: String = "./data",
                    planner: String = "127.0.0.1:7401", plannerToken: String? = nil, config: GatewayConfig = GatewayConfig()) {
            self.endpoint = endpoint
            self.dataDirectory = dataDirectory
            self.planner = planner
            self.plannerToken = plannerToken
            self.config = config
        }
    }

    public let host: ServiceHost
    public let dispatcher: Dispatcher
    public let schedules: ScheduleEngine
    public let store: GatewayStore


    public static func start(_ configuration: Configuration, logger: Logger = Logger(label: "keel.gateway")) async throws -> GatewayServer {
        let planner = try configuration.endpoint.client(of: configuration.planner, token: configuration.plannerToken, peerName: "keel-gateway", logger: logger)
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
            .init(name: "keel-gateway", healthServices: ["keel.gateway.v1.Gateway"], endpoint: configuration.endpoint, checkpoints: store.checkpoints),
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
}

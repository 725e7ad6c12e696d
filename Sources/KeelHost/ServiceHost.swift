import KeelOps
import KeelStore
import KeelWire
import Logging
import NIOCore
import ServiceLifecycle

/// Where and how a service process listens, and how it stops: what the three services share of
/// their configuration.
public struct ServiceEndpoint: Sendable {
    public var host: String
    public var port: Int
    /// The bearer token every call but Health must carry; nil = no auth.
    public var token: String?
    public var maxFrameBytes: UInt32
    /// How long in-flight calls may finish after GoAway.
    public var drainTimeout: TimeAmount
    /// The HTTP port of `/metrics` and `/healthz`; nil = none, 0 = a free port.
    public var metricsPort: Int?
    /// SIGTERM and SIGINT shut the process down (the executables); in-process users call `stop()`.
    public var handlesSignals = false

    public init(host: String = "127.0.0.1", port: Int, token: String? = nil, maxFrameBytes: UInt32 = 64 * 1024 * 1024,
                drainTimeout: TimeAmount = .seconds(10), metricsPort: Int? = nil) {
        self.host = host
        self.port = port
        self.token = token
        self.maxFrameBytes = maxFrameBytes
        self.drainTimeout = drainTimeout
        self.metricsPort = metricsPort
    }

    /// A client of another Keel service, as this service: its token unless the service has one for
    /// that peer, its frame limit.
    public func client(of target: String, token peerToken: String?, peerName: String, logger: Logger) throws -> KWPClient {
        try KWPClient(target: target, configuration: .init(token: peerToken ?? token, peerName: peerName, maxFrameBytes: maxFrameBytes), logger: logger)
    }
}

/// A Keel service process built on a `ServiceHost`: its server, Health, address, metrics and
/// lifetime are the host's.
public protocol HostedProcess: Sendable {
    var host: ServiceHost { get }
}

extension HostedProcess {
    public var server: KWPServer { host.server }
    public var health: HealthService { host.health }
    public var address: SocketAddress { host.address }
    public var metrics: MetricsEndpoint? { host.metrics }

    /// Runs until SIGTERM or SIGINT, then shuts down in order and returns.
    public func runUntilTerminated() async throws {
        try await host.runUntilTerminated()
    }

    public func stop() async {
        await host.stop()
    }
}

extension ServiceOptions {
    /// The endpoint of an executable: these options on `port`, stopped by SIGTERM or SIGINT.
    public func endpoint(port: Int) -> ServiceEndpoint {
        var endpoint = ServiceEndpoint(host: host, port: port, token: effectiveToken, maxFrameBytes: maxFrameBytes, metricsPort: effectiveMetricsPort)
        endpoint.handlesSignals = true
        return endpoint
    }
}

/// One Keel service process: the KWP/1 server with Health and the service's routes, the metrics
/// endpoint, and the service's background loops, all run as swift-service-lifecycle services in
/// one `ServiceGroup`. The three services' `*Server` types are this host plus their own parts.
///
/// Start-up: the routes are registered, the server and the metrics endpoint bound, `beforeServing`
/// runs (a store's outbox resent, schedules reconciled), then the group starts and Health turns
/// SERVING and the ready line is logged.
///
/// Shutdown (SIGTERM or SIGINT in the executables, `stop()` in process) goes in reverse start order,
/// each step finished before the next: Health NOT_SERVING; the `afterServer` services, last first;
/// the KWP/1 server drains (GoAway, in-flight calls finish within `drainTimeout`); the
/// `beforeServer` services, last first; the metrics endpoint.
public final class ServiceHost: Sendable {
    public struct Options: Sendable {
        /// The executable's name (`keel-gateway`): log lines and the Hello's peer name.
        public var name: String
        /// The services Health reports on (`keel.gateway.v1.Gateway`).
        public var healthServices: [String]
        public var endpoint: ServiceEndpoint
        /// The checkpoints of the service's store, run from start until the last step of the shutdown.
        public var checkpoints: WALCheckpoints

        public init(name: String, healthServices: [String], endpoint: ServiceEndpoint, checkpoints: WALCheckpoints) {
            self.name = name
            self.healthServices = healthServices
            self.endpoint = endpoint
            self.checkpoints = checkpoints
        }
    }

    public let server: KWPServer
    public let health: HealthService
    public let address: SocketAddress
    public let metrics: MetricsEndpoint?
    let group: ServiceGroup
    let running: Task<Void, any Error>
    let logger: Logger

    private init(server: KWPServer, health: HealthService, address: SocketAddress, metrics: MetricsEndpoint?, group: ServiceGroup,
                 running: Task<Void, any Error>, logger: Logger) {
        self.server = server
        self.health = health
        self.address = address
        self.metrics = metrics
        self.group = group
        self.running = running
        self.logger = logger
    }

    public static func start(
        _ options: Options, logger: Logger, readyMetadata: Logger.Metadata = [:],
        routes: (inout RPCRouter) -> Void,
        beforeServing: () async throws -> Void = {},
        beforeServer: [ServiceGroupConfiguration.ServiceConfiguration] = [],
        afterServer: [ServiceGroupConfiguration.ServiceConfiguration] = []
    ) async throws -> ServiceHost {
        let endpoint = options.endpoint
        // The metrics backend first, so the services' counters bind to it.
        _ = KeelMetrics.registry
        let health = HealthService(services: options.healthServices)
        var router = RPCRouter()
        health.register(into: &router)
        routes(&router)
        let server = KWPServer(
            configuration: .init(host: endpoint.host, port: endpoint.port, maxFrameBytes: endpoint.maxFrameBytes, token: endpoint.token,
                                 serverName: options.name),
            router: router, logger: logger)
        let address = try await server.start()
        var metrics: MetricsEndpoint?
        do {
            if let port = endpoint.metricsPort {
                metrics = try await MetricsEndpoint.start(host: endpoint.host, port: port) { health.status(of: "") == .serving }
            }
            try await beforeServing()
        } catch {
            await metrics?.stop()
            await server.shutdown(drainTimeout: .zero)
            throw error
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metrics { services.append(ShutdownStep("metrics endpoint", logger: logger) { await metrics.stop() }.configuration) }
        services.append(BackgroundLoop("store checkpoints", logger: logger) { [checkpoints = options.checkpoints] in
            await checkpoints.run { error in
                logger.warning("store checkpoint failed; will retry", metadata: ["error": "\(error)"])
            }
        }.configuration)
        services += beforeServer
        services.append(ShutdownStep("KWP/1 server", logger: logger) { await server.shutdown(drainTimeout: endpoint.drainTimeout) }.configuration)
        services += afterServer
        services.append(ShutdownStep("health", logger: logger) {
            health.setAll(.notServing)
            logger.info("\(options.name) shutting down: draining")
        }.configuration)
        let group = ServiceGroup(configuration: .init(
            services: services, gracefulShutdownSignals: endpoint.handlesSignals ? [.sigterm, .sigint] : [], logger: logger))
        let running = Task {
            try await group.run()
            logger.info("\(options.name) stopped")
        }
        // SERVING once the store is open, the listener up and what must come first is done.
        health.setAll(.serving)
        var metadata = readyMetadata
        metadata["address"] = "\(address)"
        metadata["port"] = "\(address.port ?? 0)"
        metadata["auth"] = "\(endpoint.token == nil ? "off" : "bearer token")"
        metadata["metrics_port"] = "\(metrics.map { "\($0.address.port ?? 0)" } ?? "off")"
        logger.info("\(options.name) ready", metadata: metadata)
        return ServiceHost(server: server, health: health, address: address, metrics: metrics, group: group, running: running, logger: logger)
    }

    /// Runs until the process is told to stop (SIGTERM or SIGINT) and has shut down.
    public func runUntilTerminated() async throws {
        try await running.value
    }

    /// Shuts the process's services down in order and waits for it.
    public func stop() async {
        await group.triggerGracefulShutdown()
        do {
            try await running.value
        } catch {
            logger.error("shutdown failed", metadata: ["error": "\(error)"])
        }
    }
}

/// A step of the shutdown (closing a client, stopping an endpoint): waits for its turn, then does
/// `onShutdown`.
public struct ShutdownStep: Service {
    let name: String
    let logger: Logger
    let onShutdown: @Sendable () async -> Void

    public init(_ name: String, logger: Logger, onShutdown: @escaping @Sendable () async -> Void) {
        self.name = name
        self.logger = logger
        self.onShutdown = onShutdown
    }

    public var configuration: ServiceGroupConfiguration.ServiceConfiguration { .init(service: self) }

    public func run() async throws {
        // Returns at this step's turn in the shutdown (or when the group is cancelled).
        try? await gracefulShutdown()
        await onShutdown()
        logger.info("stopped", metadata: ["step": "\(name)"])
    }
}

import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A KWP/1 server: listens on TCP, runs one `ServerConnectionHandler` per connection, and shuts
/// down by draining (GoAway, in-flight calls finish up to a deadline, then close).
public final class KWPServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port; `start()` answers the bound address.
        public var port: Int
        /// The largest frame this server accepts (announced in its Hello).
        public var maxFrameBytes: UInt32
        public var maxConcurrentCalls: Int
        public var idleTimeout: TimeAmount
        /// A connection that has not said Hello by then is closed.
        public var helloTimeout: TimeAmount
        /// When set, every call but the unauthenticated ones (Health) needs `authorization: Bearer <token>`.
        public var token: String?
        /// Sent as `Hello.peer`.
        public var serverName: String

        public init(
            host: String = "127.0.0.1", port: Int = 0, maxFrameBytes: UInt32 = KWP.defaultMaxFrameBytes,
            maxConcurrentCalls: Int = 256, idleTimeout: TimeAmount = .minutes(5), helloTimeout: TimeAmount = .seconds(10),
            token: String? = nil, serverName: String = "keel"
        ) {
            self.host = host
            self.port = port
            self.maxFrameBytes = maxFrameBytes
            self.maxConcurrentCalls = maxConcurrentCalls
            self.idleTimeout = idleTimeout
            self.helloTimeout = helloTimeout
            self.token = token
            self.serverName = serverName
        }
    }

    private struct Connection {
        let channel: any Channel
        let handler: NIOLoopBound<ServerConnectionHandler>
    }

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: Connection] = [:]
        var shuttingDown = false
    }

    public let configuration: Configuration
    private let router: RPCRouter
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    public init(configuration: Configuration, router: RPCRouter, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "keel.wire.server")) {
        self.configuration = configuration
        self.router = router
        self.group = group
        self.logger = logger
    }

    /// Binds and starts accepting; answers the bound address (the real port when `port` is 0).
    @discardableResult
    public func start() async throws -> SocketAddress {
        let handlerConfiguration = ServerConnectionHandler.Configuration(
            maxFrameBytes: configuration.maxFrameBytes,
            maxConcurrentCalls: configuration.maxConcurrentCalls,
            idleTimeout: configuration.idleTimeout,
            helloTimeout: configuration.helloTimeout,
            authenticator: configuration.token.map(BearerTokenAuthenticator.init(token:)),
            serverName: configuration.serverName)
        let router = self.router
        let logger = self.logger
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 * 1024, high: 1024 * 1024))
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    var connectionLogger = logger
                    connectionLogger[metadataKey: "peer"] = "\(channel.remoteAddress.map { "\($0)" } ?? "?")"
                    let handler = ServerConnectionHandler(router: router, configuration: handlerConfiguration, logger: connectionLogger)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    self?.register(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        state.withLockedValue { $0.listener = listener }
        let address = listener.localAddress!
        logger.info("listening", metadata: ["address": "\(address)"])
        return address
    }

    /// Every method path this server answers, sorted.
    public var methods: [String] { router.methods }

    public var localAddress: SocketAddress? {
        state.withLockedValue { $0.listener?.localAddress }
    }

    private func register(channel: any Channel, handler: NIOLoopBound<ServerConnectionHandler>) {
        let id = ObjectIdentifier(channel)
        let drainNow = state.withLockedValue { state -> Bool in
            state.connections[id] = Connection(channel: channel, handler: handler)
            return state.shuttingDown
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLockedValue { $0.connections.removeValue(forKey: id) }
        }
        if drainNow {
            channel.eventLoop.execute { handler.value.beginDrain() }
        }
    }

    /// Stops accepting, sends GoAway on every connection, lets in-flight calls finish until
    /// `drainTimeout`, then closes whatever is left.
    public func shutdown(drainTimeout: TimeAmount = .seconds(10)) async {
        let (listener, connections) = state.withLockedValue { state -> ((any Channel)?, [Connection]) in
            state.shuttingDown = true
            return (state.listener, Array(state.connections.values))
        }
        try? await listener?.close()
        for connection in connections {
            connection.channel.eventLoop.execute { connection.handler.value.beginDrain() }
        }
        let deadline = NIODeadline.now() + drainTimeout
        for connection in connections {
            let timer = connection.channel.eventLoop.scheduleTask(deadline: deadline) {
                connection.handler.value.forceClose()
            }
            try? await connection.channel.closeFuture.get()
            timer.cancel()
        }
        logger.info("stopped")
    }
}

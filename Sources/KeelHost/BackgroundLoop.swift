import Logging
import ServiceLifecycle

/// A service's background loop (the dispatcher, the planner relay, the schedule engine, the fill
/// follower, the rebalance scheduler, event retention) as a swift-service-lifecycle service.
public struct BackgroundLoop: Service {
    /// How the loop is told to stop at its turn in the shutdown.
    public enum Stop: Sendable {
        /// Its task is cancelled.
        case cancel
        /// `finish` is called and the loop ends once what it has in hand is done.
        case finish(@Sendable () -> Void)
    }

    public let name: String
    let logger: Logger
    let stop: Stop
    let body: @Sendable () async -> Void

    public init(_ name: String, logger: Logger, stop: Stop = .cancel, _ body: @escaping @Sendable () async -> Void) {
        self.name = name
        self.logger = logger
        self.stop = stop
        self.body = body
    }

    public func run() async throws {
        switch stop {
        case .cancel:
            await cancelWhenGracefulShutdown { await body() }
        case .finish(let finish):
            await withGracefulShutdownHandler { await body() } onGracefulShutdown: { finish() }
        }
        logger.info("stopped", metadata: ["loop": "\(name)"])
    }

    /// The loop as the group runs it: a loop that ends before the shutdown takes the process down
    /// with it (it is not left silently dead).
    public var configuration: ServiceGroupConfiguration.ServiceConfiguration { .init(service: self) }

    /// Work that runs once beside the server (catching up after a restart) and then ends.
    public static func once(_ name: String, logger: Logger, _ body: @escaping @Sendable () async -> Void) -> ServiceGroupConfiguration.ServiceConfiguration {
        .init(service: BackgroundLoop(name, logger: logger, body), successTerminationBehavior: .ignore)
    }
}

import Logging
import ServiceLifecycle

/// A running Keel service (planner, gateway or capital) as swift-service-lifecycle sees it: it runs
/// until the group's graceful shutdown (SIGTERM or SIGINT), then drains through `stop` (GoAway,
/// in-flight calls finish within the service's drain bound, the store is closed).
public protocol DrainableService: Sendable {
    func stop() async
}

/// Runs a started service under a `ServiceGroup` with SIGTERM and SIGINT as graceful-shutdown
/// signals, so all three executables stop the same way.
public enum ServiceProcessRunner {
    public static func run(_ service: some DrainableService, logger: Logger) async throws {
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: Drain(service: service, logger: logger))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    private struct Drain<S: DrainableService>: Service {
        let service: S
        let logger: Logger

        func run() async throws {
            // Returns when the group shuts down gracefully (a signal) or is cancelled.
            try? await gracefulShutdown()
            logger.info("termination signal: draining")
            await service.stop()
        }
    }
}

import Contracts
import NIOConcurrencyHelpers

public typealias ServingStatus = Keel_Health_V1_HealthCheckResponse.ServingStatus

/// `keel.health.v1.Health/Check` (modelled on grpc.health.v1). The empty service name is the whole
/// process; it needs no token.
public final class HealthService: Sendable {
    private let statuses: NIOLockedValueBox<[String: ServingStatus]>

    /// Starts NOT_SERVING: a service says SERVING once it is ready (its store is open).
    public init(services: [String] = []) {
        var initial: [String: ServingStatus] = ["": .notServing]
        for service in services { initial[service] = .notServing }
        statuses = NIOLockedValueBox(initial)
    }

    public func setStatus(_ status: ServingStatus, for service: String = "") {
        statuses.withLockedValue { $0[service] = status }
    }

    /// Sets every known service (and the process) at once.
    public func setAll(_ status: ServingStatus) {
        statuses.withLockedValue { all in
            for key in all.keys { all[key] = status }
        }
    }

    public func status(of service: String) -> ServingStatus {
        statuses.withLockedValue { $0[service] } ?? .serviceUnknown
    }

    public func register(into router: inout RPCRouter) {
        // A lock and a lookup: answered on the event loop.
        router.unaryOnEventLoop(KeelRPC.healthCheck, allowUnauthenticated: true) {
            (request: Keel_Health_V1_HealthCheckRequest, _: ServerContext) -> Keel_Health_V1_HealthCheckResponse in
            .with { $0.status = self.status(of: request.service) }
        }
    }
}

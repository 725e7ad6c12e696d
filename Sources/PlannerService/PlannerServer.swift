import Foundation
import KeelHost
import KeelOps
import KeelStore
import KeelWire
import Logging
import NIOCore

/// keel-planner as a process: its store and service on the process host (KWP/1 server, Health,
/// metrics), with event retention as its one background loop.
public struct PlannerServer: HostedProcess {
    public struct Configuration: Sendable {
        public var endpoint: ServiceEndpoint
        public var dataDirectory: String

        public init(endpoint: ServiceEndpoint = .init(port: 7401), dataDirectory: String = "./data") {
            self.endpoint = endpoint
            self.dataDirectory = dataDirectory
        }
    }

    public let host: ServiceHost


    public static func start(_ configuration: Configuration, logger: Logger = Logger(label: "keel.planner")) async throws -> PlannerServer {
        let path = (configuration.dataDirectory as NSString).appendingPathComponent("keel-planner.sqlite")
        let store = try PlannerStore(path: path)
        let host = try await ServiceHost.start(
            .init(name: "keel-planner", healthServices: ["keel.planner.v1.Planner"], endpoint: configuration.endpoint, checkpoints: store.checkpoints),
            logger: logger, readyMetadata: ["store": "\(path)"],
            routes: { PlannerService(store: store, logger: logger).register(into: &$0) },
            afterServer: [BackgroundLoop("event retention", logger: logger) { await Self.retainEvents(store, logger: logger) }.configuration])
        return PlannerServer(host: host)
    }

    /// Event retention, hourly (a timer, not a synchronisation), until cancelled.
    static func retainEvents(_ store: PlannerStore, logger: Logger) async {
        while !Task.isCancelled {
            do {
                let dropped = try await store.pruneEvents(nowMs: nowMs())
                if dropped > 0 { logger.info("event retention", metadata: ["dropped": "\(dropped)"]) }
            } catch {
                logger.warning("event retention failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(3600))
        }
    }
}

import Dispatch
import Foundation
import KeelWire
import Logging
import NIOCore

/// keel-planner as a process: the store, the service on a KWP/1 server, Health, and a graceful
/// stop on SIGTERM or SIGINT (GoAway, in-flight calls finish, then exit).
public final class PlannerServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var dataDirectory: String
        public var token: String?
        public var maxFrameBytes: UInt32
        public var drainTimeout: TimeAmount

        public init(host: String = "127.0.0.1", port: Int = 7401, dataDirectory: String = "./data", token: String? = nil,
                    maxFrameBytes: UInt32 = 64 * 1024 * 1024, drainTimeout: TimeAmount = .seconds(10)) {
            self.host = host
            self.port = port
            self.dataDirectory = dataDirectory
            self.token = token
            self.maxFrameBytes = maxFrameBytes
            self.drainTimeout = drainTimeout
        }
    }

    public let server: KWPServer
    public let health: HealthService
    public let address: SocketAddress
    let configuration: Configuration
    let logger: Logger

    private init(server: KWPServer, health: HealthService, address: SocketAddress, configuration: Configuration, logger: Logger) {
        self.server = server
        self.health = health
        self.address = address
        self.configuration = configuration
        self.logger = logger
    }

    public static func start(_ configuration: Configuration, logger: Logger = Logger(label: "keel.planner")) async throws -> PlannerServer {
        let path = (configuration.dataDirectory as NSString).appendingPathComponent("keel-planner.sqlite")
        let store = try PlannerStore(path: path)
        let health = HealthService(services: ["keel.planner.v1.Planner"])
        var router = RPCRouter()
        health.register(into: &router)
        PlannerService(store: store, logger: logger).register(into: &router)
        let server = KWPServer(
            configuration: .init(host: configuration.host, port: configuration.port, maxFrameBytes: configuration.maxFrameBytes,
                                 token: configuration.token, serverName: "keel-planner"),
            router: router, logger: logger)
        let address = try await server.start()
        // SERVING only once the store is open and the listener is up.
        health.setAll(.serving)
        logger.info("keel-planner ready", metadata: ["address": "\(address)", "store": "\(path)", "auth": "\(configuration.token == nil ? "off" : "bearer token")"])
        return PlannerServer(server: server, health: health, address: address, configuration: configuration, logger: logger)
    }

    /// Waits for SIGTERM or SIGINT, then drains and returns.
    public func runUntilTerminated() async {
        await TerminationSignal.wait()
        logger.info("termination signal: draining")
        await stop()
    }

    public func stop() async {
        health.setAll(.notServing)
        await server.shutdown(drainTimeout: configuration.drainTimeout)
    }
}

/// Resolves on the first SIGTERM or SIGINT.
public enum TerminationSignal {
    public static func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = OnceFlag()
            var sources: [DispatchSourceSignal] = []
            for signalNumber in [SIGTERM, SIGINT] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler {
                    if once.take() { continuation.resume() }
                }
                source.resume()
                sources.append(source)
            }
            Retained.keep(sources)
        }
    }
}

final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var taken = false
    func take() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if taken { return false }
        taken = true
        return true
    }
}

/// Keeps the signal sources alive for the life of the process.
enum Retained {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []
    static func keep(_ more: [DispatchSourceSignal]) { sources += more }
}

import Contracts
import SwiftProtobuf
import struct Foundation.Data

/// Writes the messages of a server-streaming reply. `send` returns once the connection can take
/// more, so a slow reader holds the handler back instead of filling memory.
public struct ResponseStreamWriter<Message: SwiftProtobuf.Message>: Sendable {
    let sink: RawResponseSink

    public func send(_ message: Message) async throws {
        let bytes: [UInt8] = try message.serializedBytes()
        try await sink.send([bytes])
    }

    /// Several messages in order, handed to the connection at once (one trip to its event loop,
    /// one flush), for a reader that already holds a page of them.
    public func send(contentsOf messages: some Sequence<Message>) async throws {
        let bodies: [[UInt8]] = try messages.map { try $0.serializedBytes() }
        guard !bodies.isEmpty else { return }
        try await sink.send(bodies)
    }
}

/// The transport side of a streaming reply (implemented by the server connection).
protocol RawResponseSink: Sendable {
    func send(_ bodies: [[UInt8]]) async throws
}

/// A method handler with its types erased to bytes, as the connection runs it.
enum MethodHandler: Sendable {
    case unary(@Sendable (Data, ServerContext) async throws -> [UInt8])
    /// Answers at once on the connection's event loop (see `RPCRouter.unaryOnEventLoop`).
    case unaryOnEventLoop(@Sendable (Data, ServerContext) throws -> [UInt8])
    case serverStreaming(@Sendable (Data, RawResponseSink, ServerContext) async throws -> Void)
}

/// Method path → handler. Services register typed handlers; the connection sees bytes.
public struct RPCRouter: Sendable {
    private(set) var handlers: [String: MethodHandler] = [:]
    /// Methods callable without a token (Health).
    private(set) var unauthenticatedMethods: Set<String> = []

    public init() {}

    public var methods: [String] { handlers.keys.sorted() }

    public mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String, _ request: Request.Type = Request.self, _ response: Response.Type = Response.self,
        allowUnauthenticated: Bool = false,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        handlers[method] = .unary { body, context in
            let request = try Self.decode(Request.self, body)
            return try await handler(request, context).serializedBytes()
        }
        if allowUnauthenticated { unauthenticatedMethods.insert(method) }
    }

    public mutating func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String, _ request: Request.Type = Request.self, _ response: Response.Type = Response.self,
        handler: @escaping @Sendable (Request, ResponseStreamWriter<Response>, ServerContext) async throws -> Void
    ) {
        handlers[method] = .serverStreaming { body, sink, context in
            let request = try Self.decode(Request.self, body)
            try await handler(request, ResponseStreamWriter(sink: sink), context)
        }
    }

    /// A unary handler that works on the encoded bodies itself (to keep the request bytes as
    /// received, or to answer stored bytes unchanged).
    public mutating func unaryBytes(
        _ rpc: RPCDescriptor, handler: @escaping @Sendable (Data, ServerContext) async throws -> [UInt8]
    ) {
        unaryBytes(rpc.path, handler: handler)
    }

    /// `unaryBytes` for a method path outside Keel's contracts (benchmarks, tests).
    public mutating func unaryBytes(_ path: String, handler: @escaping @Sendable (Data, ServerContext) async throws -> [UInt8]) {
        handlers[path] = .unary(handler)
    }

    /// A unary handler that answers at once: no I/O, no waiting, microseconds of work (a health
    /// check, a lookup in memory). It runs on the connection's event loop as the request is read,
    /// with no hop to a task and back; anything slower must be a `unary` handler, or it would hold
    /// up every connection of that event loop.
    public mutating func unaryOnEventLoop<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String, _ request: Request.Type = Request.self, _ response: Response.Type = Response.self,
        allowUnauthenticated: Bool = false,
        handler: @escaping @Sendable (Request, ServerContext) throws -> Response
    ) {
        handlers[method] = .unaryOnEventLoop { body, context in
            let request = try Self.decode(Request.self, body)
            return try handler(request, context).serializedBytes()
        }
        if allowUnauthenticated { unauthenticatedMethods.insert(method) }
    }

    /// `unaryOnEventLoop` for a method of Keel's contracts.
    public mutating func unaryOnEventLoop<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ rpc: RPCDescriptor, allowUnauthenticated: Bool = false,
        handler: @escaping @Sendable (Request, ServerContext) throws -> Response
    ) {
        precondition(rpc.requestType == Request.self && rpc.responseType == Response.self, "types of \(rpc.path)")
        unaryOnEventLoop(rpc.path, Request.self, Response.self, allowUnauthenticated: allowUnauthenticated, handler: handler)
    }

    /// `unaryOnEventLoop` on the encoded bodies.
    public mutating func unaryBytesOnEventLoop(_ path: String, handler: @escaping @Sendable (Data, ServerContext) throws -> [UInt8]) {
        handlers[path] = .unaryOnEventLoop(handler)
    }

    /// Registers a typed unary handler for a method of Keel's contracts.
    public mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ rpc: RPCDescriptor, allowUnauthenticated: Bool = false,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        precondition(rpc.requestType == Request.self && rpc.responseType == Response.self, "types of \(rpc.path)")
        unary(rpc.path, Request.self, Response.self, allowUnauthenticated: allowUnauthenticated, handler: handler)
    }

    public mutating func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ rpc: RPCDescriptor,
        handler: @escaping @Sendable (Request, ResponseStreamWriter<Response>, ServerContext) async throws -> Void
    ) {
        precondition(rpc.requestType == Request.self && rpc.responseType == Response.self, "types of \(rpc.path)")
        serverStreaming(rpc.path, Request.self, Response.self, handler: handler)
    }

    func handler(for method: String) -> MethodHandler? { handlers[method] }

    func requiresAuthentication(_ method: String) -> Bool { !unauthenticatedMethods.contains(method) }

    /// Undecodable body → INVALID_ARGUMENT (docs/protocol.md#52-request).
    public static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, _ body: Data) throws(RPCError) -> M {
        try decode(type, body) { try M(serializedBytes: $0) }
    }

    /// The same, with a decoder of the message's own (one that decodes as swift-protobuf does).
    public static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, _ body: Data, using decoder: (Data) throws -> M) throws(RPCError) -> M {
        try read(M.protoMessageName, body, using: decoder)
    }

    /// A reading of the body of the caller's own, into whatever it reads `message` into; its
    /// failure is the same undecodable-body error.
    public static func read<T>(_ message: String, _ body: Data, using reader: (Data) throws -> T) throws(RPCError) -> T {
        do {
            return try reader(body)
        } catch let error as FieldError {
            // A reader that names its own failure (a digest that cannot be encoded) answers it.
            throw RPCError(error)
        } catch {
            throw RPCError(.undecodableBody, "request body does not decode as \(message): \(error)", metadata: ["field": "body"])
        }
    }
}

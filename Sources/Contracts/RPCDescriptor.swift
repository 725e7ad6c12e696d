import SwiftProtobuf

/// One RPC of Keel's contracts: its KWP/1 method path and its request and response types.
public struct RPCDescriptor: Sendable {
    /// `keel.planner.v1.Planner`
    public let service: String
    /// `Plan`
    public let method: String
    /// `/keel.planner.v1.Planner/Plan`
    public let path: String
    public let requestType: any SwiftProtobuf.Message.Type
    public let responseType: any SwiftProtobuf.Message.Type
    public let isServerStreaming: Bool

    public init(
        service: String, method: String, requestType: any SwiftProtobuf.Message.Type,
        responseType: any SwiftProtobuf.Message.Type, isServerStreaming: Bool
    ) {
        self.service = service
        self.method = method
        self.path = "/\(service)/\(method)"
        self.requestType = requestType
        self.responseType = responseType
        self.isServerStreaming = isServerStreaming
    }
}

extension KeelRPC {
    private static let byPath: [String: RPCDescriptor] = Dictionary(uniqueKeysWithValues: all.map { ($0.path, $0) })

    /// The descriptor of a method path, or nil when Keel has no such RPC.
    public static func descriptor(forPath path: String) -> RPCDescriptor? { byPath[path] }
}

import ArgumentParser
import Contracts
import Foundation
import KeelWire
import NIOCore
import SwiftProtobuf

/// The `keel` CLI: calls any Keel RPC with a JSON body (protobuf JSON mapping) and prints JSON.
@main
struct Keel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel",
        abstract: "Use Keel's services over KWP/1: any RPC with a JSON body, and the everyday commands.",
        discussion: "Every command prints a non-OK status as {code, message, reason, metadata} on stderr and exits 1.",
        subcommands: [Call.self, PlanCommand.self, ExecuteCommand.self, OrdersCommand.self, PositionsCommand.self, CapitalCommand.self,
                      ScheduleCommand.self, RiskCommand.self, ExitCommand.self, WatchCommand.self, Health.self, Methods.self, Errors.self])
}

struct Connection: ParsableArguments {
    @Option(help: "Bearer token (env KEEL_TOKEN).")
    var token: String?

    @Option(name: .customLong("timeout-ms"), help: "Deadline of the call in milliseconds.")
    var timeoutMs: Int = 30_000

    @Option(name: .customLong("metadata"), help: "Extra metadata key=value (repeatable), e.g. idempotency-key=abc or x-allow-live=true.")
    var metadata: [String] = []

    func client(_ target: String) throws -> KWPClient {
        try KWPClient(target: target, configuration: .init(
            token: token ?? ProcessInfo.processInfo.environment["KEEL_TOKEN"], peerName: "keel-cli", maxFrameBytes: 64 * 1024 * 1024))
    }

    func metadataMap() throws -> [String: String] {
        var map: [String: String] = [:]
        for item in metadata {
            guard let eq = item.firstIndex(of: "=") else { throw ValidationError("--metadata \(item) is not key=value") }
            map[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return map
    }
}

/// A non-OK status: printed as JSON on stderr with its name, reason and field; exit code 1.
struct CallFailed: Error, CustomStringConvertible {
    let error: RPCError
    var description: String {
        let object: [String: Any] = ["code": error.code.name, "message": error.message, "reason": error.reason, "metadata": error.metadata]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call one RPC: keel call <host:port> <Service/Method or /pkg.Service/Method> [--json FILE|-].",
        discussion: "The body is the request message in the protobuf JSON mapping ('{}' when omitted); answers print one JSON document per message.")

    @Argument(help: "host:port of the service.")
    var target: String

    @Argument(help: "Planner/Plan, Gateway/Execute, Health/Check … or a full /keel.x.v1.Service/Method path (see `keel methods`).")
    var method: String

    @Option(help: "JSON request body: a file path, or - for standard input.")
    var json: String?

    @OptionGroup var connection: Connection

    func run() async throws {
        guard let rpc = Methods.resolve(method) else {
            throw ValidationError("unknown method \(method); `keel methods` lists them")
        }
        let text: Data
        switch json {
        case nil: text = Data("{}".utf8)
        case "-": text = FileHandle.standardInput.readDataToEndOfFile()
        case let path?:
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("--json \(path): cannot read the file") }
            text = data
        }
        let request: any SwiftProtobuf.Message
        do {
            request = try rpc.requestType.init(jsonUTF8Data: text)
        } catch {
            throw ValidationError("the body is not a \(rpc.requestType.protoMessageName) in JSON: \(error)")
        }
        let client = try connection.client(target)
        defer { Task { await client.close() } }
        let metadata = try connection.metadataMap()
        let timeout = TimeAmount.milliseconds(Int64(connection.timeoutMs))
        do {
            if rpc.isServerStreaming {
                let stream = client.serverStreamBytes(rpc.path, body: try request.serializedData(), metadata: metadata, timeout: timeout)
                do {
                    for try await message in stream { try print(Self.json(message, as: rpc.responseType)) }
                } catch let error as RPCError {
                    throw CallFailed(error: error)
                }
            } else {
                let reply = try await client.unaryBytes(rpc.path, body: try request.serializedData(), metadata: metadata, timeout: timeout)
                try print(Self.json(reply, as: rpc.responseType))
            }
        } catch let error as RPCError {
            throw CallFailed(error: error)
        }
    }

    static func json(_ bytes: Data, as type: any SwiftProtobuf.Message.Type) throws -> String {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        return try type.init(serializedBytes: bytes).jsonString(options: options)
    }
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "keel.health.v1.Health/Check of a service; exit 0 only when SERVING.")

    @Argument(help: "host:port of the service.")
    var target: String

    @Option(help: "Service name; empty = the whole process.")
    var service: String = ""

    @OptionGroup var connection: Connection

    func run() async throws {
        let client = try connection.client(target)
        defer { Task { await client.close() } }
        do {
            let response = try await client.unary(
                KeelRPC.healthCheck, Keel_Health_V1_HealthCheckRequest.with { $0.service = service },
                as: Keel_Health_V1_HealthCheckResponse.self, timeout: .milliseconds(Int64(connection.timeoutMs)))
            print(#"{"status":"\#(response.status)"}"#)
            if response.status != .serving { throw ExitCode(2) }
        } catch let error as RPCError {
            throw CallFailed(error: error)
        }
    }
}

struct Errors: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every error reason with its status, the field it names and what it means.",
        discussion: "--markdown writes docs/errors.md.")

    @Flag(help: "The reference as Markdown (docs/errors.md).")
    var markdown = false

    func run() {
        if markdown {
            print(ErrorReason.reference(), terminator: "")
            return
        }
        for reason in ErrorReason.all {
            print("\(reason.name)\t\(reason.status.name)\t\(reason.field.isEmpty ? "-" : reason.field)\t\(reason.meaning)")
        }
    }
}

struct Methods: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every RPC with its request and response types.")

    func run() {
        for rpc in KeelRPC.all {
            print("\(rpc.path)\t\(rpc.requestType.protoMessageName) → \(rpc.isServerStreaming ? "stream " : "")\(rpc.responseType.protoMessageName)")
        }
    }

    /// `Planner/Plan`, `keel.planner.v1.Planner/Plan` or `/keel.planner.v1.Planner/Plan`.
    static func resolve(_ name: String) -> RPCDescriptor? {
        let trimmed = name.hasPrefix("/") ? String(name.dropFirst()) : name
        return KeelRPC.all.first { rpc in
            let short = rpc.service.split(separator: ".").last.map(String.init) ?? rpc.service
            return "\(rpc.service)/\(rpc.method)" == trimmed || "\(short)/\(rpc.method)" == trimmed
        }
    }
}

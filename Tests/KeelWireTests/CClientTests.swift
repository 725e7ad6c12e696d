import CKeelClient
import Contracts
import Foundation
import KeelWire
import NIOPosix
import Testing

/// The C client (protobuf-c) against the Swift server (swift-protobuf): the same protocol from two
/// implementations. The C calls block, so they run on NIO's thread pool, not the test's task.
@Suite struct CClientTests {
    struct CResult: Sendable {
        var code: Int32
        var message: String
        var reason: String
        var field: String
        var body: [UInt8]
    }

    static func connect(port: Int, token: String? = nil) async throws -> OpaquePointer {
        let pointer = try await NIOThreadPool.singleton.runIfActive { () -> Int in
            var error = [CChar](repeating: 0, count: 256)
            let client: OpaquePointer? = token.withOptionalCString { token in
                keel_client_connect("127.0.0.1", UInt16(port), "c-test", token, 5_000, &error, error.count)
            }
            guard let client else {
                throw CClientError(message: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            return Int(bitPattern: UnsafeRawPointer(client))
        }
        return OpaquePointer(bitPattern: pointer)!
    }

    static func call(_ client: OpaquePointer, method: String, body: [UInt8], timeoutMs: UInt32 = 5_000) async throws -> CResult {
        let address = Int(bitPattern: UnsafeRawPointer(client))
        return try await NIOThreadPool.singleton.runIfActive {
            let client = OpaquePointer(bitPattern: address)!
            var result = keel_call_result()
            let rc = body.withUnsafeBufferPointer { bytes in
                keel_client_call(client, method, nil, 0, bytes.baseAddress, bytes.count, timeoutMs, &result)
            }
            defer { keel_call_result_free(&result) }
            guard rc == 0 else { throw CClientError(message: "keel_client_call returned \(rc)") }
            return CResult(
                code: result.status_code, message: String(cString: result.status_message),
                reason: String(cString: result.reason), field: String(cString: result.field),
                body: result.body.map { Array(UnsafeBufferPointer(start: $0, count: result.body_len)) } ?? [])
        }
    }

    static func close(_ client: OpaquePointer) async throws {
        let address = Int(bitPattern: UnsafeRawPointer(client))
        try await NIOThreadPool.singleton.runIfActive { keel_client_close(OpaquePointer(bitPattern: address)!) }
    }

    @Test func cClientChecksHealthWithProtobufCMessages() async throws {
        let health = HealthService(services: ["keel.planner.v1.Planner"])
        health.setAll(.serving)
        try await withServer(health: health) { _, port in
            let client = try await Self.connect(port: port)
            let address = Int(bitPattern: UnsafeRawPointer(client))
            let (code, status) = try await NIOThreadPool.singleton.runIfActive { () -> (Int32, Int32) in
                var result = keel_call_result()
                var status: Int32 = -1
                let rc = keel_health_check(OpaquePointer(bitPattern: address)!, "keel.planner.v1.Planner", 5_000, &status, &result)
                defer { keel_call_result_free(&result) }
                return (rc == 0 ? result.status_code : -1, status)
            }
            #expect(code == 0)
            #expect(status == Int32(ServingStatus.serving.rawValue))
            #expect(keel_client_server_max_frame_bytes(client) == KWP.defaultMaxFrameBytes)
            try await Self.close(client)
        }
    }

    @Test func cClientUnaryCallIsDecodedBySwiftAndBack() async throws {
        try await withServer { _, port in
            let client = try await Self.connect(port: port)
            for n in [UInt64(0), 1, 300, UInt64.max / 4] {
                let result = try await Self.call(client, method: TestMethod.echo, body: try Ping.with { $0.nonce = n }.serializedBytes())
                #expect(result.code == 0, "\(result.message)")
                #expect(try Pong(serializedBytes: result.body).nonce == n &* 2 &+ 1)
            }
            try await Self.close(client)
        }
    }

    @Test func cClientSeesStatusesReasonsAndFields() async throws {
        try await withServer { _, port in
            let client = try await Self.connect(port: port)
            let unknown = try await Self.call(client, method: "/keel.nope.v1.Nope/Nope", body: [])
            #expect(unknown.code == StatusCode.unimplemented.rawValue)
            #expect(unknown.reason == "E_UNKNOWN_METHOD")
            let failed = try await Self.call(client, method: TestMethod.fail, body: [])
            #expect(failed.code == StatusCode.failedPrecondition.rawValue)
            #expect(failed.reason == "E_TEST")
            #expect(failed.field == "positions[3].mark")
            let badBody = try await Self.call(client, method: TestMethod.echo, body: [0x0A, 0xFF, 0x01])
            #expect(badBody.code == StatusCode.invalidArgument.rawValue)
            // The connection is still usable after error statuses.
            let ok = try await Self.call(client, method: TestMethod.echo, body: [])
            #expect(ok.code == 0)
            try await Self.close(client)
        }
    }

    @Test func cClientTimesOut() async throws {
        let probe = Probe()
        try await withServer(probe: probe) { _, port in
            let client = try await Self.connect(port: port)
            let result = try await Self.call(client, method: TestMethod.awaitCancel, body: [], timeoutMs: 150)
            #expect(result.code == StatusCode.deadlineExceeded.rawValue)
            try await probe.cancelled.wait(timeout: .seconds(5), "the handler to be cancelled")
            try await Self.close(client)
        }
    }

    @Test func cClientSendsTheToken() async throws {
        try await withServer(.init(token: "t0k")) { _, port in
            let anonymous = try await Self.connect(port: port)
            let refused = try await Self.call(anonymous, method: TestMethod.echo, body: [])
            #expect(refused.code == StatusCode.unauthenticated.rawValue)
            try await Self.close(anonymous)
            let authorized = try await Self.connect(port: port, token: "t0k")
            let ok = try await Self.call(authorized, method: TestMethod.echo, body: [])
            #expect(ok.code == 0)
            try await Self.close(authorized)
        }
    }
}

struct CClientError: Error { let message: String }

extension Optional where Wrapped == String {
    func withOptionalCString<R>(_ body: (UnsafePointer<CChar>?) throws -> R) rethrows -> R {
        switch self {
        case .some(let text): try text.withCString { try body($0) }
        case .none: try body(nil)
        }
    }
}

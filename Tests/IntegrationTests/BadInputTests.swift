import Contracts
import Foundation
import KeelTestSupport
import KeelWire
import SwiftProtobuf
import Testing

/// Bad input, the short version in the suite: over a thousand generated malformed requests against the
/// three real services (no or wrong token, bodies that are not protobuf, unknown methods, unparsable or
/// non-finite decimals, unknown enums, out-of-range numbers, empty or invalid ids, huge repeated fields,
/// unknown-field nesting), plus malformed frames on raw connections. Every call gets a clear non-OK
/// status with a reason, every service stays up, and no store changes by a single byte.
@Suite struct BadInputTests {
    static let token = "bad-input-token"

    /// One generated call: which service, the method path, the body, its metadata, what it tries.
    struct BadCall {
        var service: String
        var method: String
        var body: Data
        var metadata: [String: String] = [:]
        var authenticated = true
        var streaming = false
        var label: String
    }

    static let badDecimals = [
        "NaN", "nan", "Infinity", "-Infinity", "inf", "1e3", "1E-2", "+1", " 1", "1 ", "1,5", "0x1F", "١٢", "--1", "1..2", ".", "-",
        "１", "1/3", "∞", "1_000", "0.1.2", "\u{0}", String(repeating: "9", count: 400), "1" + String(repeating: "0", count: 70) + ".5", "abc",
    ]
    static let badIDs = ["bad id", "tab\tid", String(repeating: "x", count: 65), "ünïcode", "semi;colon", "slash/id", "quote'id"]

    static func pick<T>(_ items: [T], _ g: inout SeededGenerator) -> T { items[Int.random(in: 0..<items.count, using: &g)] }

    static func encoded(_ message: some SwiftProtobuf.Message) -> Data { try! message.serializedData() }

    /// Bodies that are not valid protobuf, whatever the method.
    static func undecodable(_ g: inout SeededGenerator) -> Data {
        switch Int.random(in: 0..<5, using: &g) {
        case 0: return Data([0x0F] + (0..<Int.random(in: 0..<40, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) })  // wire type 7
        case 1: return Data([0x0A, 0x7F, 0x01, 0x02, 0x03])  // length beyond the body
        case 2: return Data([0x08] + [UInt8](repeating: 0xFF, count: 11))  // a varint that never ends
        case 3: return Data([0x0E, 0x01])  // wire type 6
        default: return Data([0x0B] + [UInt8](repeating: 0x0B, count: Int.random(in: 1...5000, using: &g)))  // unterminated groups, deep
        }
    }

    /// A request each method must refuse, with a bad value drawn at random.
    static func semantic(_ g: inout SeededGenerator) -> BadCall {
        let decimal = pick(badDecimals, &g)
        let id = pick(badIDs, &g)
        // Where an id is required, empty is bad too (elsewhere "" means a default: no token, account "default").
        let requiredID = pick(badIDs + [""], &g)
        switch Int.random(in: 0..<24, using: &g) {
        case 0:
            return BadCall(service: "keel-planner", method: KeelRPC.plannerPlan.path, body: encoded(Keel_Planner_V1_PlanRequest.with {
                $0.totalEquity = decimal; $0.worldAllocBefore = ["w": "1"]; $0.worldAllocAfter = ["w": "0.5"]
            }), label: "Plan total_equity \(decimal)")
        case 1:
            return BadCall(service: "keel-planner", method: KeelRPC.plannerPlan.path, body: encoded(Keel_Planner_V1_PlanRequest.with {
                $0.totalEquity = "1000"; $0.worldAllocBefore = ["w": "1"]; $0.worldAllocAfter = ["w": "0.5"]
                $0.positions = [.with { $0.worldID = "w"; $0.strategyID = "s"; $0.symbol = "BTC"; $0.qty = "1"; $0.mark = decimal }]
            }), label: "Plan mark \(decimal)")
        case 2:
            // A huge repeated field whose last row names a world without allocations.
            let rows = Int.random(in: 1_000...20_000, using: &g)
            return BadCall(service: "keel-planner", method: KeelRPC.plannerPlan.path, body: encoded(Keel_Planner_V1_PlanRequest.with {
                $0.totalEquity = "1000"; $0.worldAllocBefore = ["w": "1"]; $0.worldAllocAfter = ["w": "0.5"]
                $0.positions = (0..<rows).map { i in .with { $0.worldID = i == rows - 1 ? "ghost" : "w"; $0.strategyID = "s"; $0.symbol = "S\(i)"; $0.qty = "1"; $0.mark = "1" } }
            }), label: "Plan \(rows) positions, the last in an unknown world")
        case 3:
            return BadCall(service: "keel-planner", method: KeelRPC.plannerPlan.path, body: encoded(Keel_Planner_V1_PlanRequest.with {
                $0.totalEquity = "1000"; $0.mode = .UNRECOGNIZED(Int.random(in: 5...10_000, using: &g))
            }), label: "Plan unknown mode")
        case 4:
            return BadCall(service: "keel-planner", method: KeelRPC.plannerPlan.path, body: encoded(Keel_Planner_V1_PlanRequest.with {
                $0.totalEquity = "1000"; $0.worldAllocBefore = ["w": "-0.5"]; $0.worldAllocAfter = ["w": "0.5"]
            }), label: "Plan negative allocation")
        case 5:
            return BadCall(service: "keel-planner", method: KeelRPC.plannerGetPlan.path, body: encoded(Keel_Planner_V1_GetPlanRequest.with { $0.planID = id }), label: "GetPlan \(id)")
        case 6:
            return BadCall(service: "keel-gateway", method: KeelRPC.gatewayExecute.path, body: encoded(Keel_Gateway_V1_ExecuteRequest.with {
                $0.submit = true; $0.planRequest = .with { $0.totalEquity = decimal; $0.worldAllocBefore = ["w": "1"]; $0.worldAllocAfter = ["w": "0.5"] }
            }), metadata: ["x-allow-live": "true"], label: "Execute submit with total_equity \(decimal)")
        case 7:
            return BadCall(service: "keel-gateway", method: KeelRPC.gatewayExecute.path, body: encoded(Keel_Gateway_V1_ExecuteRequest.with {
                $0.submit = true; $0.accountID = id
                $0.planRequest = .with { $0.totalEquity = "1000"; $0.worldAllocBefore = ["growth": "1"]; $0.worldAllocAfter = ["growth": "0.5"] }
            }), metadata: ["x-allow-live": "true"], label: "Execute submit to unknown account \(id)")
        case 8:
            return BadCall(service: "keel-gateway", method: KeelRPC.gatewayExecute.path, body: encoded(Keel_Gateway_V1_ExecuteRequest.with {
                $0.submit = true; $0.planRequest = .with { $0.totalEquity = "1000" }
            }), label: "Execute submit without x-allow-live")
        case 9:
            return BadCall(service: "keel-gateway", method: KeelRPC.gatewayListOrders.path, body: encoded(Keel_Gateway_V1_ListOrdersRequest.with {
                $0.limit = UInt32.random(in: 1001...UInt32.max, using: &g)
            }), label: "ListOrders limit")
        case 10:
            return BadCall(service: "keel-gateway", method: KeelRPC.gatewayGetPositions.path, body: encoded(Keel_Gateway_V1_GetPositionsRequest.with { $0.accountID = id }), label: "GetPositions \(id)")
        case 11:
            return BadCall(service: "keel-gateway", method: KeelRPC.gatewayWatch.path, body: encoded(Keel_Gateway_V1_WatchRequest.with { $0.topics = [id] }),
                           streaming: true, label: "Watch topic \(id)")
        case 12:
            return BadCall(service: "keel-capital", method: KeelRPC.capitalUpsertAccount.path, body: encoded(Keel_Capital_V1_UpsertAccountRequest.with {
                $0.account = .with { $0.accountID = requiredID; $0.quoteCurrency = "USDT" }
            }), label: "UpsertAccount id \(requiredID)")
        case 13:
            return BadCall(service: "keel-capital", method: KeelRPC.capitalUpsertAccount.path, body: encoded(Keel_Capital_V1_UpsertAccountRequest.with {
                $0.account = .with { $0.accountID = "a-new"; $0.quoteCurrency = "USDT"; $0.currencyScale = UInt32.random(in: 19...UInt32.max, using: &g) }
            }), label: "UpsertAccount scale")
        case 14:
            return BadCall(service: "keel-capital", method: KeelRPC.capitalUpsertStrategyAccount.path, body: encoded(Keel_Capital_V1_UpsertStrategyAccountRequest.with {
                $0.strategyAccount = .with { $0.strategyAccountID = "s-new"; $0.accountID = "a1"; $0.strategyID = "x"; $0.weight = decimal }
            }), label: "UpsertStrategyAccount weight \(decimal)")
        case 15:
            return BadCall(service: "keel-capital", method: KeelRPC.capitalUpsertStrategyAccount.path, body: encoded(Keel_Capital_V1_UpsertStrategyAccountRequest.with {
                $0.strategyAccount = .with {
                    $0.strategyAccountID = "s-new"; $0.accountID = "a1"; $0.strategyID = "x"; $0.marketType = .UNRECOGNIZED(Int.random(in: 3...99, using: &g))
                }
            }), label: "UpsertStrategyAccount market type")
        case 16:
            let date = pick(["2026-02-30", "2026-13-01", "26-01-01", "2026/01/01", "", "yesterday", "2026-1-1", "0000-00-00"], &g)
            return BadCall(service: "keel-capital", method: KeelRPC.capitalRecordDailyBalance.path, body: encoded(Keel_Capital_V1_RecordDailyBalanceRequest.with {
                $0.balance = .with { $0.accountID = "a1"; $0.date = date; $0.endingBalance = "100" }
            }), label: "RecordDailyBalance date \(date)")
        case 17:
            return BadCall(service: "keel-capital", method: KeelRPC.capitalRecordTrade.path, body: encoded(Keel_Capital_V1_RecordTradeRequest.with {
                $0.strategyAccountID = "s1"; $0.executionID = "e-new"; $0.symbol = "BTC"; $0.side = .buy; $0.qty = decimal; $0.price = "1"
            }), label: "RecordTrade qty \(decimal)")
        case 18:
            return BadCall(service: "keel-capital", method: KeelRPC.capitalRecordTrade.path, body: encoded(Keel_Capital_V1_RecordTradeRequest.with {
                $0.strategyAccountID = "s1"; $0.executionID = "e-new"; $0.symbol = "BTC"; $0.side = .buy; $0.qty = pick(["0", "-1", "-0.001"], &g); $0.price = "1"
            }), label: "RecordTrade qty ≤ 0")
        case 19:
            return BadCall(service: "keel-capital", method: KeelRPC.capitalReallocate.path, body: encoded(Keel_Capital_V1_ReallocateRequest.with { $0.accountID = requiredID }),
                           label: "Reallocate \(requiredID)")
        case 20:
            return BadCall(service: "keel-capital", method: KeelRPC.capitalReallocate.path, body: encoded(Keel_Capital_V1_ReallocateRequest.with { $0.accountID = "a1" }),
                           metadata: ["idempotency-key": String(repeating: "k", count: Int.random(in: 129...2000, using: &g))], label: "Reallocate with a long key")
        case 21:
            return BadCall(service: "keel-capital", method: KeelRPC.capitalCalculateOrderQuantity.path, body: encoded(Keel_Capital_V1_CalculateOrderQuantityRequest.with {
                $0.strategyAccountID = "s1"; $0.qtyPer = decimal; $0.marketPrice = "100"; $0.symbolRules = .with { $0.stepSize = "0.001" }
            }), label: "CalculateOrderQuantity qty_per \(decimal)")
        case 22:
            return BadCall(service: "keel-capital", method: KeelRPC.capitalConverge.path, body: encoded(Keel_Capital_V1_ConvergeRequest.with {
                $0.runID = pick(["", "run_nope", id], &g); $0.mode = .plan
            }), label: "Converge unknown run")
        default:
            return BadCall(service: "keel-capital", method: KeelRPC.capitalListRebalanceRuns.path, body: encoded(Keel_Capital_V1_ListRebalanceRunsRequest.with {
                $0.pageToken = id
            }), label: "ListRebalanceRuns token \(id)")
        }
    }

    static func generate(count: Int, seed: UInt64) -> [BadCall] {
        var g = SeededGenerator(seed: seed)
        let services = ["keel-planner": "keel.planner.v1", "keel-gateway": "keel.gateway.v1", "keel-capital": "keel.capital.v1"]
        let rpcs = KeelRPC.all.filter { $0.path != KeelRPC.healthCheck.path }
        func serviceOf(_ rpc: RPCDescriptor) -> String { services.first { rpc.service.hasPrefix($0.value) }!.key }
        var calls: [BadCall] = []
        while calls.count < count {
            switch Int.random(in: 0..<11, using: &g) {
            case 0:
                let rpc = pick(rpcs, &g)
                calls.append(BadCall(service: serviceOf(rpc), method: rpc.path, body: Data(), authenticated: false, streaming: rpc.isServerStreaming, label: "\(rpc.method) without a token"))
            case 1:
                let rpc = pick(rpcs, &g)
                calls.append(BadCall(service: serviceOf(rpc), method: rpc.path, body: Data(), metadata: ["authorization": "Bearer wrong-\(UInt16.random(in: 0...9999, using: &g))"],
                                     authenticated: false, streaming: rpc.isServerStreaming, label: "\(rpc.method) with a wrong token"))
            case 2, 3:
                let rpc = pick(rpcs, &g)
                calls.append(BadCall(service: serviceOf(rpc), method: rpc.path, body: undecodable(&g), streaming: rpc.isServerStreaming, label: "\(rpc.method) undecodable body"))
            case 9:
                // A known field with the wrong wire type (a varint where a string or message belongs).
                let rpc = pick(Self.stringFirst, &g)
                calls.append(BadCall(service: serviceOf(rpc), method: rpc.path, body: Data([0x08, UInt8.random(in: 0...127, using: &g)]), label: "\(rpc.method) field 1 as a varint"))
            case 4:
                let service = pick(Array(services.keys).sorted(), &g)
                calls.append(BadCall(service: service, method: "/\(services[service]!).Nope/\(pick(["Plan", "Drop", "", "../etc"], &g))", body: Data(), label: "unknown method"))
            default:
                calls.append(semantic(&g))
            }
        }
        return calls
    }

    /// Methods whose field 1 is a string or a message, and whose empty request is refused.
    static let stringFirst = [
        KeelRPC.capitalUpsertAccount, KeelRPC.capitalUpsertStrategyAccount, KeelRPC.capitalRecordDailyBalance, KeelRPC.capitalRecordTrade,
        KeelRPC.capitalReallocate, KeelRPC.capitalConverge, KeelRPC.capitalCalculateOrderQuantity, KeelRPC.capitalApplyRealizedPnl,
        KeelRPC.capitalGetAccount, KeelRPC.capitalRebalanceStatus, KeelRPC.plannerGetPlan,
    ]

    static let clearCodes: Set<StatusCode> = [.invalidArgument, .notFound, .failedPrecondition, .unauthenticated, .outOfRange, .alreadyExists, .permissionDenied, .unimplemented]

    @Test func overAThousandMalformedRequestsGetClearStatusesAndWriteNothing() async throws {
        let cluster = Cluster(token: Self.token)
        try await withStarted({ cluster }, stop: { await $0.stopAll() }) { cluster in
            try await cluster.startAll()
            let capital = cluster.client("keel-capital")
            let _: Keel_Capital_V1_Account = try await capital.unary(KeelRPC.capitalUpsertAccount, Keel_Capital_V1_UpsertAccountRequest.with {
                $0.account = .with { $0.accountID = "a1"; $0.quoteCurrency = "USDT"; $0.gatewayAccountID = "default" }
            })
            let _: Keel_Capital_V1_StrategyAccount = try await capital.unary(KeelRPC.capitalUpsertStrategyAccount, Keel_Capital_V1_UpsertStrategyAccountRequest.with {
                $0.strategyAccount = .with { $0.strategyAccountID = "s1"; $0.accountID = "a1"; $0.strategyID = "alpha" }
            })
            let names = ["keel-planner", "keel-gateway", "keel-capital"]
            let before = try names.map(cluster.storeContents)
            var clients: [String: KWPClient] = [:]
            var anonymous: [String: KWPClient] = [:]
            for name in names {
                clients[name] = cluster.client(name)
                anonymous[name] = cluster.client(name, authenticated: false)
            }

            let calls = Self.generate(count: 1_100, seed: 9)
            var unclear: [String] = []
            var byCode: [StatusCode: Int] = [:]
            for call in calls {
                let client = call.authenticated ? clients[call.service]! : anonymous[call.service]!
                do {
                    if call.streaming {
                        for try await _ in client.serverStreamBytes(call.method, body: call.body, metadata: call.metadata, timeout: .seconds(10)) {
                            unclear.append("\(call.label): answered a message")
                            break
                        }
                        unclear.append("\(call.label): the stream ended OK")
                    } else {
                        _ = try await client.unaryBytes(call.method, body: call.body, metadata: call.metadata, timeout: .seconds(10))
                        unclear.append("\(call.label): answered OK")
                    }
                } catch let error as RPCError {
                    byCode[error.code, default: 0] += 1
                    if !Self.clearCodes.contains(error.code) || (error.code != .unimplemented && error.code != .unauthenticated && error.reason.isEmpty) {
                        unclear.append("\(call.label): \(error)")
                    }
                } catch {
                    unclear.append("\(call.label): \(error)")
                }
            }
            #expect(unclear.isEmpty, "\(unclear.count) calls without a clear status:\n\(unclear.prefix(20).joined(separator: "\n"))")
            #expect(byCode.values.reduce(0, +) == calls.count)
            #expect(byCode[.unauthenticated, default: 0] > 50 && byCode[.invalidArgument, default: 0] > 300, "\(byCode)")

            // Malformed frames on raw connections: the server answers with GoAway and closes.
            for name in names {
                for frame in RawFrames.malformed {
                    #expect(await RawFrames.serverCloses(port: cluster.ports[name]!, sending: frame), "\(name) kept a connection open after \(frame.count) bad bytes")
                }
                // Half a frame and a hang-up: nothing to answer, the server just forgets it.
                await RawFrames.sendAndHangUp(port: cluster.ports[name]!, RawFrames.hello + [0, 0, 1, 0, 0x0A])
            }

            for name in names {
                let health = try await clients[name]!.unary(KeelRPC.healthCheck, Keel_Health_V1_HealthCheckRequest(), as: Keel_Health_V1_HealthCheckResponse.self)
                #expect(health.status == .serving, "\(name) after the bad input")
                #expect(cluster.processes[name]!.isRunning)
                await clients[name]!.close()
                await anonymous[name]!.close()
            }
            let after = try names.map(cluster.storeContents)
            for (i, name) in names.enumerated() {
                #expect(before[i] == after[i], "\(name)'s store changed")
            }
            await capital.close()
        }
    }
}

/// KWP/1 bytes written by hand on a plain socket (the client library never sends these).
enum RawFrames {
    static func frame(_ message: Keel_Wire_V1_Frame) -> [UInt8] {
        let body: [UInt8] = try! message.serializedBytes()
        let n = UInt32(body.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + body
    }

    static let hello = frame(.with { $0.hello = .with { $0.protocol = "kwp/1"; $0.maxFrameBytes = 4 << 20; $0.peer = "raw" } })
    static let request = frame(.with { $0.callID = 1; $0.request = .with { $0.method = "/keel.health.v1.Health/Check" } })

    /// Each makes the server send GoAway and close.
    static let malformed: [[UInt8]] = [
        request,                                                    // a Request before Hello
        [0, 0, 0, 0],                                               // a zero-length frame
        [0xFF, 0xFF, 0xFF, 0xFF],                                   // longer than any limit
        hello + [0, 0, 0, 3, 0xFF, 0xFF, 0xFF],                     // not a Frame
        hello + hello,                                              // a second Hello
        frame(.with { $0.hello = .with { $0.protocol = "kwp/9" } }),  // another protocol
        hello + frame(.with { $0.callID = 0; $0.request = .with { $0.method = "/x/y" } }),  // a call on call_id 0
        hello + [0, 0, 0, 0] + request + request,                  // frames after the GoAway
    ]

    /// Sends `bytes` and answers whether the server closes the connection within 5 s.
    static func serverCloses(port: Int, sending bytes: [UInt8]) async -> Bool {
        await onDispatchThread {
            guard let fd = LoopbackSocket.connect(port: port) else { return false }
            defer { close(fd) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n == 0 { return true }  // closed by the server
                if n < 0 { return errno == ECONNRESET }  // a reset also ends it; a timeout does not
            }
        }
    }

    static func sendAndHangUp(port: Int, _ bytes: [UInt8]) async {
        await onDispatchThread {
            guard let fd = LoopbackSocket.connect(port: port) else { return }
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(fd)
        }
    }

    /// Blocking socket work, off the test's cooperative threads.
    static func onDispatchThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: body()) }
        }
    }
}

import Contracts
import Foundation
import KeelWire
import PlannerService
import Planning
import SwiftProtobuf

// planner-bench pure|decode|read|phases|digest|rpc <positions> [repeats]: plans a seeded portfolio (10 worlds,
// 50 strategies, 500 symbols, 3 venues) through the pure Planning module (pure) or the Plan RPC of
// an in-process keel-planner (rpc), or times Plan's decoding of it (decode) or its request digest
// (digest), and prints one JSON line: median, min and max wall time of the repeats, the
// baseline measured in the same run, and the process's peak RSS.

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func portfolio(positions count: Int, seed: UInt64 = 42) -> Keel_Planner_V1_PlanRequest {
    var g = SplitMix(state: seed)
    var request = Keel_Planner_V1_PlanRequest()
    request.totalEquity = "100000000"
    let venues = ["binance", "okx", "bybit"]
    for w in 0..<10 {
        request.worldAllocBefore["w\(w)"] = "0.1"
        request.worldAllocAfter["w\(w)"] = "0." + (5 + w < 10 ? "0" : "") + String(5 + w)
    }
    var positions: [Keel_Planner_V1_Position] = []
    positions.reserveCapacity(count)
    for _ in 0..<count {
        let w = Int.random(in: 0..<10, using: &g)
        let s = Int.random(in: 0..<5, using: &g)
        let symbol = Int.random(in: 0..<500, using: &g)
        let qty = Int.random(in: -100_000...100_000, using: &g)
        let mark = Int.random(in: 1...10_000_000, using: &g)
        positions.append(.with {
            $0.worldID = "w\(w)"
            $0.strategyID = "w\(w)-s\(s)"
            $0.symbol = "SYM\(symbol)"
            $0.venue = venues[symbol % 3]
            $0.qty = fixedPoint(qty, decimals: 3)
            $0.mark = fixedPoint(mark, decimals: 2)
        })
    }
    request.positions = positions
    for symbol in 0..<500 { request.lotSizeBySymbol["SYM\(symbol)"] = "0.001" }
    return request
}

/// `value / 10^decimals` as a plain decimal string (native Swift strings, as protobuf decoding makes them).
func fixedPoint(_ value: Int, decimals: Int) -> String {
    let digits = String(value.magnitude)
    let padded = String(repeating: "0", count: max(0, decimals + 1 - digits.count)) + digits
    let cut = padded.index(padded.endIndex, offsetBy: -decimals)
    return (value < 0 ? "-" : "") + padded[..<cut] + "." + padded[cut...]
}

func peakRSSKiB() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }
    return 0
}

func summary(_ samples: [Double]) -> String {
    let sorted = samples.sorted()
    return #""median_ms":\#(String(format: "%.2f", sorted[sorted.count / 2])),"min_ms":\#(String(format: "%.2f", sorted.first!)),"max_ms":\#(String(format: "%.2f", sorted.last!))"#
}

func time(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000
}

func timeAsync(_ body: () async throws -> Void) async rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try await body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000
}

// usage: planner-bench pure|decode|read|phases|digest|rpc <positions> [repeats]
let arguments = CommandLine.arguments
let mode = arguments.count > 1 ? arguments[1] : "pure"
let count = arguments.count > 2 ? Int(arguments[2])! : 100_000
let repeats = arguments.count > 3 ? Int(arguments[3])! : 5

switch mode {
case "pure":
    // The request as the planner receives it: decoded from its encoding. (Built in memory, its
    // interpolated strings are heap strings; decoded ones of up to 15 bytes are stored inline, so
    // reading them costs no reference counting.)
    let request = try Keel_Planner_V1_PlanRequest(serializedBytes: try portfolio(positions: count).serializedBytes() as [UInt8])
    // Baseline: validation alone (parsing every decimal of the request), in the same run.
    var baseline: [Double] = []
    var planning: [Double] = []
    var deltas = 0
    for _ in 0..<repeats {
        baseline.append(try time { _ = try PlanRequestValidation.validate(request) })
        planning.append(try time {
            let plan = try PlanComputation.plan(request)
            deltas = plan.perWorld.reduce(0) { $0 + $1.deltas.count }
        })
    }
    print(#"{"benchmark":"planning.pure","positions":\#(count),"repeats":\#(repeats),\#(summary(planning)),"baseline":"validation only",\#(summary(baseline).replacingOccurrences(of: "\"m", with: "\"baseline_m")),"deltas":\#(deltas),"peak_rss_kib":\#(peakRSSKiB())}"#)
case "decode":
    // Plan's decoding of a request (positions read directly); baseline: swift-protobuf's decoder.
    let body: Data = try portfolio(positions: count).serializedBytes()
    var baseline: [Double] = []
    var decodes: [Double] = []
    var same = true
    for _ in 0..<repeats {
        var generic = Keel_Planner_V1_PlanRequest()
        var direct = Keel_Planner_V1_PlanRequest()
        baseline.append(try time { generic = try Keel_Planner_V1_PlanRequest(serializedBytes: body) })
        decodes.append(try time { direct = try Keel_Planner_V1_PlanRequest(decodingPositionsDirectly: body) })
        same = same && generic == direct
        if let i = generic.positions.indices.first(where: { generic.positions[$0] != direct.positions[$0] }) {
            FileHandle.standardError.write(Data("DIFF \(i): [\(generic.positions[i].worldID)|\(generic.positions[i].strategyID)|\(generic.positions[i].symbol)|\(generic.positions[i].qty)|\(generic.positions[i].mark)|\(generic.positions[i].venue)] vs [\(direct.positions[i].worldID)|\(direct.positions[i].strategyID)|\(direct.positions[i].symbol)|\(direct.positions[i].qty)|\(direct.positions[i].mark)|\(direct.positions[i].venue)]\n".utf8))
        }
    }
    print(#"{"benchmark":"planning.decode","positions":\#(count),"request_bytes":\#(body.count),"repeats":\#(repeats),\#(summary(decodes)),"baseline":"swift-protobuf decoding",\#(summary(baseline).replacingOccurrences(of: "\"m", with: "\"baseline_m")),"equal":\#(same),"peak_rss_kib":\#(peakRSSKiB())}"#)
case "read":
    // The Plan RPC's one pass over a request (positions booked, decimals parsed once, the digest
    // written); baseline: swift-protobuf's decoding of the same bytes, which does none of that.
    let body: Data = try portfolio(positions: count).serializedBytes()
    var baseline: [Double] = []
    var reads: [Double] = []
    var booked = 0
    for _ in 0..<repeats {
        baseline.append(try time { _ = try Keel_Planner_V1_PlanRequest(serializedBytes: body) })
        reads.append(try time { booked = try PlanRequestRead(body).positions.count })
    }
    print(#"{"benchmark":"planning.read","positions":\#(count),"request_bytes":\#(body.count),"repeats":\#(repeats),\#(summary(reads)),"baseline":"swift-protobuf decoding",\#(summary(baseline).replacingOccurrences(of: "\"m", with: "\"baseline_m")),"booked":\#(booked),"peak_rss_kib":\#(peakRSSKiB())}"#)
case "phases":
    // The Plan RPC's steps one after another in this process, as its handler runs them: the read
    // (positions booked, digest written), the plan, the plan's encoding with its events, and the
    // store's one transaction (fsynced, checkpoints beside it as in the service). The transport is
    // what `rpc` measures against its echo baseline.
    let body: Data = try portfolio(positions: count).serializedBytes()
    let directory = NSTemporaryDirectory() + "keel-planner-phases-\(UUID().uuidString)"
    let store = try PlannerStore(path: directory + "/keel-planner.sqlite")
    let checkpoints = Task { await store.checkpoints.run { _ in } }
    var deterministic = BinaryEncodingOptions()
    deterministic.useDeterministicOrdering = true
    var phases: [String: [Double]] = [:]
    for _ in 0..<repeats {
        var read: PlanRequestRead!
        phases["read", default: []].append(try time { read = try PlanRequestRead(body) })
        var plan = PlanMessage()
        phases["plan", default: []].append(try time { plan = try PlanComputation.plan(read.request, positions: read.positions) })
        plan.planID = "pln_" + UUID().uuidString
        var planBytes = Data()
        var events: [Keel_Planner_V1_PlannerEvent] = []
        phases["encode", default: []].append(try time {
            planBytes = try plan.serializedBytes(options: deterministic)
            events = PlannerService.events(of: plan)
        })
        let stored = PlannerStore.StoredPlan(planID: plan.planID, createdAtMs: 0, requestDigest: read.digest!, idempotencyKey: nil, requestBytes: body, planBytes: planBytes)
        phases["store", default: []].append(try await timeAsync { _ = try await store.insert(stored, events: events) })
    }
    checkpoints.cancel()
    await checkpoints.value
    try? FileManager.default.removeItem(atPath: directory)
    let fields = ["read", "plan", "encode", "store"].map { #""\#($0)":{\#(summary(phases[$0]!))}"# }.joined(separator: ",")
    print(#"{"benchmark":"planning.phases","positions":\#(count),"request_bytes":\#(body.count),"repeats":\#(repeats),\#(fields),"peak_rss_kib":\#(peakRSSKiB())}"#)
case "digest":
    // The request digest of a stored Plan, of the request as the planner decodes it;
    // baseline: SHA-256 alone of the request's own encoding, the same number of bytes.
    let body: [UInt8] = try portfolio(positions: count).serializedBytes()
    let request = try Keel_Planner_V1_PlanRequest(serializedBytes: body)
    var baseline: [Double] = []
    var digests: [Double] = []
    var digest = ""
    for _ in 0..<repeats {
        baseline.append(time { _ = SHA256.hash(body) })
        digests.append(try time { digest = try PlanRequestDigest.digest(request) })
    }
    // The Plan RPC's reading of the same bytes must come to the same digest (release builds too).
    let readDigest = try PlanRequestRead(Data(body)).digest ?? ""
    print(#"{"benchmark":"planning.digest","positions":\#(count),"request_bytes":\#(body.count),"repeats":\#(repeats),\#(summary(digests)),"baseline":"SHA-256 of the request bytes",\#(summary(baseline).replacingOccurrences(of: "\"m", with: "\"baseline_m")),"digest":"\#(digest)","read_equal":\#(readDigest == digest),"peak_rss_kib":\#(peakRSSKiB())}"#)
case "rpc":
    let request = portfolio(positions: count)
    // The Plan RPC end to end (encode, send, decode, validate, plan, store, answer) against an
    // in-process keel-planner on loopback; baseline: the same request bytes echoed by a KWP/1
    // handler that answers an empty message, on the same client.
    let directory = NSTemporaryDirectory() + "keel-planner-bench-\(UUID().uuidString)"
    let planner = try await PlannerServer.start(.init(endpoint: .init(port: 0), dataDirectory: directory))
    var router = RPCRouter()
    router.unaryBytes(KeelRPC.healthCheck) { _, _ in [] }
    let echo = KWPServer(configuration: .init(maxFrameBytes: 64 * 1024 * 1024), router: router)
    let echoAddress = try await echo.start()
    let client = KWPClient(host: "127.0.0.1", port: planner.address.port!, configuration: .init(maxFrameBytes: 64 * 1024 * 1024))
    let echoClient = KWPClient(host: "127.0.0.1", port: echoAddress.port!, configuration: .init(maxFrameBytes: 64 * 1024 * 1024))
    let body: Data = try request.serializedBytes()
    var rpc: [Double] = []
    var encoded: [Double] = []
    var baseline: [Double] = []
    _ = try await client.unary(KeelRPC.plannerPlan, request, as: Keel_Planner_V1_PlanResponse.self, timeout: .seconds(60))
    _ = try await echoClient.unaryBytes(KeelRPC.healthCheck.path, body: body, timeout: .seconds(60))
    for _ in 0..<repeats {
        baseline.append(try await timeAsync { _ = try await echoClient.unaryBytes(KeelRPC.healthCheck.path, body: body, timeout: .seconds(60)) })
        // The request as bytes, as the baseline sends them: what the caller's encoding costs is
        // measured apart (with_client_encoding).
        rpc.append(try await timeAsync {
            _ = try Keel_Planner_V1_PlanResponse(serializedBytes: try await client.unaryBytes(KeelRPC.plannerPlan.path, body: body, timeout: .seconds(60)))
        })
        encoded.append(try await timeAsync { _ = try await client.unary(KeelRPC.plannerPlan, request, as: Keel_Planner_V1_PlanResponse.self, timeout: .seconds(60)) })
    }
    await client.close()
    await echoClient.close()
    await planner.stop()
    await echo.shutdown()
    try? FileManager.default.removeItem(atPath: directory)
    print(#"{"benchmark":"planning.rpc","positions":\#(count),"request_bytes":\#(body.count),"repeats":\#(repeats),\#(summary(rpc)),"with_client_encoding_median_ms":\#(String(format: "%.2f", encoded.sorted()[encoded.count / 2])),"baseline":"KWP/1 echo of the same bytes",\#(summary(baseline).replacingOccurrences(of: "\"m", with: "\"baseline_m")),"peak_rss_kib":\#(peakRSSKiB())}"#)
default:
    print("usage: planner-bench pure|decode|read|phases|digest|rpc <positions> [repeats]")
    exit(2)
}

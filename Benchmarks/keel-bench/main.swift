import CapitalService
import Contracts
import ExactNumbers
import Execution
import Foundation
import GatewayService
import KeelWire
import NIOCore
import NIOPosix
import PlannerService

// keel-bench <benchmark> …: one JSON line per figure, each with the baseline measured in the same
// run. Everything is in process on loopback and bounded in count and time.
//   wire <seconds>                      KWP/1 unary 1 KiB vs a raw SwiftNIO length-prefixed echo
//   stream <records>                    ReadCommitLog messages/s
//   submit <orders per batch> <repeats> durable orders/s through Execute with submit
//   capital <accounts> <strategies>     ReallocateAll over accounts × strategies
//   handler-path <bin dir> <seconds>    GetPlan (a store read) vs Health.Check against the release keel-planner
//   rss <bin dir>                       RSS of each service process idle and under RPC load

func nanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

struct Stats {
    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    static func percentile(_ sorted: [UInt64], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return Double(sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]) / 1000
    }
}

func json(_ fields: KeyValuePairs<String, Any>) -> String {
    "{" + fields.map { key, value in
        let rendered: String = switch value {
        case let text as String: "\"\(text)\""
        case let number as Double: String(format: "%.2f", number)
        default: "\(value)"
        }
        return "\"\(key)\":\(rendered)"
    }.joined(separator: ",") + "}"
}

/// `concurrency` callers for `seconds`; answers calls/s and every latency (ns).
func load(concurrency: Int, seconds: Double, _ call: @escaping @Sendable (Int) async throws -> Void) async throws -> (rate: Double, latencies: [UInt64]) {
    let start = nanos()
    let end = start + UInt64(seconds * 1e9)
    let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
        for caller in 0..<concurrency {
            group.addTask {
                var mine: [UInt64] = []
                while nanos() < end {
                    let t = nanos()
                    try await call(caller)
                    mine.append(nanos() - t)
                }
                return mine
            }
        }
        var all: [UInt64] = []
        for try await part in group { all += part }
        return all
    }
    return (Double(latencies.count) / (Double(nanos() - start) / 1e9), latencies)
}

// MARK: wire

func wire(seconds: Double) async throws {
    let group = MultiThreadedEventLoopGroup.singleton
    var router = RPCRouter()
    // The echo answers at once, so it runs on the event loop as the raw echo does (unaryOnEventLoop);
    // the same echo as a task handler (the path of handlers that plan or use a store) is measured too.
    router.unaryBytesOnEventLoop(KeelRPC.healthCheck.path) { body, _ in Array(body) }
    let echoAsTask = "/keel.bench.v1.Echo/AsTask"
    router.unaryBytes(echoAsTask) { body, _ in Array(body) }
    let kwp = KWPServer(configuration: .init(maxFrameBytes: 4 * 1024 * 1024), router: router)
    let kwpAddress = try await kwp.start()
    let raw = try await RawEcho.server(group: group)
    let payload = Data(repeating: 0xAB, count: 1024)
    let rawPayload = ByteBuffer(bytes: payload)
    for connections in [1, 8] {
        let clients = (0..<connections).map { _ in KWPClient(host: "127.0.0.1", port: kwpAddress.port!) }
        var channels: [Channel] = []
        for _ in 0..<connections { channels.append(try await RawEcho.client(group: group, port: raw.localAddress!.port!)) }
        for client in clients { _ = try await client.unaryBytes(KeelRPC.healthCheck.path, body: payload) }
        for concurrency in [1, 16, 64] {
            var kwpRates: [Double] = []
            var rawRates: [Double] = []
            var taskRates: [Double] = []
            var kwpLatencies: [UInt64] = []
            var rawLatencies: [UInt64] = []
            for _ in 0..<3 {
                let channelList = channels
                let r = try await load(concurrency: concurrency, seconds: seconds) { caller in
                    try await RawEcho.call(channelList[caller % connections], payload: rawPayload)
                }
                rawRates.append(r.rate)
                rawLatencies += r.latencies
                let clientList = clients
                let k = try await load(concurrency: concurrency, seconds: seconds) { caller in
                    _ = try await clientList[caller % connections].unaryBytes(KeelRPC.healthCheck.path, body: payload)
                }
                kwpRates.append(k.rate)
                kwpLatencies += k.latencies
                let t = try await load(concurrency: concurrency, seconds: seconds) { caller in
                    _ = try await clientList[caller % connections].unaryBytes(echoAsTask, body: payload)
                }
                taskRates.append(t.rate)
            }
            kwpLatencies.sort()
            rawLatencies.sort()
            print(json([
                "benchmark": "wire.unary_1kib", "connections": connections, "concurrency": concurrency,
                "calls_per_s": Stats.median(kwpRates), "min": kwpRates.min()!, "max": kwpRates.max()!,
                "p50_us": Stats.percentile(kwpLatencies, 0.5), "p99_us": Stats.percentile(kwpLatencies, 0.99), "p999_us": Stats.percentile(kwpLatencies, 0.999),
                "baseline": "raw NIO echo", "baseline_calls_per_s": Stats.median(rawRates), "baseline_min": rawRates.min()!, "baseline_max": rawRates.max()!,
                "baseline_p50_us": Stats.percentile(rawLatencies, 0.5), "baseline_p99_us": Stats.percentile(rawLatencies, 0.99),
                "baseline_p999_us": Stats.percentile(rawLatencies, 0.999),
                "ratio": Stats.median(kwpRates) / Stats.median(rawRates),
                "task_calls_per_s": Stats.median(taskRates), "task_ratio": Stats.median(taskRates) / Stats.median(rawRates),
            ]))
        }
        for client in clients { await client.close() }
        for channel in channels { try await channel.close() }
    }
    try await raw.close()
    await kwp.shutdown()
}

func wireProfile(connections: Int, concurrency: Int, seconds: Double, asTask: Bool) async throws {
    var router = RPCRouter()
    router.unaryBytesOnEventLoop(KeelRPC.healthCheck.path) { body, _ in Array(body) }
    router.unaryBytes("/keel.bench.v1.Echo/AsTask") { body, _ in Array(body) }
    let path = asTask ? "/keel.bench.v1.Echo/AsTask" : KeelRPC.healthCheck.path
    let kwp = KWPServer(configuration: .init(maxFrameBytes: 4 * 1024 * 1024), router: router)
    let address = try await kwp.start()
    let payload = Data(repeating: 0xAB, count: 1024)
    let clients = (0..<connections).map { _ in KWPClient(host: "127.0.0.1", port: address.port!) }
    for client in clients { _ = try await client.unaryBytes(path, body: payload) }
    let result = try await load(concurrency: concurrency, seconds: seconds) { caller in
        _ = try await clients[caller % connections].unaryBytes(path, body: payload)
    }
    print(json(["benchmark": "wire.profile", "connections": connections, "concurrency": concurrency, "calls_per_s": result.rate]))
    for client in clients { await client.close() }
    await kwp.shutdown()
}

// MARK: a planner and a gateway in process

struct Services {
    let planner: PlannerServer
    let gateway: GatewayServer
    let client: KWPClient

    static func start(config: GatewayConfig) async throws -> Services {
        let directory = NSTemporaryDirectory() + "keel-bench-\(UUID().uuidString)"
        let planner = try await PlannerServer.start(.init(endpoint: .init(port: 0), dataDirectory: directory + "/planner"))
        let gateway = try await GatewayServer.start(.init(endpoint: .init(port: 0), dataDirectory: directory + "/gateway", planner: "127.0.0.1:\(planner.address.port!)", config: config))
        let client = KWPClient(host: "127.0.0.1", port: gateway.address.port!, configuration: .init(maxFrameBytes: 64 * 1024 * 1024))
        return Services(planner: planner, gateway: gateway, client: client)
    }

    func stop() async {
        await client.close()
        await gateway.stop()
        await planner.stop()
    }
}

func benchConfig() -> GatewayConfig {
    var config = GatewayConfig()
    config.liveGuardEnforced = false
    config.paperBroker.accounts = ["default": PaperAccount(currency: "USDT", cash: ExactDecimalBench.million)]
    return config
}

enum ExactDecimalBench {
    static let million = ExactDecimal(1_000_000_000)
}

/// `worlds` worlds × `perWorld` symbols halved: one SELL per (world, symbol).
func halving(worlds: Int, perWorld: Int, tag: String) -> ExecuteRequest {
    .with {
        $0.submit = true
        $0.planRequest = .with {
            $0.totalEquity = "1000000"
            for w in 0..<worlds {
                $0.worldAllocBefore["w\(w)"] = "0.001"
                $0.worldAllocAfter["w\(w)"] = "0.0005"
            }
            for w in 0..<worlds {
                for s in 0..<perWorld {
                    $0.positions.append(.with {
                        $0.worldID = "w\(w)"
                        $0.strategyID = "s"
                        $0.symbol = "\(tag)SYM\(s)"
                        $0.venue = "x"
                        $0.qty = "2"
                        $0.mark = "10"
                    })
                }
            }
        }
    }
}

// MARK: stream

func stream(records: Int) async throws {
    let services = try await Services.start(config: benchConfig())
    // Each world is one batch and one commit-log record.
    let perExecute = 1_000
    for i in 0..<(records + perExecute - 1) / perExecute {
        _ = try await services.client.unary(KeelRPC.gatewayExecute, halving(worlds: min(perExecute, records - i * perExecute), perWorld: 1, tag: "r\(i)"),
                                            as: ExecuteResponse.self, timeout: .seconds(120))
    }
    await services.gateway.dispatcher.idle()
    var rates: [Double] = []
    var baseline: [Double] = []
    for _ in 0..<3 {
        var n = 0
        let t = nanos()
        for try await _ in services.client.serverStream(KeelRPC.gatewayReadCommitLog, Keel_Gateway_V1_ReadCommitLogRequest.with { $0.fromOffset = 1 },
                                                         as: CommitLogRecord.self, timeout: .seconds(120)) { n += 1 }
        rates.append(Double(n) / (Double(nanos() - t) / 1e9))
        // Baseline: the same records read from the store directly, no wire.
        let b = nanos()
        var offset: UInt64 = 1
        while true {
            let page = try await services.gateway.store.commitLog(from: offset, limit: 256)
            guard let last = page.last else { break }
            offset = last.offset + 1
        }
        baseline.append(Double(n) / (Double(nanos() - b) / 1e9))
    }
    print(json([
        "benchmark": "stream.read_commit_log", "records": records, "messages_per_s": Stats.median(rates), "min": rates.min()!, "max": rates.max()!,
        "baseline": "store reads of the same pages", "baseline_messages_per_s": Stats.median(baseline),
    ]))
    await services.stop()
}

// MARK: submit

func submit(ordersPerBatch: Int, repeats: Int) async throws {
    let services = try await Services.start(config: benchConfig())
    var submitted: [Double] = []
    var previewed: [Double] = []
    for r in 0..<(repeats + 1) {
        var request = halving(worlds: 1, perWorld: ordersPerBatch, tag: "b\(r)")
        request.submit = false
        let p = nanos()
        _ = try await services.client.unary(KeelRPC.gatewayExecute, request, as: ExecuteResponse.self, timeout: .seconds(120))
        let previewMs = Double(nanos() - p) / 1e6
        request.submit = true
        let t = nanos()
        let response = try await services.client.unary(KeelRPC.gatewayExecute, request, as: ExecuteResponse.self, timeout: .seconds(120))
        let ms = Double(nanos() - t) / 1e6
        precondition(response.batches.first?.orderCount == UInt32(ordersPerBatch), "expected \(ordersPerBatch) orders")
        await services.gateway.dispatcher.idle()
        if r > 0 {  // the first is a warm-up
            submitted.append(ms)
            previewed.append(previewMs)
        }
    }
    let median = Stats.median(submitted)
    print(json([
        "benchmark": "submit.execute", "orders_per_batch": ordersPerBatch, "repeats": repeats,
        "median_ms": median, "min_ms": submitted.min()!, "max_ms": submitted.max()!, "orders_per_s": Double(ordersPerBatch) / (median / 1000),
        "baseline": "the same Execute as a preview (plan and orders, nothing written)", "baseline_median_ms": Stats.median(previewed),
    ]))
    await services.stop()
}

// MARK: capital

func capital(accounts: Int, strategies: Int, bulkChunk: Int?) async throws {
    let directory = NSTemporaryDirectory() + "keel-bench-capital-\(UUID().uuidString)"
    var configuration = CapitalServer.Configuration(endpoint: .init(port: 0), dataDirectory: directory)
    if let bulkChunk { configuration.bulkChunk = bulkChunk }
    let server = try await CapitalServer.start(configuration, startScheduler: false, followFills: false)
    let client = KWPClient(host: "127.0.0.1", port: server.address.port!, configuration: .init(maxFrameBytes: 64 * 1024 * 1024))
    let setup = nanos()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for lane in 0..<16 {
            group.addTask {
                for a in stride(from: lane, to: accounts, by: 16) {
                    _ = try await client.unary(KeelRPC.capitalUpsertAccount, Keel_Capital_V1_UpsertAccountRequest.with {
                        $0.account = .with { $0.accountID = "a\(a)"; $0.name = "a\(a)"; $0.venue = "x"; $0.quoteCurrency = "USDT" }
                    }, as: Keel_Capital_V1_Account.self)
                    _ = try await client.unary(KeelRPC.capitalRecordDailyBalance, Keel_Capital_V1_RecordDailyBalanceRequest.with {
                        $0.balance = .with { $0.accountID = "a\(a)"; $0.date = "2026-12-01"; $0.endingBalance = "100000" }
                    }, as: Keel_Capital_V1_DailyBalance.self)
                    for s in 0..<strategies {
                        _ = try await client.unary(KeelRPC.capitalUpsertStrategyAccount, Keel_Capital_V1_UpsertStrategyAccountRequest.with {
                            $0.strategyAccount = .with {
                                $0.strategyAccountID = "a\(a)-s\(s)"; $0.accountID = "a\(a)"; $0.strategyID = "s\(s)"; $0.weight = "\(s + 1)"
                            }
                        }, as: Keel_Capital_V1_StrategyAccount.self)
                    }
                }
            }
        }
        try await group.waitForAll()
    }
    let setupSeconds = Double(nanos() - setup) / 1e9
    if let pause = ProcessInfo.processInfo.environment["KEEL_BENCH_PROFILE_PAUSE_S"], let seconds = Double(pause) {
        // Time for a profiler to attach to just the measured part (`perf record -p`).
        FileHandle.standardError.write(Data("profile from here: pid \(ProcessInfo.processInfo.processIdentifier)\n".utf8))
        try await Task.sleep(for: .seconds(seconds))
    }
    var runs: [Double] = []
    var reads: [Double] = []
    for _ in 0..<3 {
        let t = nanos()
        let response = try await client.unary(KeelRPC.capitalReallocateAll, Keel_Capital_V1_ReallocateAllRequest(), as: Keel_Capital_V1_BulkRebalanceResponse.self,
                                              timeout: .seconds(600))
        runs.append(Double(nanos() - t) / 1e6)
        precondition(response.totalAccounts == UInt32(accounts), "expected \(accounts) accounts, got \(response.totalAccounts)")
        // Baseline: reading every account back (GetAccount, 16 callers), the same store, no writes.
        let b = nanos()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<16 {
                group.addTask {
                    for a in stride(from: lane, to: accounts, by: 16) {
                        _ = try await client.unary(KeelRPC.capitalGetAccount, Keel_Capital_V1_GetAccountRequest.with { $0.accountID = "a\(a)" },
                                                   as: Keel_Capital_V1_GetAccountResponse.self)
                    }
                }
            }
            try await group.waitForAll()
        }
        reads.append(Double(nanos() - b) / 1e6)
    }
    print(json([
        "benchmark": "capital.reallocate_all", "accounts": accounts, "strategies": strategies,
        "median_ms": Stats.median(runs), "min_ms": runs.min()!, "max_ms": runs.max()!,
        "baseline": "GetAccount of every account (16 callers)", "baseline_median_ms": Stats.median(reads), "setup_s": setupSeconds,
    ]))
    await client.close()
    await server.stop()
}

// MARK: main

let arguments = CommandLine.arguments
switch arguments.count > 1 ? arguments[1] : "" {
case "wire": try await wire(seconds: arguments.count > 2 ? Double(arguments[2])! : 2)
case "wire-profile":
    // One KWP/1 workload alone, for a profiler: wire-profile <connections> <concurrency> <seconds> [task]
    try await wireProfile(connections: Int(arguments[2])!, concurrency: Int(arguments[3])!, seconds: Double(arguments[4])!,
                          asTask: arguments.count > 5 && arguments[5] == "task")
case "stream": try await stream(records: arguments.count > 2 ? Int(arguments[2])! : 10_000)
case "submit": try await submit(ordersPerBatch: arguments.count > 2 ? Int(arguments[2])! : 1_000, repeats: arguments.count > 3 ? Int(arguments[3])! : 5)
case "handler-path":
    // handler-path [bin dir] [seconds] [profile]: with "profile", GetPlan alone at 64 callers.
    try await handlerPath(binaries: arguments.count > 2 ? arguments[2] : ".build/release", seconds: arguments.count > 3 ? Double(arguments[3])! : 2,
                          profile: arguments.count > 4 && arguments[4] == "profile")
case "rss": try await memory(binaries: arguments.count > 2 ? arguments[2] : ".build/release")
case "capital":
    try await capital(accounts: arguments.count > 2 ? Int(arguments[2])! : 10_000, strategies: arguments.count > 3 ? Int(arguments[3])! : 10,
                      bulkChunk: arguments.count > 4 ? Int(arguments[4])! : nil)
default:
    print("usage: keel-bench wire [seconds] | wire-profile <connections> <concurrency> <seconds> [task] | stream [records] | submit [orders per batch] [repeats] | capital [accounts] [strategies] [accounts per transaction] | handler-path [bin dir] [seconds] | rss [bin dir]")
    exit(2)
}

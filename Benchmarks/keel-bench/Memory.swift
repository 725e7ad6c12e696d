import Contracts
import Execution
import Foundation
import KeelWire

// RSS of each service as its own process (the release executables): idle once ready, and the
// most seen under RPC load from 16 callers.

final class ServiceUnderTest: @unchecked Sendable {
    let process = Process()
    let output = Pipe()
    var port = 0

    init(binary: String, arguments: [String]) {
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
    }

    /// Starts it and waits for its `ready` line (30 s at most); answers its port.
    func start(name: String) throws -> Int {
        try process.run()
        var log = ""
        let deadline = Date().addingTimeInterval(30)
        let handle = output.fileHandleForReading
        while Date() < deadline {
            let chunk = handle.availableData
            guard !chunk.isEmpty else { break }
            log += String(decoding: chunk, as: UTF8.self)
            if let line = log.split(separator: "\n").first(where: { $0.contains("\(name) ready") }),
               let field = line.split(separator: " ").first(where: { $0.hasPrefix("port=") }), let port = Int(field.dropFirst(5)) {
                self.port = port
                // Keep draining the log so the service never blocks on a full pipe.
                handle.readabilityHandler = { _ = $0.availableData }
                return port
            }
        }
        throw NSError(domain: "keel-bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(name) did not start: \(log)"])
    }

    var rssKiB: Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }

    /// User and system CPU time the process has used so far (clock ticks of 10 ms).
    var cpuSeconds: Double {
        let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
        // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
        guard let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / 100
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

func memory(binaries: String) async throws {
    let directory = NSTemporaryDirectory() + "keel-bench-rss-\(UUID().uuidString)"
    let planner = ServiceUnderTest(binary: binaries + "/keel-planner", arguments: ["--port", "0", "--data-dir", directory + "/planner"])
    let plannerPort = try planner.start(name: "keel-planner")
    let gateway = ServiceUnderTest(binary: binaries + "/keel-gateway", arguments: [
        "--port", "0", "--data-dir", directory + "/gateway", "--planner", "127.0.0.1:\(plannerPort)"])
    let gatewayPort = try gateway.start(name: "keel-gateway")
    let capital = ServiceUnderTest(binary: binaries + "/keel-capital", arguments: [
        "--port", "0", "--data-dir", directory + "/capital", "--planner", "127.0.0.1:\(plannerPort)", "--gateway", "127.0.0.1:\(gatewayPort)"])
    let capitalPort = try capital.start(name: "keel-capital")
    defer {
        capital.stop()
        gateway.stop()
        planner.stop()
    }
    try await Task.sleep(for: .seconds(2))  // settle after start-up (a measurement interval, not synchronisation)
    let idle = [planner.rssKiB, gateway.rssKiB, capital.rssKiB]

    let plannerClient = KWPClient(host: "127.0.0.1", port: plannerPort, configuration: .init(maxFrameBytes: 64 * 1024 * 1024))
    let gatewayClient = KWPClient(host: "127.0.0.1", port: gatewayPort, configuration: .init(maxFrameBytes: 64 * 1024 * 1024))
    let capitalClient = KWPClient(host: "127.0.0.1", port: capitalPort)
    let plan = {
        var plan = halving(worlds: 10, perWorld: 100, tag: "m").planRequest
        plan.dryRun = true
        return plan
    }()
    let preview = {
        var preview = halving(worlds: 10, perWorld: 100, tag: "m")
        preview.submit = false
        return preview
    }()
    _ = try await capitalClient.unary(KeelRPC.capitalUpsertAccount, Keel_Capital_V1_UpsertAccountRequest.with {
        $0.account = .with { $0.accountID = "m"; $0.name = "m"; $0.venue = "x"; $0.quoteCurrency = "USDT" }
    }, as: Keel_Capital_V1_Account.self)
    let peaks = PeakRSS()
    let sampler = Task {
        while !Task.isCancelled {
            peaks.record([planner.rssKiB, gateway.rssKiB, capital.rssKiB])
            try? await Task.sleep(for: .milliseconds(100))  // the sampling period
        }
    }
    let (planRate, _) = try await load(concurrency: 16, seconds: 3) { _ in
        _ = try await plannerClient.unary(KeelRPC.plannerPlan, plan, as: Keel_Planner_V1_PlanResponse.self)
    }
    let (executeRate, _) = try await load(concurrency: 16, seconds: 3) { _ in
        _ = try await gatewayClient.unary(KeelRPC.gatewayExecute, preview, as: ExecuteResponse.self)
    }
    let (capitalRate, _) = try await load(concurrency: 16, seconds: 3) { _ in
        _ = try await capitalClient.unary(KeelRPC.capitalGetAccount, Keel_Capital_V1_GetAccountRequest.with { $0.accountID = "m" }, as: Keel_Capital_V1_GetAccountResponse.self)
    }
    sampler.cancel()
    let loaded = peaks.values
    let loads = ["Plan (1,000 positions, dry run)", "Execute preview (1,000 orders)", "GetAccount"]
    let rates = [planRate, executeRate, capitalRate]
    for (i, name) in ["keel-planner", "keel-gateway", "keel-capital"].enumerated() {
        print(json([
            "benchmark": "memory.rss", "service": name, "idle_mib": Double(idle[i]) / 1024, "loaded_mib": Double(loaded[i]) / 1024,
            "load": loads[i], "calls_per_s": rates[i], "callers": 16,
        ]))
    }
    await plannerClient.close()
    await gatewayClient.close()
    await capitalClient.close()
}

final class PeakRSS: @unchecked Sendable {
    private let lock = NSLock()
    private var peaks = [0, 0, 0]
    func record(_ values: [Int]) {
        lock.lock()
        for i in values.indices { peaks[i] = max(peaks[i], values[i]) }
        lock.unlock()
    }
    var values: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return peaks
    }
}

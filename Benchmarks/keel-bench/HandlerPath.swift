import Contracts
import Foundation
import KeelWire

// The handler path, measured from outside: the release keel-planner as its own process, one KWP/1
// connection, and two calls side by side — Health.Check (answered on the event loop, the floor of
// the transport) and GetPlan of a stored 8-position plan (a task handler that reads the store).
// The difference between them is what the handler path costs: the hop off the event loop, the
// store read and the hop back.

func handlerPath(binaries: String, seconds: Double, profile: Bool = false) async throws {
    let directory = NSTemporaryDirectory() + "keel-bench-handler-\(UUID().uuidString)"
    let planner = ServiceUnderTest(binary: binaries + "/keel-planner", arguments: ["--port", "0", "--data-dir", directory])
    let port = try planner.start(name: "keel-planner")
    defer {
        planner.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
    let client = KWPClient(host: "127.0.0.1", port: port)
    let stored = try await client.unary(KeelRPC.plannerPlan, Keel_Planner_V1_PlanRequest.with {
        $0.totalEquity = "100000"
        $0.worldAllocBefore = ["w": "0.5"]
        $0.worldAllocAfter = ["w": "0.6"]
        for i in 0..<8 {
            $0.positions.append(.with { $0.worldID = "w"; $0.strategyID = "s\(i % 2)"; $0.symbol = "SYM\(i)"; $0.venue = "x"; $0.qty = "\(i + 1)"; $0.mark = "100" })
        }
    }, as: Keel_Planner_V1_PlanResponse.self, metadata: ["idempotency-key": "handler-path"])
    let getPlan = Keel_Planner_V1_GetPlanRequest.with { $0.planID = stored.plan.planID }
    let health = Keel_Health_V1_HealthCheckRequest()
    let getPlanBytes: Data = try getPlan.serializedData()
    let healthBytes: Data = try health.serializedData()
    // Warm both paths (connection, first store read, the cooperative pool's threads).
    for _ in 0..<2_000 {
        _ = try await client.unary(KeelRPC.healthCheck, health, as: Keel_Health_V1_HealthCheckResponse.self)
        _ = try await client.unary(KeelRPC.plannerGetPlan, getPlan, as: Keel_Planner_V1_GetPlanResponse.self)
    }
    if profile {
        // GetPlan alone at 64 callers, for a profiler attached to the service.
        let g = try await load(concurrency: 64, seconds: seconds) { _ in
            _ = try await client.unaryBytes(KeelRPC.plannerGetPlan.path, body: getPlanBytes)
        }
        print(json(["benchmark": "wire.handler_path.profile", "calls_per_s": g.rate]))
        await client.close()
        return
    }
    for concurrency in [1, 64] {
        var healthRates: [Double] = []
        var planRates: [Double] = []
        var healthLatencies: [UInt64] = []
        var planLatencies: [UInt64] = []
        var healthCPU: [Double] = []
        var planCPU: [Double] = []
        // Interleaved, so both see the same machine. The answers are not decoded: the client's work
        // stays the same for both calls, and the difference is the server's.
        for _ in 0..<3 {
            var cpu = planner.cpuSeconds
            let h = try await load(concurrency: concurrency, seconds: seconds) { _ in
                _ = try await client.unaryBytes(KeelRPC.healthCheck.path, body: healthBytes)
            }
            healthCPU.append((planner.cpuSeconds - cpu) * 1e6 / (h.rate * seconds))
            healthRates.append(h.rate)
            healthLatencies += h.latencies
            cpu = planner.cpuSeconds
            let g = try await load(concurrency: concurrency, seconds: seconds) { _ in
                _ = try await client.unaryBytes(KeelRPC.plannerGetPlan.path, body: getPlanBytes)
            }
            planCPU.append((planner.cpuSeconds - cpu) * 1e6 / (g.rate * seconds))
            planRates.append(g.rate)
            planLatencies += g.latencies
        }
        healthLatencies.sort()
        planLatencies.sort()
        print(json([
            "benchmark": "wire.handler_path", "connections": 1, "concurrency": concurrency,
            "calls_per_s": Stats.median(planRates), "min": planRates.min()!, "max": planRates.max()!,
            "p50_us": Stats.percentile(planLatencies, 0.5), "p99_us": Stats.percentile(planLatencies, 0.99),
            "server_cpu_us_per_call": Stats.median(planCPU),
            "baseline": "Health.Check", "baseline_server_cpu_us_per_call": Stats.median(healthCPU), "baseline_calls_per_s": Stats.median(healthRates),
            "baseline_min": healthRates.min()!, "baseline_max": healthRates.max()!,
            "baseline_p50_us": Stats.percentile(healthLatencies, 0.5), "baseline_p99_us": Stats.percentile(healthLatencies, 0.99),
        ]))
    }
    await client.close()
}

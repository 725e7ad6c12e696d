import Contracts
import Execution
import Foundation
import KeelTestSupport
import KeelWire
import Testing

/// The gateway's Prometheus metrics after the per-strategy submit case of planner-gateway.json,
/// scraped from a real keel-gateway process (metrics are per process, so the figures are exact).
@Suite struct GatewayMetricsTests {
    /// `name{a="x",b="y"} value` lines of the Prometheus text format.
    static func samples(_ text: String) -> [(name: String, labels: [String: String], value: Double)] {
        text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return (String(series), [:], value) }
            var labels: [String: String] = [:]
            for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            return (String(series[..<brace]), labels, value)
        }
    }

    @Test func submitMetricsMatchTheSpecCase() async throws {
        let testCase = try Cases.case("planner-gateway", "execute_submit_per_strategy_batches")
        let input = testCase["input"] as! [String: Any]
        let directory = NSTemporaryDirectory() + "keel-gw-metrics-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var config = input["gateway_config"] as! [String: Any]
        config["paper_broker"] = ["accounts": ["default": ["currency": "USDT", "cash": "1000000"]]]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: directory + "/gateway.json"))
        let planner = ServiceProcess(executable: "keel-planner", arguments: ["--port", "0", "--data-dir", directory], readyMarker: "keel-planner ready")
        var gateway: ServiceProcess?
        do {
            try await planner.start()
            let started = ServiceProcess(
                executable: "keel-gateway",
                arguments: ["--port", "0", "--metrics-port", "0", "--data-dir", directory, "--config", directory + "/gateway.json",
                            "--planner", "127.0.0.1:\(try #require(planner.loggedNumber("port")))"],
                readyMarker: "keel-gateway ready")
            gateway = started
            try await started.start()
            let client = KWPClient(host: "127.0.0.1", port: try #require(started.loggedNumber("port")))
            let watch = client.serverStream(KeelRPC.gatewayWatch, Keel_Gateway_V1_WatchRequest.with { $0.topics = ["orders"] }, as: Keel_Gateway_V1_GatewayEvent.self, timeout: .seconds(20))
            let request = try Cases.message(ExecuteRequest.self, from: input["request"]!)
            _ = try await client.unary(KeelRPC.gatewayExecute, request, as: ExecuteResponse.self, metadata: input["metadata"] as? [String: String] ?? [:])
            // Both dispatched orders filled (the dispatch counter moves before that).
            var filled = 0
            for try await event in watch where event.order.status == .filled {
                filled += 1
                if filled == 2 { watch.cancel(); break }
            }
            await client.close()
            let scraped = try await HTTPScrape.get(port: try #require(started.loggedNumber("metrics_port")))
            let samples = Self.samples(scraped)
            let expected = (testCase["expected"] as! [String: Any])["metrics"] as! [String: [[String: Any]]]
            for (name, series) in expected {
                for entry in series {
                    let labels = entry["labels"] as! [String: String]
                    let value = (entry["value"] as! NSNumber).doubleValue
                    let found = samples.first { $0.name == name && $0.labels == labels }
                    #expect(found?.value == value, "\(name)\(labels): expected \(value), got \(String(describing: found?.value))")
                }
            }
            #expect(await started.stop() == 0)
            #expect(await planner.stop() == 0)
        } catch {
            await gateway?.stop(signal: SIGKILL)
            await planner.stop(signal: SIGKILL)
            throw error
        }
    }
}

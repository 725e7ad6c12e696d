import Contracts
import Foundation
import Planning

// planner-bench <positions> [repeats]: plans a seeded portfolio (10 worlds, 50 strategies,
// 500 symbols, 3 venues) through the pure Planning module and prints one JSON line:
// the median, min and max wall time of the repeats and the process's peak RSS.

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
        request.worldAllocAfter["w\(w)"] = String(format: "0.%02d", 5 + w)
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
            $0.qty = "\(qty / 1000).\(String(format: "%03d", abs(qty % 1000)))".replacingOccurrences(of: "0.-", with: "-0.")
            $0.mark = "\(mark / 100).\(String(format: "%02d", mark % 100))"
        })
    }
    request.positions = positions
    for symbol in 0..<500 { request.lotSizeBySymbol["SYM\(symbol)"] = "0.001" }
    return request
}

func peakRSSKiB() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }
    return 0
}

let arguments = CommandLine.arguments
let count = arguments.count > 1 ? Int(arguments[1])! : 100_000
let repeats = arguments.count > 2 ? Int(arguments[2])! : 5
let request = portfolio(positions: count)
var times: [Double] = []
var deltas = 0
for _ in 0..<repeats {
    let start = DispatchTime.now().uptimeNanoseconds
    let plan = try PlanComputation.plan(request)
    let end = DispatchTime.now().uptimeNanoseconds
    times.append(Double(end - start) / 1_000_000)
    deltas = plan.perWorld.reduce(0) { $0 + $1.deltas.count }
}
times.sort()
let median = times[times.count / 2]
print(#"{"benchmark":"planning.pure","positions":\#(count),"repeats":\#(repeats),"median_ms":\#(String(format: "%.2f", median)),"min_ms":\#(String(format: "%.2f", times.first!)),"max_ms":\#(String(format: "%.2f", times.last!)),"deltas":\#(deltas),"peak_rss_kib":\#(peakRSSKiB())}"#)

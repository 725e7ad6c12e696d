import KeelTestSupport
import Contracts
import Foundation
import KeelWire
import PlannerService
import Planning
import Testing

typealias PlanResponse = Keel_Planner_V1_PlanResponse
typealias PlannerEvent = Keel_Planner_V1_PlannerEvent

/// A planner on a temporary store and an ephemeral loopback port, and a client of it.
struct PlannerHarness {
    let server: PlannerServer
    let client: KWPClient
    let dataDirectory: String

    static func start(dataDirectory: String? = nil, token: String? = nil) async throws -> PlannerHarness {
        let directory = dataDirectory ?? NSTemporaryDirectory() + "keel-planner-test-\(UUID().uuidString)"
        let server = try await PlannerServer.start(.init(endpoint: .init(port: 0, token: token, drainTimeout: .seconds(2)), dataDirectory: directory))
        let client = KWPClient(host: "127.0.0.1", port: server.address.port!, configuration: .init(token: token, maxFrameBytes: 64 * 1024 * 1024))
        return PlannerHarness(server: server, client: client, dataDirectory: directory)
    }

    func stop() async {
        await client.close()
        await server.stop()
    }

    func plan(_ request: PlanRequest, key: String? = nil) async throws -> PlanResponse {
        try await client.unary(KeelRPC.plannerPlan, request, as: PlanResponse.self, metadata: key.map { ["idempotency-key": $0] } ?? [:], timeout: .seconds(30))
    }

    /// Events with seq > `after`, exactly `count` of them (then the stream is cancelled).
    func events(after: UInt64, count: Int) async throws -> [PlannerEvent] {
        if count == 0 { return [] }
        var out: [PlannerEvent] = []
        let stream = client.serverStream(KeelRPC.plannerWatch, Keel_Planner_V1_WatchRequest.with { $0.afterSeq = after }, as: PlannerEvent.self, timeout: .seconds(10))
        for try await event in stream {
            out.append(event)
            if out.count == count { stream.cancel(); break }
        }
        return out
    }
}

/// Runs `body` with a started planner and always stops it.
func withPlanner<T>(dataDirectory: String? = nil, token: String? = nil, _ body: (PlannerHarness) async throws -> T) async throws -> T {
    try await withStarted({ try await PlannerHarness.start(dataDirectory: dataDirectory, token: token) }, stop: { await $0.stop() }, body)
}

@Suite struct PlannerServiceTests {
    static let file = "planner-gateway"

    @Test func everyPlanCaseOverKWPWithItsEvents() async throws {
        try await withPlanner { planner in
            var seq: UInt64 = 0
            let names = try Cases.named(Self.file, kind: "plan")
            var ran = 0
            for name in names {
                ran += 1
                let testCase = try Cases.case(Self.file, name)
                let request = try Cases.message(PlanRequest.self, from: (testCase["input"] as! [String: Any])["request"]!)
                let expected = testCase["expected"] as! [String: Any]
                let response = try await planner.plan(request)
                let planDifferences = Cases.differences(expected: expected["plan"]!, actual: try Cases.json(response.plan))
                #expect(planDifferences.isEmpty, "\(name):\n\(planDifferences.joined(separator: "\n"))")
                #expect(response.plan.dryRun || response.plan.planID.hasPrefix("pln_") && response.plan.planID.count == 30, "\(name)")
                #expect(response.plan.dryRun || response.plan.requestDigest.count == 64, "\(name)")

                let expectedEvents = expected["events"] as! [[String: Any]]
                let events = try await planner.events(after: seq, count: expectedEvents.count)
                let eventDifferences = Cases.differences(expected: expectedEvents, actual: try events.map { try Cases.json($0) })
                #expect(eventDifferences.isEmpty, "\(name) events:\n\(eventDifferences.joined(separator: "\n"))")
                for (offset, event) in events.enumerated() {
                    #expect(event.seq == seq + UInt64(offset) + 1, "\(name): consecutive seq")
                    #expect(event.planID == response.plan.planID)
                    #expect(event.eventID == "\(response.plan.planID):\(event.worldID)")
                    #expect(event.timeMs == response.plan.createdAtMs)
                }
                seq += UInt64(events.count)
            }
            #expect(ran == names.count, "ran \(ran) of the fixture's \(names.count) plan cases")
        }
    }

    @Test func everyPlanErrorCaseOverKWP() async throws {
        try await withPlanner { planner in
            let names = try Cases.named(Self.file, kind: "plan_error")
            var ran = 0
            for name in names {
                ran += 1
                let testCase = try Cases.case(Self.file, name)
                let request = try Cases.message(PlanRequest.self, from: (testCase["input"] as! [String: Any])["request"]!)
                let expected = (testCase["expected"] as! [String: Any])["error"] as! [String: Any]
                do {
                    _ = try await planner.plan(request)
                    Issue.record("\(name): expected \(expected)")
                } catch let error as RPCError {
                    #expect(error.code.name == expected["code"] as? String, "\(name): \(error)")
                    #expect(error.reason == expected["reason"] as? String, "\(name): \(error)")
                    #expect(error.field == expected["field"] as? String, "\(name): \(error)")
                    #expect(error.metadata == expected["metadata"] as? [String: String], "\(name): \(error)")
                }
            }
            #expect(ran == names.count, "ran \(ran) of the fixture's \(names.count) plan_error cases")
            // Nothing was stored by the failures: the next stored plan's event is the outbox's first.
            let stored = try await planner.plan(Self.sampleRequest())
            let events = try await planner.events(after: 0, count: 1)
            #expect(events.map(\.seq) == [1])
            #expect(events.map(\.planID) == [stored.plan.planID])
        }
    }

    /// Plan decodes its positions itself: bodies it cannot decode still answer INVALID_ARGUMENT
    /// naming `body`, and store nothing (the next plan's events are the outbox's first).
    @Test func undecodableBodiesAreRejectedAndStoreNothing() async throws {
        try await withPlanner { planner in
            let valid: [UInt8] = try Self.sampleRequest().serializedBytes()
            let position: [UInt8] = try Self.sampleRequest().positions[0].serializedBytes()
            let bodies: [[UInt8]] = [
                Array(valid.dropLast(2)),                                      // cut inside the last field
                [0x32, UInt8(position.count + 5)] + position,                  // a position longer than the body
                [0x32, 0x05, 0x1A, 0x03, 0x42, 0xFF, 0x43] + valid,            // a symbol that is not UTF-8
                valid + [0x37, 0x00],                                          // wire type 7
            ]
            for (index, body) in bodies.enumerated() {
                do {
                    _ = try await planner.client.unaryBytes(KeelRPC.plannerPlan.path, body: Data(body), timeout: .seconds(10))
                    Issue.record("body \(index) was accepted")
                } catch let error as RPCError {
                    #expect(error.code == .invalidArgument, "body \(index): \(error)")
                    #expect(error.reason == "E_UNDECODABLE_BODY", "body \(index): \(error)")
                    #expect(error.field == "body", "body \(index): \(error)")
                }
            }
            let response = try await planner.plan(Self.sampleRequest())
            let events = try await planner.events(after: 0, count: 1)
            #expect(events.map(\.seq) == [1])
            #expect(events.map(\.planID) == [response.plan.planID])
        }
    }

    static func sampleRequest(lotSize: String = "0.001", intent: [String: String] = [:]) -> PlanRequest {
        .with {
            $0.totalEquity = "1000000"
            $0.worldAllocBefore = ["a": "0.3"]
            $0.worldAllocAfter = ["a": "0.2"]
            $0.positions = [.with { $0.worldID = "a"; $0.strategyID = "b"; $0.symbol = "BTCUSDT"; $0.qty = "1"; $0.mark = "60000"; $0.venue = "binance" }]
            $0.lotSizeBySymbol = ["BTCUSDT": lotSize]
            $0.intent = intent
        }
    }

    @Test func idempotencyKeyReplaysTheStoredPlanAndRejectsAnotherRequest() async throws {
        try await withPlanner { planner in
            let first = try await planner.plan(Self.sampleRequest(lotSize: "0.001"), key: "k-1")
            #expect(!first.replayed)
            // "0.0010" is the same decimal: the same request.
            let again = try await planner.plan(Self.sampleRequest(lotSize: "0.0010"), key: "k-1")
            #expect(again.replayed)
            #expect(try again.plan.serializedBytes() as [UInt8] == first.plan.serializedBytes() as [UInt8])
            #expect(again.plan.planID == first.plan.planID)
            let error = await expectStatus(.alreadyExists, reason: "E_IDEMPOTENCY_KEY_REUSED", field: "idempotency-key") {
                _ = try await planner.plan(Self.sampleRequest(lotSize: "0.01"), key: "k-1")
            }
            #expect(error?.metadata["plan_id"] == first.plan.planID)
            await expectStatus(.invalidArgument, reason: "E_INVALID_IDEMPOTENCY_KEY", field: "idempotency-key") {
                _ = try await planner.plan(Self.sampleRequest(), key: String(repeating: "k", count: 129))
            }
            // Only the first call stored events.
            let events = try await planner.events(after: 0, count: 1)
            #expect(events.map(\.planID) == [first.plan.planID])
            // Without a key every call is a new plan.
            let other = try await planner.plan(Self.sampleRequest())
            #expect(other.plan.planID != first.plan.planID)
        }
    }

    @Test func dryRunStoresNothingAndIgnoresTheKey() async throws {
        try await withPlanner { planner in
            var request = Self.sampleRequest()
            request.dryRun = true
            let preview = try await planner.plan(request, key: String(repeating: "x", count: 500))
            #expect(preview.plan.planID.isEmpty && preview.plan.createdAtMs == 0 && preview.plan.dryRun && !preview.replayed)
            let stored = try await planner.plan(Self.sampleRequest())
            let events = try await planner.events(after: 0, count: 1)
            #expect(events.first?.seq == 1)
            #expect(events.first?.planID == stored.plan.planID)
        }
    }

    @Test func getPlanAnswersThePlanAndTheRequestAsSent() async throws {
        try await withPlanner { planner in
            var request = Self.sampleRequest(intent: ["source": "test"])
            request.positions[0].qty = "1.000"
            let planned = try await planner.plan(request)
            let got = try await planner.client.unary(KeelRPC.plannerGetPlan, Keel_Planner_V1_GetPlanRequest.with { $0.planID = planned.plan.planID }, as: Keel_Planner_V1_GetPlanResponse.self)
            #expect(try got.plan.serializedBytes() as [UInt8] == planned.plan.serializedBytes() as [UInt8])
            #expect(got.request.positions[0].qty == "1.000")
            #expect(got.request == request)
            await expectStatus(.notFound, reason: "E_PLAN_NOT_FOUND", field: "plan_id") {
                _ = try await planner.client.unary(KeelRPC.plannerGetPlan, Keel_Planner_V1_GetPlanRequest.with { $0.planID = "pln_nope" }, as: Keel_Planner_V1_GetPlanResponse.self)
            }
            await expectStatus(.invalidArgument, reason: "E_MISSING_FIELD", field: "plan_id") {
                _ = try await planner.client.unary(KeelRPC.plannerGetPlan, Keel_Planner_V1_GetPlanRequest(), as: Keel_Planner_V1_GetPlanResponse.self)
            }
        }
    }

    @Test func watchFollowsNewCommitsAndValidatesItsRequest() async throws {
        try await withPlanner { planner in
            await expectStatus(.invalidArgument, reason: "E_UNKNOWN_TOPIC", field: "topics[1]") {
                for try await _ in planner.client.serverStream(KeelRPC.plannerWatch, Keel_Planner_V1_WatchRequest.with { $0.topics = ["rebalancing.planned", "orders"] }, as: PlannerEvent.self) {}
            }
            // A stream from seq 0 on an empty outbox waits for the commit signal, then delivers.
            let following = Task {
                var iterator = planner.client.serverStream(KeelRPC.plannerWatch, Keel_Planner_V1_WatchRequest(), as: PlannerEvent.self, timeout: .seconds(10)).makeAsyncIterator()
                return try await iterator.next()
            }
            let first = try await planner.plan(Self.sampleRequest())
            #expect(try await following.value?.planID == first.plan.planID)

            // live_only ignores after_seq and the past: the first event it yields is a later plan.
            let live = planner.client.serverStream(KeelRPC.plannerWatch, Keel_Planner_V1_WatchRequest.with { $0.liveOnly = true; $0.afterSeq = 0 }, as: PlannerEvent.self, timeout: .seconds(20))
            let firstLive = Task {
                var iterator = live.makeAsyncIterator()
                return try await iterator.next()
            }
            var later: [String] = []
            for _ in 0..<5 {
                // Plans until the stream has started and delivers one; each plan is a later event.
                later.append(try await planner.plan(Self.sampleRequest()).plan.planID)
                if let event = try await firstOrNil(firstLive, within: .seconds(2)) {
                    #expect(event?.planID != first.plan.planID)
                    #expect(later.contains(event?.planID ?? ""))
                    break
                }
            }
            live.cancel()
        }
    }

    @Test func anExpiredResumePointIsOutOfRangeWithTheOldestSeq() async throws {
        let directory = NSTemporaryDirectory() + "keel-planner-retention-\(UUID().uuidString)"
        try await withPlanner(dataDirectory: directory) { planner in
            for lot in ["0.1", "0.01", "0.001"] { _ = try await planner.plan(Self.sampleRequest(lotSize: lot)) }
            // Keep only the newest event, whatever its age.
            let store = try PlannerStore(path: directory + "/keel-planner.sqlite")
            #expect(try await store.pruneEvents(nowMs: Int64.max / 2, maxAgeMs: 0, keepNewest: 1) == 2)
            let error = await expectStatus(.outOfRange, reason: "E_RESUME_POINT_EXPIRED", field: "after_seq") {
                _ = try await planner.events(after: 0, count: 1)
            }
            #expect(error?.metadata["oldest_seq"] == "3")
            // Resuming right after the last dropped event is fine.
            let events = try await planner.events(after: 2, count: 1)
            #expect(events.map(\.seq) == [3])
        }
    }

    @Test func plansAndTheOutboxSurviveARestart() async throws {
        let directory = NSTemporaryDirectory() + "keel-planner-restart-\(UUID().uuidString)"
        let (first, second) = try await withPlanner(dataDirectory: directory) { planner in
            (try await planner.plan(Self.sampleRequest(), key: "restart-key"), try await planner.plan(Self.sampleRequest(lotSize: "0.01")))
        }
        try await withPlanner(dataDirectory: directory) { planner in
            let got = try await planner.client.unary(KeelRPC.plannerGetPlan, Keel_Planner_V1_GetPlanRequest.with { $0.planID = first.plan.planID }, as: Keel_Planner_V1_GetPlanResponse.self)
            #expect(got.plan == first.plan)
            let replay = try await planner.plan(Self.sampleRequest(), key: "restart-key")
            #expect(replay.replayed && replay.plan.planID == first.plan.planID)
            let events = try await planner.events(after: 0, count: 2)
            #expect(events.map(\.seq) == [1, 2])
            #expect(events.map(\.planID) == [first.plan.planID, second.plan.planID])
            // New events continue the sequence.
            _ = try await planner.plan(Self.sampleRequest(lotSize: "0.1"))
            let next = try await planner.events(after: 2, count: 1)
            #expect(next.first?.seq == 3)
        }
    }

    @Test func healthIsServingAndTheTokenIsEnforced() async throws {
        try await withPlanner(token: "planner-secret") { planner in
            let anonymous = KWPClient(host: "127.0.0.1", port: planner.server.address.port!)
            let health = try await anonymous.unary(KeelRPC.healthCheck, Keel_Health_V1_HealthCheckRequest.with { $0.service = "keel.planner.v1.Planner" }, as: Keel_Health_V1_HealthCheckResponse.self)
            #expect(health.status == .serving)
            await expectStatus(.unauthenticated, reason: "E_UNAUTHENTICATED") {
                _ = try await anonymous.unary(KeelRPC.plannerPlan, Self.sampleRequest(), as: PlanResponse.self)
            }
            await anonymous.close()
            let ok = try await planner.plan(Self.sampleRequest())
            #expect(ok.plan.planID.hasPrefix("pln_"))
        }
    }
}

/// The task's value if it finishes within `limit`, else nil (the task keeps running).
func firstOrNil<T: Sendable>(_ task: Task<T, Error>, within limit: Duration) async throws -> T? {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await task.value }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        let first = try await group.next()!
        group.cancelAll()
        return first
    }
}

import Contracts
import ExactNumbers
import Execution
import Foundation
import GRDB
@testable import GatewayService
import KeelTestSupport
import KeelWire
import PlannerService
import Synchronization
import Testing
import Venues

/// The gateway's clock in these tests: it moves only when the test moves it.
final class TestClock: Sendable {
    private let value: Mutex<Int64>
    init(_ start: Int64) { value = Mutex(start) }
    func now() -> Int64 { value.withLock { $0 } }
    func set(_ t: Int64) { value.withLock { $0 = t } }
}

/// The paper broker, with orders the test marks rejected (no order id) or unreachable (the call throws).
final class ScriptedBroker: PaperBrokerWrapper {
    let paper: PaperBroker
    let rejected = Mutex<Set<String>>([])
    let unreachable = Mutex<Set<String>>([])
    /// Orders the broker says it never saw (shared across restarts of the gateway).
    let forgotten: Forgotten

    final class Forgotten: Sendable {
        let ids = Mutex<Set<String>>([])
    }

    init(_ paper: PaperBroker, forgotten: Forgotten = Forgotten()) {
        self.paper = paper
        self.forgotten = forgotten
    }

    func place(_ order: VenueOrder, limit: ExactDecimal?, lot: ExactDecimal, accountID: String) async throws -> BrokerOutcome {
        if unreachable.withLock({ $0.contains(order.clientOrderID) }) { return .unknown("test: unreachable") }
        if rejected.withLock({ $0.contains(order.clientOrderID) }) {
            return .rejected(VenueRejection(kind: .other, httpStatus: 0, code: 0, message: "test: rejected"))
        }
        return try await paper.place(order, limit: limit, lot: lot, accountID: accountID)
    }

    func order(clientOrderID: String) async throws -> BrokerOrder? {
        if forgotten.ids.withLock({ $0.contains(clientOrderID) }) { return nil }
        return try await paper.order(clientOrderID: clientOrderID)
    }
}

/// A planner and a gateway whose schedule engine moves only on `tick(at:)`, on one data directory
/// (so a test can restart the gateway on it).
final class ScheduleHarness: @unchecked Sendable {
    let planner: PlannerServer
    var gateway: GatewayServer
    var client: KWPClient
    var broker: ScriptedBroker?
    let clock: TestClock
    let config: GatewayConfig
    let forgotten = ScriptedBroker.Forgotten()
    let dataDirectory = NSTemporaryDirectory() + "keel-schedules-\(UUID().uuidString)"

    /// 2026-12-02 09:00 in Seoul.
    static let nine: Int64 = 1_796_169_600_000
    static let minute: Int64 = 60_000

    init(config: GatewayConfig, clock: TestClock) async throws {
        self.config = config
        self.clock = clock
        planner = try await PlannerServer.start(.init(endpoint: .init(port: 0, drainTimeout: .seconds(2)), dataDirectory: dataDirectory + "-planner"))
        (gateway, client, broker) = try await Self.startGateway(planner: planner, config: config, clock: clock, dataDirectory: dataDirectory, forgotten: forgotten)
    }

    static func startGateway(planner: PlannerServer, config: GatewayConfig, clock: TestClock, dataDirectory: String,
                             forgotten: ScriptedBroker.Forgotten) async throws -> (GatewayServer, KWPClient, ScriptedBroker?) {
        let made = Mutex<ScriptedBroker?>(nil)
        var configuration = GatewayServer.Configuration(
            endpoint: .init(port: 0, drainTimeout: .seconds(2)), dataDirectory: dataDirectory, planner: "127.0.0.1:\(planner.address.port!)", config: config)
        configuration.clock = { clock.now() }
        configuration.runsScheduleLoop = false
        configuration.broker = { store, settings, clock in
            let broker = ScriptedBroker(try PaperBroker(store: store, settings: settings, clock: clock), forgotten: forgotten)
            made.withLock { $0 = broker }
            return broker
        }
        let gateway = try await GatewayServer.start(configuration)
        let client = KWPClient(host: "127.0.0.1", port: gateway.address.port!, configuration: .init(maxFrameBytes: 64 * 1024 * 1024))
        return (gateway, client, made.withLock { $0 })
    }

    /// Stops the gateway, runs `meanwhile` on its stopped store's path, and starts it again.
    func restartGateway(meanwhile: (String) throws -> Void = { _ in }) async throws {
        await client.close()
        await gateway.stop()
        try meanwhile((dataDirectory as NSString).appendingPathComponent("keel-gateway.sqlite"))
        (gateway, client, broker) = try await Self.startGateway(planner: planner, config: config, clock: clock, dataDirectory: dataDirectory, forgotten: forgotten)
    }

    func stop() async {
        await client.close()
        await gateway.stop()
        await planner.stop()
    }

    func tick(at t: Int64) async {
        clock.set(t)
        await gateway.schedules.tick()
    }

    /// Ticks every `step` from `from` through `to`.
    func run(from: Int64, through to: Int64, every step: Int64 = 10_000) async {
        for t in stride(from: from, through: to, by: Int(step)) { await tick(at: t) }
    }

    func start(_ request: StartScheduleRequest, key: String? = nil) async throws -> Schedule {
        var metadata = [MetadataKey.allowLive: "true"]
        if let key { metadata[MetadataKey.idempotencyKey] = key }
        return try await client.unary(KeelRPC.gatewayStartSchedule, request, as: Schedule.self, metadata: metadata)
    }

    func schedule(_ id: String) async throws -> Schedule {
        try await client.unary(KeelRPC.gatewayGetSchedule, Keel_Gateway_V1_GetScheduleRequest.with { $0.scheduleID = id }, as: Schedule.self)
    }

    func events(_ id: String) async throws -> [ScheduleEvent] {
        try await gateway.store.events(after: 0, topics: ["schedule.progress"], limit: 100_000).events.map(\.schedule).filter { $0.scheduleID == id }
    }

    func orders(_ id: String) async throws -> [Keel_Gateway_V1_OrderRecord] {
        try await client.unary(KeelRPC.gatewayListOrders, Keel_Gateway_V1_ListOrdersRequest.with { $0.batchID = id; $0.limit = 1000 },
                               as: Keel_Gateway_V1_ListOrdersResponse.self).orders
    }

    func holding(_ symbol: String) async throws -> String {
        try await client.unary(KeelRPC.gatewayGetPositions, Keel_Gateway_V1_GetPositionsRequest.with { $0.accountID = "acct" },
                               as: Keel_Gateway_V1_GetPositionsResponse.self).positions.first { $0.symbol == symbol }?.qty ?? "0"
    }
}

func withSchedules<T>(config: GatewayConfig = ScheduleTests.config(), clock: TestClock = TestClock(ScheduleHarness.nine), _ body: (ScheduleHarness) async throws -> T) async throws -> T {
    try await withStarted({ try await ScheduleHarness(config: config, clock: clock) }, stop: { await $0.stop() }, body)
}

@Suite struct ScheduleTests {
    static let nine = ScheduleHarness.nine
    static let minute = ScheduleHarness.minute

    /// Venue `krx` (lot 1, tick 10, pacing 10 s) and account `acct` holding the worked example of
    /// the target-weight plan: A 100 × 10,000, B 10 × 50,000, C 50 × 2,000, cash 400,000.
    static func config(fillDelayMs: Int = 0, quotes: [String: QuotePath] = [:], cash: String = "400000", positions: Bool = true) -> GatewayConfig {
        var config = GatewayConfig()
        var krx = VenuePolicy(name: "krx")
        krx.lotSize = .one
        krx.tickSize = ExactDecimal(10)
        krx.pacingIntervalMs = 10_000
        config.venues["krx"] = krx
        config.paperBroker.fillDelayMs = fillDelayMs
        config.paperBroker.quotes = quotes
        let holdings = positions ? [("A", "100", "10000"), ("B", "10", "50000"), ("C", "50", "2000")] : []
        config.paperBroker.accounts = ["acct": PaperAccount(currency: "KRW", cash: DecimalGrammar.parse(cash)!, positions: holdings.map {
            PaperPosition(venue: "krx", symbol: $0.0, qty: DecimalGrammar.parse($0.1)!, avgPrice: DecimalGrammar.parse($0.2)!, mark: DecimalGrammar.parse($0.2)!)
        })]
        return config
    }

    /// The worked example's target: equal weights over A, B, C.
    static func request(sellRounds: UInt32 = 10, buyRounds: UInt32 = 10, buys: Bool = true, sells: Bool = true) -> StartScheduleRequest {
        .with {
            $0.accountID = "acct"
            $0.venue = "krx"
            $0.fillFromAccount = true
            $0.target = .with {
                $0.sellRounds = sellRounds
                $0.buyRounds = buyRounds
                $0.sellEnabled = sells
                $0.buyEnabled = buys
            }
            $0.policy = .with {
                $0.timeZone = "Asia/Seoul"
                $0.tradingDate = "2026-12-02"
                if sells { $0.sellStart = "09:00" }
                if buys { $0.buyStart = "09:00" }
                $0.sessionEnd = "15:20"
                $0.roundIntervalS = 60
            }
            $0.intent = ["why": "test"]
        }
    }

    /// 33 shares in 10 rounds with round 3 rejected and every other round filled — rounds
    /// 1–9 commit 26 and the last round sells 33 − 26 = 7, marked corrected.
    @Test func tenRoundsWithAFailedRoundThreeCorrectedInTheLast() async throws {
        try await withSchedules { h in
            let schedule = try await h.start(Self.request(buys: false))
            #expect(schedule.state == .scheduled)
            #expect(schedule.legs.map(\.symbol) == ["A"])
            #expect(schedule.legs[0].rounds.map(\.plannedQty) == ["3", "3", "3", "4", "3", "3", "4", "3", "3", "4"])
            let id = schedule.scheduleID
            let third = PacedExecution.clientOrderID(scheduleID: id, sell: true, symbol: "A", round: 3)
            h.broker!.rejected.withLock { _ = $0.insert(third) }
            await h.run(from: Self.nine, through: Self.nine + 10 * Self.minute)

            let done = try await h.schedule(id)
            let rounds = done.legs[0].rounds
            #expect(done.state == .completed, "\(done.stateReason)")
            #expect(rounds.map(\.state) == [.filled, .filled, .failed] + Array(repeating: .filled, count: 7))
            #expect(rounds[9].orderQty == "7")
            #expect(rounds[9].corrected)
            #expect(rounds.map(\.dueAtMs) == (0..<10).map { Self.nine + Int64($0) * Self.minute })
            #expect(done.legs[0].filledQty == "33")
            #expect(done.stateReason == "")
            #expect(try await h.holding("A") == "67")
            let orders = try await h.orders(id)
            #expect(orders.count == 10)
            #expect(orders.filter { $0.status == .rejected }.map(\.order.clientOrderID) == [third])
            let kinds = try await h.events(id).map(\.kind)
            #expect(kinds.first == .created)
            #expect(kinds.filter { $0 == .roundSubmitted }.count == 9)
            #expect(kinds.filter { $0 == .roundFailed }.count == 1)
            #expect(kinds.filter { $0 == .lastRoundCorrected }.count == 1)
            #expect(kinds.last == .completed)
        }
    }

    /// A round whose order would pass a pre-trade limit fails with the limit named and sends
    /// nothing; the other rounds go on.
    @Test func aRoundOverARiskLimitFailsAndSendsNothing() async throws {
        var config = Self.config()
        var limits = RiskLimits()
        limits.maxOrderQuantity = ["A": ExactDecimal(3)]
        config.risk.accounts = ["acct": limits]
        try await withSchedules(config: config) { h in
            let schedule = try await h.start(Self.request(buys: false))
            let id = schedule.scheduleID
            await h.run(from: Self.nine, through: Self.nine + 10 * Self.minute)
            let rounds = try await h.schedule(id).legs[0].rounds
            // Rounds of 4 (and the corrected last one) are over the limit of 3.
            let failed = rounds.indices.filter { rounds[$0].state == .failed }
            #expect(failed == [3, 6, 9], "\(rounds.map(\.state))")
            #expect(failed.allSatisfy { rounds[$0].note.contains("max_order_qty allows 3") && rounds[$0].clientOrderID.isEmpty })
            #expect(rounds.filter { $0.state == .filled }.count == 7)
            let orders = try await h.orders(id)
            #expect(orders.count == 7 && orders.allSatisfy { $0.order.quantity == "3" })
            #expect(try await h.events(id).filter { $0.kind == .roundFailed }.count == 3)
        }
    }

    /// Amend: a buy the market moved away from is amended to the quote at the first poll 10 minutes
    /// after acceptance (polls from 09:00 every 3 minutes → 09:12), within its budget, then fills.
    @Test func anOrderTheMarketLeftIsAmendedAfterTheTimeout() async throws {
        let path = QuotePath.steps(prices: [ExactDecimal(2000), ExactDecimal(2100)], stepMs: Self.minute, originMs: Self.nine)
        try await withSchedules(config: Self.config(fillDelayMs: 30_000, quotes: ["krx:C": path], cash: "100000", positions: false)) { h in
            var request = Self.request(buyRounds: 1, sells: false)
            request.target.addedSymbols = [.with { $0.symbol = "C" }]
            let schedule = try await h.start(request)
            #expect(schedule.legs.map(\.totalAmount) == ["100000"])
            let id = schedule.scheduleID
            await h.run(from: Self.nine, through: Self.nine + 11 * Self.minute)
            var round = try await h.schedule(id).legs[0].rounds[0]
            #expect(round.state == .working)
            #expect(round.limitPrice == "2000")
            #expect(round.orderQty == "50")
            #expect(round.amendCount == 0)

            await h.run(from: Self.nine + 11 * Self.minute + 10_000, through: Self.nine + 16 * Self.minute)
            let done = try await h.schedule(id)
            round = done.legs[0].rounds[0]
            #expect(round.amendCount == 1)
            #expect(round.limitPrice == "2100")
            // The budget: 100,000 at 2,100 is 47 shares (the 50 at 2,000 no longer fit).
            #expect(round.orderQty == "47")
            #expect(round.filledQty == "47")
            #expect(round.state == .filled)
            #expect(done.state == .completed)
            // 98,700 spent: the 1,300 left does not buy another share at 2,100, so the leg is not short.
            #expect(done.stateReason == "")
            let amended = try await h.events(id).filter { $0.kind == .orderAmended }
            #expect(amended.map(\.timeMs) == [Self.nine + 12 * Self.minute])
            #expect(amended.map(\.price) == ["2100"])
            #expect(try await h.holding("C") == "47")
        }
    }

    /// Buys wait while a sell is working (state WAITING, one BUYS_WAITING event), and start
    /// at the first tick after the sells cleared.
    @Test func buysWaitWhileASellIsWorking() async throws {
        try await withSchedules(config: Self.config(fillDelayMs: 90_000)) { h in
            let schedule = try await h.start(Self.request(sellRounds: 1, buyRounds: 1))
            let id = schedule.scheduleID
            #expect(schedule.legs.map { "\($0.side == .sell ? "S" : "B") \($0.symbol)" } == ["S A", "B B", "B C"])
            await h.run(from: Self.nine, through: Self.nine + 2 * Self.minute)
            let waiting = try await h.schedule(id)
            #expect(waiting.state == .waiting)
            #expect(waiting.buyStartedAtMs == 0)
            #expect(waiting.legs[0].rounds[0].state == .working)
            #expect(try await h.orders(id).map(\.order.side) == [.sell])
            // The poll at 09:03 sees the sell filled; the buy phase starts at the next tick.
            await h.run(from: Self.nine + 2 * Self.minute + 10_000, through: Self.nine + 4 * Self.minute)
            let buying = try await h.schedule(id)
            #expect(buying.legs[0].rounds[0].state == .filled)
            #expect(buying.buyStartedAtMs > Self.nine + 3 * Self.minute - 1)
            #expect(buying.buyStartedAtMs <= Self.nine + 3 * Self.minute + 10_000)
            let events = try await h.events(id)
            #expect(events.filter { $0.kind == .buysWaiting }.count == 1)
            let fill = try #require(events.first { $0.kind == .orderFill && $0.side == .sell })
            let buyPhase = try #require(events.first { $0.kind == .phaseStarted && $0.side == .buy })
            #expect(fill.timeMs <= buyPhase.timeMs)
            let firstBuy = try #require(events.first { $0.kind == .roundSubmitted && $0.side == .buy })
            #expect(firstBuy.timeMs >= fill.timeMs)
        }
    }

    /// Resume: a gateway stopped in the middle resumes without repeating a round; an order written
    /// but never acknowledged (the broker was unreachable) is sent again with the same client
    /// order id; rounds that came due while it was down run in index order.
    @Test func aRestartInTheMiddleResumesWithoutRepeatingARound() async throws {
        try await withSchedules { h in
            let schedule = try await h.start(Self.request(buys: false))
            let id = schedule.scheduleID
            let fifth = PacedExecution.clientOrderID(scheduleID: id, sell: true, symbol: "A", round: 5)
            h.broker!.unreachable.withLock { _ = $0.insert(fifth) }
            await h.run(from: Self.nine, through: Self.nine + 4 * Self.minute + 30_000)
            let before = try await h.schedule(id)
            #expect(before.legs[0].rounds.prefix(4).allSatisfy { $0.state == .filled })
            #expect(before.legs[0].rounds[4].state == .queued)
            #expect(before.legs[0].rounds[4].clientOrderID == fifth)
            #expect(try await h.holding("A") == "87")

            try await h.restartGateway()
            await h.run(from: Self.nine + 8 * Self.minute, through: Self.nine + 10 * Self.minute)
            let done = try await h.schedule(id)
            #expect(done.state == .completed, "\(done.stateReason)")
            #expect(done.legs[0].rounds.allSatisfy { $0.state == .filled })
            #expect(done.legs[0].rounds[4].clientOrderID == fifth)
            #expect(try await h.holding("A") == "67")
            let orders = try await h.orders(id)
            #expect(orders.count == 10)
            #expect(Set(orders.map(\.order.clientOrderID)).count == 10)
            let events = try await h.events(id)
            #expect(events.filter { $0.kind == .resumed }.count == 1)
            #expect(events.filter { $0.kind == .roundSubmitted }.map(\.round) == Array(1...10))
        }
    }

    /// PreviewSchedule lists every round with its due time and writes nothing.
    @Test func previewListsEveryRoundWithoutSideEffects() async throws {
        try await withSchedules { h in
            let before = try await h.gateway.store.latestEventSeq()
            let preview = try await h.client.unary(KeelRPC.gatewayPreviewSchedule, Self.request(), as: Keel_Gateway_V1_PreviewScheduleResponse.self)
            #expect(preview.plan.totalEval == "2000000")
            #expect(preview.plan.cashCheck.shortfall == "3332")
            let sells = preview.rounds.filter { $0.side == .sell }
            #expect(sells.map(\.qty) == ["3", "3", "3", "4", "3", "3", "4", "3", "3", "4"])
            #expect(sells.map(\.dueAtMs) == (0..<10).map { Self.nine + Int64($0) * Self.minute })
            let bBuys = preview.rounds.filter { $0.side == .buy && $0.symbol == "B" }
            #expect(bBuys.map(\.amount) == ["16666", "16667", "16666", "16667", "16667", "16666", "16667", "16666", "16667", "16667"])
            #expect(bBuys.map(\.estimatedQty) == ["0", "0", "0", "1", "0", "0", "1", "0", "0", "1"])
            // Buys no earlier than the last sell round.
            #expect(bBuys.first?.dueAtMs == Self.nine + 9 * Self.minute)
            #expect(preview.policy.pollIntervalS == 180)
            #expect(preview.policy.amendAfterS == 600)
            #expect(try await h.gateway.store.latestEventSeq() == before)
            let listed = try await h.client.unary(KeelRPC.gatewayListSchedules, Keel_Gateway_V1_ListSchedulesRequest(), as: Keel_Gateway_V1_ListSchedulesResponse.self)
            #expect(listed.schedules.isEmpty)
        }
    }

    /// The errors of Start, idempotency, List paging and Cancel.
    @Test func startErrorsIdempotencyListAndCancel() async throws {
        try await withSchedules { h in
            let client = h.client
            await expectStatus(.permissionDenied, reason: "E_LIVE_GUARD", field: "x-allow-live") {
                _ = try await client.unary(KeelRPC.gatewayStartSchedule, Self.request(), as: Schedule.self)
            }
            var unknownVenue = Self.request()
            unknownVenue.venue = "nasdaq"
            await expectStatus(.notFound, reason: "E_VENUE_UNKNOWN", field: "venue") { _ = try await h.start(unknownVenue) }
            var late = Self.request()
            late.policy.sessionEnd = "08:59"
            late.policy.sellStart = "08:00"
            late.policy.buyStart = "08:00"
            await expectStatus(.failedPrecondition, reason: "E_SESSION_OVER", field: "policy.session_end") { _ = try await h.start(late) }
            var both = Self.request()
            both.target.cash = "5"
            await expectStatus(.invalidArgument, reason: "E_FIELD_NOT_ALLOWED", field: "target.cash") { _ = try await h.start(both) }
            var noAccount = Self.request()
            noAccount.accountID = ""
            await expectStatus(.invalidArgument, reason: "E_MISSING_FIELD", field: "account_id") { _ = try await h.start(noAccount) }
            var stranger = Self.request()
            stranger.accountID = "nobody"
            await expectStatus(.notFound, reason: "E_ACCOUNT_NOT_FOUND", field: "account_id") { _ = try await h.start(stranger) }
            var atTarget = Self.request()
            atTarget.target.excludedSymbols = ["A", "B", "C"]
            await expectStatus(.failedPrecondition, reason: "E_NOTHING_TO_DO", field: "target") { _ = try await h.start(atTarget) }
            #expect(try await h.gateway.store.liveSchedules().isEmpty)

            let first = try await h.start(Self.request(), key: "k1")
            // None of the refused starts left a plan at the planner: the first plan it stored is this one.
            let planner = KWPClient(host: "127.0.0.1", port: h.planner.address.port!)
            let stream = planner.serverStream(KeelRPC.plannerWatch, Keel_Planner_V1_WatchRequest(), as: Keel_Planner_V1_PlannerEvent.self, timeout: .seconds(20))
            var firstPlanned: Keel_Planner_V1_PlannerEvent?
            for try await event in stream {
                firstPlanned = event
                break
            }
            stream.cancel()
            await planner.close()
            #expect(firstPlanned?.planID == first.planID)
            let replay = try await h.start(Self.request(), key: "k1")
            #expect(replay.replayed)
            #expect(replay.scheduleID == first.scheduleID)
            var other = Self.request()
            other.target.sellRounds = 3
            let reused = await expectStatus(.alreadyExists, reason: "E_IDEMPOTENCY_KEY_REUSED", field: "idempotency-key") { _ = try await h.start(other, key: "k1") }
            #expect(reused?.metadata["schedule_id"] == first.scheduleID)
            let active = await expectStatus(.failedPrecondition, reason: "E_SCHEDULE_ACTIVE", field: "account_id") { _ = try await h.start(other) }
            #expect(active?.metadata["schedule_id"] == first.scheduleID)

            // Cancelled after its first round: the other rounds are never issued.
            await h.run(from: Self.nine, through: Self.nine)
            let cancel = Keel_Gateway_V1_CancelScheduleRequest.with { $0.scheduleID = first.scheduleID; $0.reason = "operator stop" }
            let cancelled = try await client.unary(KeelRPC.gatewayCancelSchedule, cancel, as: Schedule.self)
            #expect(cancelled.state == .cancelled)
            #expect(cancelled.stateReason == "operator stop")
            await h.run(from: Self.nine + 10_000, through: Self.nine + 5 * Self.minute)
            let after = try await h.schedule(first.scheduleID)
            #expect(after.legs[0].rounds[0].state == .filled)
            #expect(after.legs[0].rounds.dropFirst().allSatisfy { $0.state == .pending })
            #expect(try await client.unary(KeelRPC.gatewayCancelSchedule, cancel, as: Schedule.self).state == .cancelled)
            await expectStatus(.notFound, reason: "E_SCHEDULE_NOT_FOUND", field: "schedule_id") {
                _ = try await client.unary(KeelRPC.gatewayGetSchedule, Keel_Gateway_V1_GetScheduleRequest.with { $0.scheduleID = "sch_nope" }, as: Schedule.self)
            }

            // A second schedule can start now; List pages newest first.
            let second = try await h.start(Self.request(sellRounds: 2, buys: false))
            let page1 = try await client.unary(KeelRPC.gatewayListSchedules, Keel_Gateway_V1_ListSchedulesRequest.with { $0.limit = 1 }, as: Keel_Gateway_V1_ListSchedulesResponse.self)
            #expect(page1.schedules.map(\.scheduleID) == [second.scheduleID])
            let page2 = try await client.unary(KeelRPC.gatewayListSchedules, Keel_Gateway_V1_ListSchedulesRequest.with { $0.limit = 1; $0.pageToken = page1.nextPageToken },
                                               as: Keel_Gateway_V1_ListSchedulesResponse.self)
            #expect(page2.schedules.map(\.scheduleID) == [first.scheduleID])
            #expect(page2.nextPageToken.isEmpty)
            let active2 = try await client.unary(KeelRPC.gatewayListSchedules, Keel_Gateway_V1_ListSchedulesRequest.with { $0.activeOnly = true }, as: Keel_Gateway_V1_ListSchedulesResponse.self)
            #expect(active2.schedules.map(\.scheduleID) == [second.scheduleID])
            await expectStatus(.invalidArgument, reason: "E_INVALID_PAGE_TOKEN", field: "page_token") {
                _ = try await client.unary(KeelRPC.gatewayListSchedules, Keel_Gateway_V1_ListSchedulesRequest.with { $0.pageToken = "x" }, as: Keel_Gateway_V1_ListSchedulesResponse.self)
            }
            await h.run(from: Self.nine + 6 * Self.minute, through: Self.nine + 8 * Self.minute)
            await expectStatus(.failedPrecondition, reason: "E_SCHEDULE_FINISHED", field: "schedule_id") {
                _ = try await client.unary(KeelRPC.gatewayCancelSchedule, Keel_Gateway_V1_CancelScheduleRequest.with { $0.scheduleID = second.scheduleID }, as: Schedule.self)
            }
        }
    }

    /// Session end: an order still working at the session end is cancelled (paced) and the
    /// schedule is EXPIRED with what was left; the broker keeps the shares.
    @Test func theSessionEndCancelsWhatIsWorkingAndExpires() async throws {
        try await withSchedules(config: Self.config(fillDelayMs: 10 * 3_600_000)) { h in
            var request = Self.request(sellRounds: 2, buys: false)
            request.policy.sessionEnd = "09:05"
            request.policy.roundIntervalS = 240
            let id = try await h.start(request).scheduleID
            await h.run(from: Self.nine, through: Self.nine + 3 * Self.minute)
            #expect(try await h.schedule(id).legs[0].rounds.map(\.state) == [.working, .pending])
            // Round 2 is due at 09:04 and sized then: the 16 still working count against what is sellable.
            await h.run(from: Self.nine + 3 * Self.minute + 10_000, through: Self.nine + 6 * Self.minute)
            let done = try await h.schedule(id)
            #expect(done.state == .expired)
            #expect(done.stateReason == "session ended, 2 orders working; A: 0 of 33", "\(done.stateReason)")
            #expect(done.legs[0].rounds.map(\.state) == [.donePartial, .donePartial])
            #expect(done.legs[0].rounds.map(\.orderQty) == ["16", "17"])
            #expect(done.legs[0].committedQty == "0")
            let events = try await h.events(id)
            #expect(events.filter { $0.kind == .orderCancelled }.map(\.round) == [1, 2])
            #expect(events.filter { $0.kind == .expired }.count == 1)
            #expect(try await h.holding("A") == "100")
            let orders = try await h.orders(id)
            #expect(orders.map(\.status) == [.cancelled, .cancelled])
            #expect(try await h.gateway.store.liveSchedules().isEmpty)
        }
    }

    /// Pacing: two legs due at the same instant go through the venue's queue 10 s apart.
    @Test func theVenueQueueSpacesOrdersByItsInterval() async throws {
        try await withSchedules { h in
            let id = try await h.start(Self.request(buyRounds: 1, sells: false)).scheduleID
            await h.run(from: Self.nine, through: Self.nine + 25_000, every: 1_000)
            let submitted = try await h.events(id).filter { $0.kind == .roundSubmitted }
            #expect(submitted.map(\.symbol) == ["B", "C"])
            #expect(submitted.map(\.timeMs) == [Self.nine, Self.nine + 10_000])
            let done = try await h.schedule(id)
            // B: 166,666 buys 3 at 50,000; C: 566,666 capped by the 250,000 of cash left buys 125 at 2,000.
            #expect(done.legs.map { $0.rounds[0].orderQty } == ["3", "125"])
            #expect(done.state == .completed)
        }
    }

    /// Progress is on Watch topic `schedule.progress`, resumable from a seq like the other topics.
    @Test func progressIsOnWatch() async throws {
        try await withSchedules { h in
            let watch = h.client.serverStream(KeelRPC.gatewayWatch, Keel_Gateway_V1_WatchRequest.with { $0.topics = ["schedule.progress"] },
                                              as: GatewayEvent.self, timeout: .seconds(20))
            var iterator = watch.makeAsyncIterator()
            let id = try await h.start(Self.request(sellRounds: 1, buys: false)).scheduleID
            await h.run(from: Self.nine, through: Self.nine)
            var kinds: [Keel_Gateway_V1_ScheduleEventKind] = []
            while kinds.last != .completed, let event = try await iterator.next() {
                #expect(event.topic == "schedule.progress")
                #expect(event.schedule.scheduleID == id)
                #expect(event.schedule.intent == ["why": "test"])
                kinds.append(event.schedule.kind)
            }
            #expect(kinds == [.created, .phaseStarted, .roundSubmitted, .orderFill, .completed])
        }
    }

    /// ORDER_STYLE_MARKET: market orders at the quote, sized at the quote, never amended.
    @Test func marketOrdersAreFilledAtTheQuoteAndNeverAmended() async throws {
        let path = QuotePath.steps(prices: [ExactDecimal(10_000), ExactDecimal(9_000)], stepMs: Self.minute, originMs: Self.nine)
        try await withSchedules(config: Self.config(fillDelayMs: 60_000, quotes: ["krx:A": path])) { h in
            var request = Self.request(sellRounds: 2, buys: false)
            request.policy.orderStyle = .market
            let id = try await h.start(request).scheduleID
            await h.run(from: Self.nine, through: Self.nine + 20 * Self.minute, every: Self.minute)
            let done = try await h.schedule(id)
            #expect(done.state == .completed)
            #expect(done.policy.orderStyle == .market)
            #expect(done.legs[0].rounds.map(\.state) == [.filled, .filled])
            #expect(done.legs[0].rounds.map(\.amendCount) == [0, 0])
            #expect(done.legs[0].rounds.map(\.filledAmount) == ["160000", "153000"])
        }
    }

    /// A stored schedule whose decimals cannot be read is FAILED with an event naming the row; no
    /// round runs on a quantity read as zero.
    @Test func aScheduleWithAnUnreadableStoredDecimalFails() async throws {
        try await withSchedules { h in
            let id = try await h.start(Self.request(sellRounds: 3, buys: false)).scheduleID
            await h.run(from: Self.nine, through: Self.nine + 10_000)
            let ordersBefore = try await h.orders(id).count
            try await h.restartGateway { path in
                let queue = try DatabaseQueue(path: path)
                try queue.write { db in
                    let body = try #require(try Data.fetchOne(db, sql: "SELECT body FROM schedules WHERE schedule_id = ?", arguments: [id]))
                    var schedule = try Schedule(serializedBytes: body)
                    schedule.legs[0].rounds[0].filledQty = "lots"
                    try db.execute(sql: "UPDATE schedules SET body = ? WHERE schedule_id = ?", arguments: [try schedule.serializedBytes() as Data, id])
                }
            }
            await h.run(from: Self.nine + Self.minute, through: Self.nine + 3 * Self.minute)
            let failed = try await h.schedule(id)
            #expect(failed.state == .failed)
            #expect(failed.stateReason.contains("schedules row \(id)") && failed.stateReason.contains("\"lots\" is not a decimal"), "\(failed.stateReason)")
            #expect(try await h.events(id).last?.kind == .failed)
            #expect(try await h.orders(id).count == ordersBefore)
        }
    }

    /// Resume: an order acknowledged before a restart that the broker no longer knows cannot be
    /// reconciled: the round and the schedule are FAILED, and nothing more is issued.
    @Test func anAcknowledgedOrderUnknownAfterARestartFailsTheSchedule() async throws {
        try await withSchedules(config: Self.config(fillDelayMs: 10 * 3_600_000)) { h in
            let id = try await h.start(Self.request(sellRounds: 3, buys: false)).scheduleID
            await h.run(from: Self.nine, through: Self.nine + 10_000)
            let first = try await h.schedule(id).legs[0].rounds[0]
            #expect(first.state == .working)
            h.forgotten.ids.withLock { _ = $0.insert(first.clientOrderID) }
            try await h.restartGateway()
            await h.run(from: Self.nine + 5 * Self.minute, through: Self.nine + 6 * Self.minute)
            let failed = try await h.schedule(id)
            #expect(failed.state == .failed)
            #expect(failed.stateReason == "orders unknown to the broker after acknowledgement: \(first.clientOrderID)")
            #expect(failed.legs[0].rounds.map(\.state) == [.failed, .pending, .pending])
            #expect(try await h.events(id).map(\.kind).suffix(2) == [.resumed, .failed])
            #expect(try await h.gateway.store.liveSchedules().isEmpty)
            #expect(try await h.orders(id).count == 1)
        }
    }
}

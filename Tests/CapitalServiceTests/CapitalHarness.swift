import CapitalAllocation
import CapitalService
import Contracts
import Execution
import Foundation
import GatewayService
import KeelTestSupport
import KeelWire
import NIOConcurrencyHelpers
import PlannerService
import SwiftProtobuf
import Testing

typealias Account = Keel_Capital_V1_Account
typealias StrategyAccount = Keel_Capital_V1_StrategyAccount
typealias ReallocateResponse = Keel_Capital_V1_ReallocateResponse
typealias BulkResponse = Keel_Capital_V1_BulkRebalanceResponse

/// A clock the tests move by hand; sleepers wake when it passes their deadline, and a test can
/// wait until the code under test is asleep (its signal that it has done what the time allowed).
final class ManualClock: SchedulerClock, @unchecked Sendable {
    private struct State {
        var now: Int64
        var sleepers: [(deadline: Int64, continuation: CheckedContinuation<Void, Error>)] = []
        var watchers: [(after: Int64, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state: NIOLockedValueBox<State>

    init(_ start: Int64) { state = NIOLockedValueBox(State(now: start)) }

    func now() -> Int64 { state.withLockedValue { $0.now } }

    func set(_ ms: Int64) {
        let due = state.withLockedValue { state -> [CheckedContinuation<Void, Error>] in
            state.now = ms
            let due = state.sleepers.filter { $0.deadline <= ms }.map(\.continuation)
            state.sleepers.removeAll { $0.deadline <= ms }
            return due
        }
        for continuation in due { continuation.resume() }
    }

    func advance(by ms: Int64) { set(now() + ms) }

    func sleep(untilMs ms: Int64) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let (resumeNow, watchers) = state.withLockedValue { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                    if state.now >= ms { return (true, []) }
                    state.sleepers.append((ms, continuation))
                    let woken = state.watchers.filter { $0.after < ms }.map(\.continuation)
                    state.watchers.removeAll { $0.after < ms }
                    return (false, woken)
                }
                for watcher in watchers { watcher.resume() }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let all = state.withLockedValue { state -> [CheckedContinuation<Void, Error>] in
                defer { state.sleepers = [] }
                return state.sleepers.map(\.continuation)
            }
            for continuation in all { continuation.resume(throwing: CancellationError()) }
        }
    }

    /// Returns once something sleeps until a time after `after`.
    func sleeper(after: Int64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLockedValue { state -> Bool in
                if state.sleepers.contains(where: { $0.deadline > after }) { return true }
                state.watchers.append((after, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }
}

/// An instant from ISO 8601 text.
func ms(_ text: String) -> Int64 {
    Int64(ISO8601DateFormatter().date(from: text)!.timeIntervalSince1970 * 1000)
}

/// A planner, a gateway (paper broker account `default`, 10,000 USDT) and keel-capital in process
/// on ephemeral loopback ports, the capital service's scheduler driven by the test's clock.
struct CapitalHarness {
    let planner: PlannerServer
    var gateway: GatewayServer?
    let capital: CapitalServer
    let client: KWPClient
    let gatewayClient: KWPClient
    let clock: ManualClock
    let dataDirectory: String

    static let gatewayConfig = try! GatewayConfig.parse(object: [
        "live_guard": ["enforce": true],
        "paper_broker": ["accounts": ["default": ["currency": "USDT", "cash": "10000"], "eur": ["currency": "EUR", "cash": "500"]]],
    ])

    static func start(settings: CapitalSettings = CapitalSettings(), clock: ManualClock = ManualClock(ms("2026-03-02T03:00:00Z")),
                      dataDirectory: String? = nil, withGateway: Bool = true, followFills: Bool = false, bulkChunk: Int = 500) async throws -> CapitalHarness {
        let planner = try await PlannerServer.start(.init(endpoint: .init(port: 0, drainTimeout: .seconds(2)), dataDirectory: NSTemporaryDirectory() + "keel-cap-planner-\(UUID().uuidString)"))
        var gateway: GatewayServer?
        var gatewayTarget = "127.0.0.1:1"
        if withGateway {
            let started = try await GatewayServer.start(.init(
                endpoint: .init(port: 0, drainTimeout: .seconds(2)), dataDirectory: NSTemporaryDirectory() + "keel-cap-gw-\(UUID().uuidString)", planner: "127.0.0.1:\(planner.address.port!)",
                config: gatewayConfig))
            gateway = started
            gatewayTarget = "127.0.0.1:\(started.address.port!)"
        }
        let directory = dataDirectory ?? NSTemporaryDirectory() + "keel-cap-\(UUID().uuidString)"
        var configuration = CapitalServer.Configuration(
            endpoint: .init(port: 0, drainTimeout: .seconds(2)), dataDirectory: directory, gateway: gatewayTarget, planner: "127.0.0.1:\(planner.address.port!)",
            settings: settings, clock: clock)
        configuration.bulkChunk = bulkChunk
        let capital = try await CapitalServer.start(configuration, startScheduler: false, followFills: followFills)
        let client = KWPClient(host: "127.0.0.1", port: capital.address.port!)
        let gatewayClient = KWPClient(host: "127.0.0.1", port: gateway?.address.port ?? 1)
        return CapitalHarness(planner: planner, gateway: gateway, capital: capital, client: client, gatewayClient: gatewayClient, clock: clock, dataDirectory: directory)
    }

    func stop() async {
        await client.close()
        await gatewayClient.close()
        await capital.stop()
        await gateway?.stop()
        await planner.stop()
    }

    func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ rpc: RPCDescriptor, _ request: Request, as: Response.Type = Response.self, metadata: [String: String] = [:]
    ) async throws -> Response {
        try await client.unary(rpc, request, as: Response.self, metadata: metadata, timeout: .seconds(20))
    }

    @discardableResult
    func account(_ id: String, venue: String = "x", currency: String = "USDT", gatewayAccount: String = "default", _ edit: (inout Account) -> Void = { _ in }) async throws -> Account {
        var account = Account()
        account.accountID = id
        account.name = "Account \(id)"
        account.venue = venue
        account.quoteCurrency = currency
        account.gatewayAccountID = gatewayAccount
        edit(&account)
        return try await call(KeelRPC.capitalUpsertAccount, Keel_Capital_V1_UpsertAccountRequest.with { $0.account = account })
    }

    @discardableResult
    func strategy(_ id: String, account: String, strategyID: String, weight: String = "1", _ edit: (inout StrategyAccount) -> Void = { _ in }) async throws -> StrategyAccount {
        var sa = StrategyAccount()
        sa.strategyAccountID = id
        sa.accountID = account
        sa.strategyID = strategyID
        sa.strategyName = "Strategy \(strategyID)"
        sa.weight = weight
        edit(&sa)
        return try await call(KeelRPC.capitalUpsertStrategyAccount, Keel_Capital_V1_UpsertStrategyAccountRequest.with { $0.strategyAccount = sa })
    }

    func balance(_ account: String, _ date: String, _ value: String) async throws {
        let _: Keel_Capital_V1_DailyBalance = try await call(KeelRPC.capitalRecordDailyBalance, Keel_Capital_V1_RecordDailyBalanceRequest.with {
            $0.balance = .with { $0.accountID = account; $0.date = date; $0.endingBalance = value }
        })
    }

    func reallocate(_ account: String, useLive: Bool = false, converge: Keel_Capital_V1_ConvergeMode = .none, metadata: [String: String] = [:]) async throws -> ReallocateResponse {
        try await call(KeelRPC.capitalReallocate, Keel_Capital_V1_ReallocateRequest.with { $0.accountID = account; $0.useLive = useLive; $0.converge = converge }, metadata: metadata)
    }

    func getAccount(_ id: String) async throws -> Keel_Capital_V1_GetAccountResponse {
        try await call(KeelRPC.capitalGetAccount, Keel_Capital_V1_GetAccountRequest.with { $0.accountID = id })
    }

    /// Sells 1 of 2 BTC of strategy `s` in world `w` at the paper broker (venue `x`, account
    /// `default`, an order attributed to `s`): the broker then holds −1 BTC.
    func sellOneBTCAtTheBroker() async throws {
        var sell = Keel_Gateway_V1_ExecuteRequest()
        sell.submit = true
        sell.perStrategy = true
        sell.planRequest = .with {
            $0.totalEquity = "1000"
            $0.worldAllocBefore = ["w": "1"]
            $0.worldAllocAfter = ["w": "0.5"]
            $0.positions = [.with { $0.worldID = "w"; $0.strategyID = "s"; $0.symbol = "BTC"; $0.qty = "2"; $0.mark = "100"; $0.venue = "x" }]
        }
        let sold = try await gatewayClient.unary(KeelRPC.gatewayExecute, sell, as: Keel_Gateway_V1_ExecuteResponse.self, metadata: ["x-allow-live": "true"])
        #expect(sold.submitted)
        await gateway?.dispatcher.idle()
    }

    /// The `seq` of the gateway's `orders` event that reports `count` orders filled in all.
    func filledEventSeq(count: Int) async throws -> UInt64 {
        var filled = 0
        let stream = gatewayClient.serverStream(KeelRPC.gatewayWatch, Keel_Gateway_V1_WatchRequest.with { $0.topics = ["orders"] }, as: Keel_Gateway_V1_GatewayEvent.self, timeout: .seconds(20))
        for try await event in stream where event.order.status == .filled {
            filled += 1
            if filled == count { stream.cancel(); return event.seq }
        }
        throw RPCError(.unknown, "the stream ended before \(count) fills")
    }

    func trade(_ sa: String, _ execution: String, side: Keel_Capital_V1_OrderSide = .buy, symbol: String = "BTC", qty: String = "1", price: String = "100", pnl: String = "", atMs: Int64 = 0) async throws -> Keel_Capital_V1_RecordTradeResponse {
        try await call(KeelRPC.capitalRecordTrade, Keel_Capital_V1_RecordTradeRequest.with {
            $0.strategyAccountID = sa; $0.executionID = execution; $0.side = side; $0.symbol = symbol; $0.qty = qty; $0.price = price
            $0.realizedPnl = pnl; $0.executionTimeMs = atMs
        })
    }
}

func withCapital<T>(settings: CapitalSettings = CapitalSettings(), clock: ManualClock = ManualClock(ms("2026-03-02T03:00:00Z")),
                    dataDirectory: String? = nil, withGateway: Bool = true, followFills: Bool = false, bulkChunk: Int = 500,
                    _ body: (CapitalHarness) async throws -> T) async throws -> T {
    try await withStarted({ try await CapitalHarness.start(settings: settings, clock: clock, dataDirectory: dataDirectory, withGateway: withGateway, followFills: followFills,
                                                           bulkChunk: bulkChunk) },
                          stop: { await $0.stop() }, body)
}

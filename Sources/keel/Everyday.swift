import ArgumentParser
import Contracts
import ExactNumbers
import Foundation
import KeelWire
import NIOCore
import SwiftProtobuf

// The everyday commands: the same RPCs as `keel call`, with readable answers (`--raw` prints the
// protobuf JSON instead). Every non-OK status prints its name, reason and field and exits 1.

/// Output shared by the everyday commands.
struct Output: ParsableArguments {
    @Flag(help: "Print the answer as protobuf JSON instead of a table.")
    var raw = false
}

extension Connection {
    /// One unary call with this connection's token, metadata and deadline; a non-OK status is `CallFailed`.
    func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ target: String, _ rpc: RPCDescriptor, _ request: Request, as: Response.Type = Response.self, extra: [String: String] = [:]
    ) async throws -> Response {
        let client = try client(target)
        defer { Task { await client.close() } }
        var metadata = try metadataMap()
        for (key, value) in extra { metadata[key] = value }
        do {
            return try await client.unary(rpc, request, as: Response.self, metadata: metadata, timeout: .milliseconds(Int64(timeoutMs)))
        } catch {
            throw CallFailed(error: error)
        }
    }
}

/// Reads a request body: a file path, or - for standard input.
func requestBody<M: SwiftProtobuf.Message>(_ path: String, as type: M.Type) throws -> M {
    let data: Data
    if path == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        guard let contents = FileManager.default.contents(atPath: path) else { throw ValidationError("--json \(path): cannot read the file") }
        data = contents
    }
    do {
        return try M(jsonUTF8Data: data)
    } catch {
        throw ValidationError("the body is not a \(M.protoMessageName) in JSON: \(error)")
    }
}

func printJSON(_ message: some SwiftProtobuf.Message) throws {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    print(try message.jsonString(options: options))
}

/// Columns padded to their widest cell.
func table(_ header: [String], _ rows: [[String]], indent: String = "  ") -> String {
    guard !rows.isEmpty else { return indent + "(none)" }
    let all = [header] + rows
    let widths = header.indices.map { i in all.map { $0.indices.contains(i) ? $0[i].count : 0 }.max() ?? 0 }
    return all.map { row in
        indent + row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }.joined(separator: "\n")
}

/// A computed price (an average, a mark) as people read it: at most 8 significant digits, rounded
/// half-even. Tables only; `--raw` and `keel call` print the exact value the service wrote.
func forReading(_ decimal: String, significantDigits: Int = 8) -> String {
    guard let value = DecimalGrammar.parse(decimal) else { return decimal }
    return value.roundedToSignificantDigits(significantDigits).description
}

/// An enum value as people read it: `partiallyFilled` → `PARTIALLY_FILLED` (the value's name
/// without its type prefix).
func name(_ value: some SwiftProtobuf.Enum) -> String {
    var out = ""
    for character in "\(value)" {
        if character.isUppercase { out += "_" }
        out += character.uppercased()
    }
    return out
}

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Plan a rebalance (Planner/Plan, directly or through the gateway) and print the deltas.")

    @Argument(help: "host:port of keel-planner (or keel-gateway with --gateway).") var target: String
    @Option(help: "PlanRequest in JSON: a file path, or - for standard input.") var json: String
    @Flag(help: "The target is keel-gateway (Gateway/Plan, proxied to the planner).") var gateway = false
    @Flag(name: .customLong("dry-run"), help: "Plan without storing the plan.") var dryRun = false
    @OptionGroup var output: Output
    @OptionGroup var connection: Connection

    func run() async throws {
        var request = try requestBody(json, as: Keel_Planner_V1_PlanRequest.self)
        if dryRun { request.dryRun = true }
        let response = try await connection.call(target, gateway ? KeelRPC.gatewayPlan : KeelRPC.plannerPlan, request, as: Keel_Planner_V1_PlanResponse.self)
        if output.raw { return try printJSON(response) }
        let plan = response.plan
        print("plan \(plan.planID.isEmpty ? "(dry run)" : plan.planID)\(response.replayed ? " (replayed)" : "")")
        for world in plan.perWorld {
            print("world \(world.worldID): scale \(world.scaleWorld)")
            print(table(["venue", "symbol", "delta"], world.deltas.map { [$0.venue, $0.symbol, $0.deltaQty] }))
        }
        print("net per (venue, symbol):")
        print(table(["venue", "symbol", "delta"], plan.globalDeltas.map { [$0.venue, $0.symbol, $0.deltaQty] }))
        if !plan.globalSkipped.isEmpty {
            print("skipped:")
            print(table(["world", "venue", "symbol", "reason"], plan.globalSkipped.map { [$0.worldID, $0.venue, $0.symbol, "\($0.reason)"] }))
        }
    }
}

struct ExecuteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "execute", abstract: "Gateway/Execute: preview the orders of a plan, or submit them (--submit --allow-live).")

    @Argument(help: "host:port of keel-gateway.") var target: String
    @Option(help: "ExecuteRequest in JSON: a file path, or - for standard input.") var json: String
    @Flag(help: "Submit the orders (otherwise a preview).") var submit = false
    @Flag(name: .customLong("allow-live"), help: "Send x-allow-live: true (the live guard's consent).") var allowLive = false
    @Option(name: .customLong("idempotency-key"), help: "Idempotency key of the submission.") var idempotencyKey: String?
    @OptionGroup var output: Output
    @OptionGroup var connection: Connection

    func run() async throws {
        var request = try requestBody(json, as: Keel_Gateway_V1_ExecuteRequest.self)
        if submit { request.submit = true }
        var extra: [String: String] = [:]
        if allowLive { extra[MetadataKey.allowLive] = "true" }
        if let idempotencyKey { extra[MetadataKey.idempotencyKey] = idempotencyKey }
        let response = try await connection.call(target, KeelRPC.gatewayExecute, request, as: Keel_Gateway_V1_ExecuteResponse.self, extra: extra)
        if output.raw { return try printJSON(response) }
        let orders = !response.ordersPerStrategy.isEmpty ? response.ordersPerStrategy
            : !response.ordersGlobal.isEmpty ? response.ordersGlobal : response.ordersPerWorld.flatMap(\.orders)
        print(response.submitted ? "submitted execution \(response.executionID)\(response.replayed ? " (replayed)" : ""), plan \(response.planID)" : "preview of plan \(response.planID.isEmpty ? "(dry run)" : response.planID)")
        print(table(["world", "strategy", "venue", "symbol", "side", "qty", "reduce-only", "mark"], orders.map {
            [$0.worldID, $0.strategyID, $0.venue, $0.symbol, name($0.side), $0.quantity, $0.reduceOnly ? "yes" : "no", $0.referenceMark]
        }))
        if !response.violations.isEmpty {
            print("violations:")
            print(table(["world", "venue", "symbol", "reason", "qty"], response.violations.map { [$0.worldID, $0.venue, $0.symbol, "\($0.reason)", $0.requestedQty] }))
        }
        for batch in response.batches { print("batch \(batch.batchID): \(batch.orderCount) orders (world \(batch.worldID))") }
    }
}

struct OrdersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "orders", abstract: "Gateway/ListOrders: the orders and their status.")

    @Argument(help: "host:port of keel-gateway.")
    var target: String
    @Option(help: "Only this batch.")
    var batch: String?
    @Option(help: "Only this world.")
    var world: String?
    @OptionGroup var output: Output
    @OptionGroup var connection: Connection

    func run() async throws {
        var request = Keel_Gateway_V1_ListOrdersRequest()
        request.batchID = batch ?? ""
        request.worldID = world ?? ""
        request.limit = 1000
        let response = try await connection.call(target, KeelRPC.gatewayListOrders, request, as: Keel_Gateway_V1_ListOrdersResponse.self)
        if output.raw { return try printJSON(response) }
        print(table(["client order id", "world", "strategy", "venue", "symbol", "side", "qty", "filled", "status"], Self.rows(response.orders)))
    }

    /// A world's order that was recorded but sent as per-strategy orders (RECORDED, never filled)
    /// shows how it was split, and its strategy orders follow it, indented; every other order as it is.
    static func rows(_ orders: [Keel_Gateway_V1_OrderRecord]) -> [[String]] {
        func row(_ record: Keel_Gateway_V1_OrderRecord, indent: String = "", status: String? = nil) -> [String] {
            [indent + record.order.clientOrderID, record.order.worldID, record.order.strategyID, record.order.venue, record.order.symbol,
             name(record.order.side), record.order.quantity, record.filledQty, status ?? name(record.status)]
        }
        func sameLeg(_ a: Keel_Gateway_V1_Order, _ b: Keel_Gateway_V1_Order) -> Bool {
            a.worldID == b.worldID && a.venue == b.venue && a.symbol == b.symbol && a.side == b.side
        }
        var shown = Set<String>()
        var out: [[String]] = []
        for record in orders where !shown.contains(record.order.clientOrderID) {
            let parts = record.status == .recorded && record.order.strategyID.isEmpty
                ? orders.filter { $0.status != .recorded && !$0.order.strategyID.isEmpty && sameLeg($0.order, record.order) }
                : []
            shown.insert(record.order.clientOrderID)
            guard !parts.isEmpty else {
                out.append(row(record))
                continue
            }
            out.append(row(record, status: "RECORDED: sent as \(parts.count) strategy order\(parts.count == 1 ? "" : "s") below"))
            for part in parts where shown.insert(part.order.clientOrderID).inserted { out.append(row(part, indent: "  ")) }
        }
        return out
    }
}

struct PositionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "positions", abstract: "Gateway/GetPositions: the broker account's positions (and what the gateway attributes).")

    @Argument(help: "host:port of keel-gateway.")
    var target: String
    @Option(help: "Broker account (default: default).")
    var account: String = "default"
    @Flag(help: "Also the gateway's fills per world and strategy.")
    var attributed = false
    @OptionGroup var output: Output
    @OptionGroup var connection: Connection

    func run() async throws {
        let request = Keel_Gateway_V1_GetPositionsRequest.with { $0.accountID = account; $0.includeAttributed = attributed }
        let response = try await connection.call(target, KeelRPC.gatewayGetPositions, request, as: Keel_Gateway_V1_GetPositionsResponse.self)
        if output.raw { return try printJSON(response) }
        print(table(["venue", "symbol", "qty", "avg price", "mark"], response.positions.map {
            [$0.venue, $0.symbol, $0.qty, forReading($0.avgPrice), forReading($0.mark)]
        }))
        if attributed {
            print("attributed fills:")
            print(table(["world", "strategy", "venue", "symbol", "qty"], response.attributed.map { [$0.worldID, $0.strategyID, $0.venue, $0.symbol, $0.qty] }))
        }
    }
}

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Watch events as they arrive: the gateway's (rebalancing.planned, orders) or the planner's.",
        discussion: "One JSON document per event, until interrupted (or --count events).")

    @Argument(help: "host:port of keel-gateway or keel-planner.")
    var target: String
    @Option(help: "Topics (gateway): rebalancing.planned, orders, schedule.progress; repeatable; none = all.")
    var topic: [String] = []
    @Option(name: .customLong("after-seq"), help: "Resume after this sequence number.")
    var afterSeq: UInt64 = 0
    @Flag(help: "Watch keel-planner's Planner/Watch instead of the gateway.")
    var planner = false
    @Option(help: "Stop after this many events.")
    var count: Int?
    @OptionGroup var connection: Connection

    func run() async throws {
        let client = try connection.client(target)
        defer { Task { await client.close() } }
        let metadata = try connection.metadataMap()
        do {
            if planner {
                try await printEvents(client.serverStream(
                    KeelRPC.plannerWatch, Keel_Planner_V1_WatchRequest.with { $0.afterSeq = afterSeq }, as: Keel_Planner_V1_PlannerEvent.self, metadata: metadata))
            } else {
                try await printEvents(client.serverStream(
                    KeelRPC.gatewayWatch, Keel_Gateway_V1_WatchRequest.with { $0.topics = topic; $0.afterSeq = afterSeq },
                    as: Keel_Gateway_V1_GatewayEvent.self, metadata: metadata))
            }
        } catch let error as RPCError {
            throw CallFailed(error: error)
        }
    }
}

extension WatchCommand {
    /// One JSON line per event until the stream ends or `--count` events were printed.
    func printEvents<Event: SwiftProtobuf.Message>(_ stream: ResponseStream<Event>) async throws {
        var seen = 0
        for try await event in stream {
            try printJSON(event)
            seen += 1
            if let count, seen >= count { stream.cancel(); return }
        }
    }
}

/// keel-capital and one of its accounts.
struct CapitalAccount: ParsableArguments {
    @Argument(help: "host:port of keel-capital.")
    var target: String
    @Argument(help: "The account id.")
    var accountID: String
}

struct CapitalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capital", abstract: "keel-capital: reallocate accounts, show an account, the rebalance status.",
        subcommands: [Reallocate.self, Show.self, Status.self])

    struct Reallocate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Capital/Reallocate one account (or every active one with --all).")

        @Argument(help: "host:port of keel-capital.")
        var target: String
        @Argument(help: "The account id (omit with --all).")
        var accountID: String?
        @Flag(help: "ReallocateAll: every active account.")
        var all = false
        @Flag(name: .customLong("use-live"), help: "Take the total from the gateway's live balance (falls back to the daily balance).")
        var useLive = false
        @Option(help: "Move the positions with the capital: none, plan or execute.")
        var converge: String = "none"
        @Flag(name: .customLong("allow-live"), help: "Send x-allow-live: true (passed on to the gateway by converge).")
        var allowLive = false
        @OptionGroup var output: Output
        @OptionGroup var connection: Connection

        func validate() throws {
            guard ["none", "plan", "execute"].contains(converge) else { throw ValidationError("--converge must be none, plan or execute") }
            if all == (accountID != nil) { throw ValidationError("give an account id or --all") }
        }

        func run() async throws {
            let mode: Keel_Capital_V1_ConvergeMode = converge == "plan" ? .plan : converge == "execute" ? .execute : .none
            var extra: [String: String] = [:]
            if allowLive { extra[MetadataKey.allowLive] = "true" }
            if all {
                let request = Keel_Capital_V1_ReallocateAllRequest.with { $0.useLive = useLive; $0.converge = mode }
                let response = try await connection.call(target, KeelRPC.capitalReallocateAll, request, as: Keel_Capital_V1_BulkRebalanceResponse.self, extra: extra)
                if output.raw { return try printJSON(response) }
                print("\(response.totalAccounts) accounts: \(response.rebalanced) rebalanced, \(response.skipped) skipped, \(response.failed) failed")
                for result in response.results {
                    if result.hasResult { Self.show(result.result) } else {
                        print("account \(result.accountID): \(name(result.outcome)) \(result.hasError ? "\(result.error.reason) \(result.error.message)" : name(result.reason))")
                    }
                }
                return
            }
            let request = Keel_Capital_V1_ReallocateRequest.with { $0.accountID = accountID!; $0.useLive = useLive; $0.converge = mode }
            let response = try await connection.call(target, KeelRPC.capitalReallocate, request, as: Keel_Capital_V1_ReallocateResponse.self, extra: extra)
            if output.raw { return try printJSON(response) }
            Self.show(response)
        }

        static func show(_ response: Keel_Capital_V1_ReallocateResponse) {
            let source = name(response.source)
            print("account \(response.accountID): total \(response.totalCapital) (\(source)\(response.liveError.isEmpty ? "" : ": \(response.liveError)")), weights \(response.totalWeight), unallocated \(response.unallocated)\(response.replayed ? " (replayed)" : "")")
            print(table(["strategy account", "name", "weight", "old", "allocated", "change"], response.allocations.map {
                [$0.strategyAccountID, $0.strategyName, $0.weight, $0.oldCapital, $0.allocatedCapital, $0.change]
            }))
            if response.hasConverge, response.converge.state != .notRequested {
                let c = response.converge
                var line = "  converge: \(name(c.state))"
                if !c.planID.isEmpty { line += ", plan \(c.planID)" }
                if !c.executionID.isEmpty { line += ", execution \(c.executionID) (\(c.batchIds.count) batches)" }
                if c.hasError { line += ", \(c.error.reason) [\(c.error.field)]: \(c.error.message)" }
                print(line)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Capital/GetAccount: an account, its strategies and their capital.")

        @OptionGroup var account: CapitalAccount
        @OptionGroup var output: Output
        @OptionGroup var connection: Connection

        func run() async throws {
            let response = try await connection.call(account.target, KeelRPC.capitalGetAccount, Keel_Capital_V1_GetAccountRequest.with { $0.accountID = account.accountID },
                                                     as: Keel_Capital_V1_GetAccountResponse.self)
            if output.raw { return try printJSON(response) }
            let a = response.account
            print("account \(a.accountID) (\(a.name)): \(a.quoteCurrency), venue \(a.venue.isEmpty ? "any" : a.venue), world \(a.worldID), previous total \(a.previousTotalCapital.isEmpty ? "none" : a.previousTotalCapital)")
            print(table(["strategy account", "strategy", "type", "weight", "leverage", "active", "capital"], response.strategyAccounts.map {
                [$0.strategyAccountID, $0.strategyID, name($0.marketType), $0.weight, $0.leverage, $0.isActive ? "yes" : "no", $0.hasCapital ? $0.capital.allocatedCapital : "-"]
            }))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Capital/RebalanceStatus: would the account be rebalanced now, and why.")

        @OptionGroup var account: CapitalAccount
        @OptionGroup var output: Output
        @OptionGroup var connection: Connection

        func run() async throws {
            let response = try await connection.call(account.target, KeelRPC.capitalRebalanceStatus, Keel_Capital_V1_RebalanceStatusRequest.with { $0.accountID = account.accountID },
                                                     as: Keel_Capital_V1_RebalanceStatusResponse.self)
            if output.raw { return try printJSON(response) }
            print("account \(response.accountID): \(response.shouldRebalance ? "rebalance" : "hold") (\(name(response.reason)))\(response.timeSinceLastHours.isEmpty ? "" : ", \(response.timeSinceLastHours) h since the last")")
        }
    }
}

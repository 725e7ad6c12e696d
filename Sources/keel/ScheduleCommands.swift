import ArgumentParser
import Contracts
import ExactNumbers
import Foundation
import KeelWire
import SwiftProtobuf

/// `keel schedule …`: paced execution of target-weight plans, with progress output.
struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "Paced schedules at keel-gateway: preview, start (and follow), show, list, cancel, follow.",
        discussion: """
            The request of preview and start is a keel.gateway.v1.StartScheduleRequest in the protobuf JSON mapping, e.g.
              {"account_id":"acct","venue":"krx","fill_from_account":true,
               "target":{"sell_rounds":10,"buy_rounds":10},
               "policy":{"sell_start":"09:00","buy_start":"09:30","session_end":"15:20"}}
            """,
        subcommands: [Preview.self, Start.self, Show.self, List.self, Cancel.self, Follow.self])

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Gateway/PreviewSchedule: the plan and every round with its due time; nothing is written.")
        @Argument(help: "host:port of keel-gateway.") var target: String
        @Option(help: "The StartScheduleRequest as JSON: a file path, or - for standard input.") var json: String
        @OptionGroup var output: Output
        @OptionGroup var connection: Connection

        func run() async throws {
            let request = try requestBody(json, as: Keel_Gateway_V1_StartScheduleRequest.self)
            let response = try await connection.call(target, KeelRPC.gatewayPreviewSchedule, request, as: Keel_Gateway_V1_PreviewScheduleResponse.self)
            if output.raw { return try printJSON(response) }
            let plan = response.plan
            print("portfolio \(plan.totalEval); cash needed \(plan.cashCheck.required), available \(plan.cashCheck.available), shortfall \(plan.cashCheck.shortfall)")
            print(table(["side", "symbol", "round", "due", "qty", "amount", "est. qty"], response.rounds.map {
                [name($0.side), $0.symbol, "\($0.round)", clockTime($0.dueAtMs, zone: response.policy.timeZone), $0.qty, $0.amount, $0.estimatedQty]
            }))
            for warning in plan.warnings { print("warning: \(Self.message(warning, plan: plan))") }
        }

        /// What a plan's warning means, in words.
        static func message(_ warning: Keel_Planner_V1_TargetWeightWarning, plan: Keel_Planner_V1_TargetWeightPlan) -> String {
            switch warning.kind {
            case .missingPrice: return "\(warning.symbol) has no price, so it is neither bought nor sold"
            case .insufficientCash:
                return "the buys need \(plan.cashCheck.required) but \(plan.cashCheck.available) is available (short by \(plan.cashCheck.shortfall)): the buy rounds are cut to the cash"
            case .weightIgnored: return "the target weight of \(warning.symbol) is ignored: it is not among the account's symbols (held or added, and not excluded)"
            default: return "\(name(warning.kind)) \(warning.symbol)"
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Gateway/StartSchedule (needs --allow-live where the live guard is enforced); --follow prints progress until it ends.")
        @Argument(help: "host:port of keel-gateway.") var target: String
        @Option(help: "The StartScheduleRequest as JSON: a file path, or - for standard input.") var json: String
        @Flag(name: .customLong("allow-live"), help: "Send x-allow-live: true (the live guard's consent).") var allowLive = false
        @Flag(help: "Print progress as it happens until the schedule ends (exit 1 unless it COMPLETED).") var follow = false
        @OptionGroup var output: Output
        @OptionGroup var connection: Connection

        func run() async throws {
            let request = try requestBody(json, as: Keel_Gateway_V1_StartScheduleRequest.self)
            let schedule = try await connection.call(target, KeelRPC.gatewayStartSchedule, request, as: Keel_Gateway_V1_Schedule.self,
                                                     extra: allowLive ? [MetadataKey.allowLive: "true"] : [:])
            if output.raw, !follow { return try printJSON(schedule) }
            printSchedule(schedule)
            if follow { try await followProgress(target, schedule.scheduleID, connection: connection) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Gateway/GetSchedule: the state, the legs and every round.")
        @Argument(help: "host:port of keel-gateway.") var target: String
        @Argument(help: "The schedule id (sch_…).") var scheduleID: String
        @OptionGroup var output: Output
        @OptionGroup var connection: Connection

        func run() async throws {
            let schedule = try await connection.call(target, KeelRPC.gatewayGetSchedule, Keel_Gateway_V1_GetScheduleRequest.with { $0.scheduleID = scheduleID },
                                                     as: Keel_Gateway_V1_Schedule.self)
            if output.raw { return try printJSON(schedule) }
            printSchedule(schedule, rounds: true)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Gateway/ListSchedules: newest first.")
        @Argument(help: "host:port of keel-gateway.") var target: String
        @Option(help: "Only this broker account.") var account: String?
        @Flag(help: "Only schedules not yet finished.") var active = false
        @OptionGroup var output: Output
        @OptionGroup var connection: Connection

        func run() async throws {
            let request = Keel_Gateway_V1_ListSchedulesRequest.with { $0.accountID = account ?? ""; $0.activeOnly = active; $0.limit = 500 }
            let response = try await connection.call(target, KeelRPC.gatewayListSchedules, request, as: Keel_Gateway_V1_ListSchedulesResponse.self)
            if output.raw { return try printJSON(response) }
            print(table(["schedule", "account", "venue", "state", "legs", "reason"], response.schedules.map {
                [$0.scheduleID, $0.accountID, $0.venue, name($0.state), "\($0.legs.count)", $0.stateReason]
            }))
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Gateway/CancelSchedule: no new rounds; working orders are cancelled through the venue's queue.")
        @Argument(help: "host:port of keel-gateway.") var target: String
        @Argument(help: "The schedule id (sch_…).") var scheduleID: String
        @Option(help: "Why (kept as the schedule's state reason).") var reason: String = ""
        @OptionGroup var output: Output
        @OptionGroup var connection: Connection

        func run() async throws {
            let request = Keel_Gateway_V1_CancelScheduleRequest.with { $0.scheduleID = scheduleID; $0.reason = reason }
            let schedule = try await connection.call(target, KeelRPC.gatewayCancelSchedule, request, as: Keel_Gateway_V1_Schedule.self)
            if output.raw { return try printJSON(schedule) }
            printSchedule(schedule)
        }
    }

    struct Follow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a schedule's progress (Watch topic schedule.progress) until it ends; exit 1 unless it COMPLETED.")
        @Argument(help: "host:port of keel-gateway.") var target: String
        @Argument(help: "The schedule id (sch_…).") var scheduleID: String
        @OptionGroup var connection: Connection

        func run() async throws {
            try await followProgress(target, scheduleID, connection: connection)
        }
    }
}

/// One line per progress event (from the schedule's first event, so nothing is missed), with each
/// leg's running total; returns when the schedule ends.
func followProgress(_ target: String, _ scheduleID: String, connection: Connection) async throws {
    let schedule = try await connection.call(target, KeelRPC.gatewayGetSchedule, Keel_Gateway_V1_GetScheduleRequest.with { $0.scheduleID = scheduleID },
                                             as: Keel_Gateway_V1_Schedule.self)
    let zone = schedule.policy.timeZone
    var filled: [String: (qty: ExactDecimal, amount: ExactDecimal)] = [:]
    let totals = Dictionary(schedule.legs.map { ("\($0.side)|\($0.symbol)", $0.side == .sell ? "\($0.totalQty) shares" : "\($0.totalAmount)") }, uniquingKeysWith: { a, _ in a })
    let client = try connection.client(target)
    defer { Task { await client.close() } }
    let stream = client.serverStream(KeelRPC.gatewayWatch, Keel_Gateway_V1_WatchRequest.with { $0.topics = ["schedule.progress"] },
                                     as: Keel_Gateway_V1_GatewayEvent.self, metadata: try connection.metadataMap())
    do {
        for try await gatewayEvent in stream where gatewayEvent.schedule.scheduleID == scheduleID {
            let event = gatewayEvent.schedule
            var line = "\(clockTime(event.timeMs, zone: zone))  \(name(event.kind).padding(toLength: 20, withPad: " ", startingAt: 0))"
            if !event.symbol.isEmpty { line += " \(name(event.side)) \(event.symbol)" }
            if event.round > 0 { line += " round \(event.round)" }
            switch event.kind {
            case .orderFill:
                let key = "\(event.side)|\(event.symbol)"
                var sum = filled[key] ?? (.zero, .zero)
                sum.qty += DecimalGrammar.parse(event.qty) ?? .zero
                sum.amount += DecimalGrammar.parse(event.amount) ?? .zero
                filled[key] = sum
                line += ": \(event.qty) @ \(forReading(event.price)) — \(event.side == .sell ? "sold \(sum.qty) of \(totals[key] ?? "?")" : "spent \(sum.amount) of \(totals[key] ?? "?")")"
            case .roundSubmitted, .orderAmended, .orderCancelled, .lastRoundCorrected, .roundSkipped:
                if !event.qty.isEmpty { line += ": \(event.qty)" }
                if !event.price.isEmpty { line += " @ \(event.price)" }
                if !event.message.isEmpty { line += " (\(event.message))" }
            default:
                if !event.message.isEmpty { line += ": \(event.message)" }
            }
            line += "  [\(name(event.state))]"
            print(line)
            fflush(nil)  // progress shows at once also when piped
            switch event.kind {
            case .completed: stream.cancel(); return
            case .cancelled, .expired, .failed: stream.cancel(); throw ExitCode(1)
            default: continue
            }
        }
    } catch let error as RPCError {
        throw CallFailed(error: error)
    }
}

func printSchedule(_ schedule: Keel_Gateway_V1_Schedule, rounds: Bool = false) {
    print("schedule \(schedule.scheduleID) for \(schedule.accountID) at \(schedule.venue): \(name(schedule.state))"
          + (schedule.stateReason.isEmpty ? "" : " (\(schedule.stateReason))") + (schedule.replayed ? " [replayed]" : ""))
    print(table(["side", "symbol", "total", "filled", "rounds"], schedule.legs.map {
        [name($0.side), $0.symbol, $0.side == .sell ? $0.totalQty : $0.totalAmount, $0.side == .sell ? $0.filledQty : $0.filledAmount, "\($0.rounds.count)"]
    }))
    guard rounds else { return }
    for leg in schedule.legs {
        print("\(name(leg.side)) \(leg.symbol):")
        print(table(["round", "due", "planned", "order qty", "limit", "filled", "state", "amends", "note"], leg.rounds.map {
            ["\($0.index)", $0.dueAtMs == 0 ? "" : clockTime($0.dueAtMs, zone: schedule.policy.timeZone), leg.side == .sell ? $0.plannedQty : $0.plannedAmount,
             $0.orderQty, $0.limitPrice, $0.filledQty, name($0.state) + ($0.corrected ? " (corrected)" : ""), "\($0.amendCount)", $0.note]
        }, indent: "    "))
    }
}

/// `HH:MM:SS` of an instant in the schedule's zone.
func clockTime(_ ms: Int64, zone: String) -> String {
    let formatter = DateFormatter()
    formatter.dateFormat = "HH:mm:ss"
    formatter.timeZone = TimeZone(identifier: zone.isEmpty ? "Asia/Seoul" : zone) ?? TimeZone(identifier: "UTC")
    return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

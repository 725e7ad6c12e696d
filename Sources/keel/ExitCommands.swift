import ArgumentParser
import Contracts
import Foundation
import KeelWire

/// `keel risk evaluate`: the exit engine's rules at keel-planner.
struct RiskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "risk", abstract: "keel-planner's exit engine: evaluate risk rules over portfolio snapshots.",
        subcommands: [Evaluate.self])

    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Planner/EvaluateRisk: every rule's value against its limit, and the exit/reduce signals of the breached ones.",
            discussion: """
                The body is a keel.planner.v1.EvaluateRiskRequest in the protobuf JSON mapping, e.g.
                  {"snapshots":[{"world_id":"growth","symbols":["BTC","ETH"],"weights":["0.6","0.4"],
                    "covariance":[{"values":["0.0004","0.0003"]},{"values":["0.0003","0.0009"]}],
                    "rules":[{"rule_id":"var99","measure":"RISK_MEASURE_PARAMETRIC_VAR","limit":"0.04",
                              "confidence":"0.99","action":"EXIT_ACTION_REDUCE","reduce_fraction":"0.5"}]}]}
                """)
        @Argument(help: "host:port of keel-planner.") var target: String
        @Option(help: "The request as JSON: a file path, or - for standard input.") var json: String
        @OptionGroup var output: Output
        @OptionGroup var connection: Connection

        func run() async throws {
            let request = try requestBody(json, as: Keel_Planner_V1_EvaluateRiskRequest.self)
            let response = try await connection.call(target, KeelRPC.plannerEvaluateRisk, request, as: Keel_Planner_V1_EvaluateRiskResponse.self)
            if output.raw { return try printJSON(response) }
            print("evaluation \(response.evaluationID)" + (response.replayed ? " [replayed]" : ""))
            print(table(["world", "strategy", "rule", "measure", "value", "limit", "breached"], response.results.map {
                [$0.worldID, $0.strategyID, $0.ruleID, name($0.measure), $0.value, $0.limit, $0.breached ? "yes" : "no"]
            }))
            if !response.signals.isEmpty {
                print("signals:")
                print(table(["signal", "action", "reduce by", "reason"], response.signals.map { [$0.signalID, name($0.action), $0.reduceFraction, $0.reason] }))
            }
        }
    }
}

/// `keel exit …`: the gateway's exit signals and their approval.
struct ExitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exit", abstract: "keel-gateway's exit signals: list them, approve or reject the held ones (approval mode).",
        subcommands: [List.self, Approve.self, Reject.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Gateway/ListExitSignals: each signal and what the exit policy or an operator decided.")
        @Argument(help: "host:port of keel-gateway.") var target: String
        @Option(help: "Only this state: ignored, awaiting-approval, approved, applied, rejected, failed.") var state: String?
        @OptionGroup var output: Output
        @OptionGroup var connection: Connection

        func run() async throws {
            var request = Keel_Gateway_V1_ListExitSignalsRequest()
            request.limit = 1000
            if let state {
                let states: [String: Keel_Gateway_V1_ExitSignalState] = [
                    "ignored": .ignored, "awaiting-approval": .awaitingApproval, "approved": .approved, "applied": .applied, "rejected": .rejected, "failed": .failed,
                ]
                guard let value = states[state] else { throw ValidationError("--state \(state): one of \(states.keys.sorted().joined(separator: ", "))") }
                request.state = value
            }
            let response = try await connection.call(target, KeelRPC.gatewayListExitSignals, request, as: Keel_Gateway_V1_ListExitSignalsResponse.self)
            if output.raw { return try printJSON(response) }
            print(table(["signal", "world", "strategy", "action", "reduce by", "state", "decided by", "reason"], response.signals.map {
                [$0.signal.signalID, $0.signal.worldID, $0.signal.strategyID, name($0.signal.action), $0.signal.reduceFraction, name($0.state),
                 $0.decidedBy, $0.reason.isEmpty ? $0.signal.reason : $0.reason]
            }))
        }
    }

    struct Decision: ParsableArguments {
        @Argument(help: "host:port of keel-gateway.") var target: String
        @Argument(help: "The signal id.") var signalID: String
        @Option(help: "Who decides (kept in the audit log).") var `operator`: String
        @Option(help: "Why.") var reason: String = ""
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a held signal: its reduce plan is submitted (needs --allow-live where the live guard is enforced).")
        @OptionGroup var decision: Decision
        @Flag(name: .customLong("allow-live"), help: "Send x-allow-live: true (the live guard's consent).") var allowLive = false
        @OptionGroup var output: Output
        @OptionGroup var connection: Connection

        func run() async throws {
            try await ExitCommand.decide(decision, approve: true, allowLive: allowLive, output: output, connection: connection)
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a held signal: nothing is traded.")
        @OptionGroup var decision: Decision
        @OptionGroup var output: Output
        @OptionGroup var connection: Connection

        func run() async throws {
            try await ExitCommand.decide(decision, approve: false, allowLive: false, output: output, connection: connection)
        }
    }

    static func decide(_ decision: Decision, approve: Bool, allowLive: Bool, output: Output, connection: Connection) async throws {
        let request = Keel_Gateway_V1_DecideExitSignalRequest.with {
            $0.signalID = decision.signalID
            $0.approve = approve
            $0.operator = decision.operator
            $0.reason = decision.reason
        }
        let record = try await connection.call(decision.target, KeelRPC.gatewayDecideExitSignal, request, as: Keel_Gateway_V1_ExitSignalRecord.self,
                                               extra: allowLive ? [MetadataKey.allowLive: "true"] : [:])
        if output.raw { return try printJSON(record) }
        print("\(record.signal.signalID): \(name(record.state))" + (record.reason.isEmpty ? "" : " (\(record.reason))")
              + (record.executionID.isEmpty ? "" : "; execution \(record.executionID)"))
    }
}

// Written by scripts/gen-rpc-table from the service blocks of proto/. Do not edit.
import SwiftProtobuf

/// Every RPC named in proto/: its KWP/1 method path and its request and response types.
public enum KeelRPC {
    public static let capitalUpsertAccount = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "UpsertAccount",
        requestType: Keel_Capital_V1_UpsertAccountRequest.self, responseType: Keel_Capital_V1_Account.self, isServerStreaming: false)
    public static let capitalUpsertStrategyAccount = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "UpsertStrategyAccount",
        requestType: Keel_Capital_V1_UpsertStrategyAccountRequest.self, responseType: Keel_Capital_V1_StrategyAccount.self, isServerStreaming: false)
    public static let capitalRecordDailyBalance = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "RecordDailyBalance",
        requestType: Keel_Capital_V1_RecordDailyBalanceRequest.self, responseType: Keel_Capital_V1_DailyBalance.self, isServerStreaming: false)
    public static let capitalRecordTrade = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "RecordTrade",
        requestType: Keel_Capital_V1_RecordTradeRequest.self, responseType: Keel_Capital_V1_RecordTradeResponse.self, isServerStreaming: false)
    public static let capitalGetAccount = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "GetAccount",
        requestType: Keel_Capital_V1_GetAccountRequest.self, responseType: Keel_Capital_V1_GetAccountResponse.self, isServerStreaming: false)
    public static let capitalReallocate = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "Reallocate",
        requestType: Keel_Capital_V1_ReallocateRequest.self, responseType: Keel_Capital_V1_ReallocateResponse.self, isServerStreaming: false)
    public static let capitalReallocateAll = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "ReallocateAll",
        requestType: Keel_Capital_V1_ReallocateAllRequest.self, responseType: Keel_Capital_V1_BulkRebalanceResponse.self, isServerStreaming: false)
    public static let capitalRebalanceStatus = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "RebalanceStatus",
        requestType: Keel_Capital_V1_RebalanceStatusRequest.self, responseType: Keel_Capital_V1_RebalanceStatusResponse.self, isServerStreaming: false)
    public static let capitalAutoRebalanceAll = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "AutoRebalanceAll",
        requestType: Keel_Capital_V1_AutoRebalanceAllRequest.self, responseType: Keel_Capital_V1_BulkRebalanceResponse.self, isServerStreaming: false)
    public static let capitalConverge = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "Converge",
        requestType: Keel_Capital_V1_ConvergeRequest.self, responseType: Keel_Capital_V1_ConvergeResult.self, isServerStreaming: false)
    public static let capitalCalculateOrderQuantity = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "CalculateOrderQuantity",
        requestType: Keel_Capital_V1_CalculateOrderQuantityRequest.self, responseType: Keel_Capital_V1_CalculateOrderQuantityResponse.self, isServerStreaming: false)
    public static let capitalApplyRealizedPnl = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "ApplyRealizedPnl",
        requestType: Keel_Capital_V1_ApplyRealizedPnlRequest.self, responseType: Keel_Capital_V1_ApplyRealizedPnlResponse.self, isServerStreaming: false)
    public static let capitalGetRebalanceSchedule = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "GetRebalanceSchedule",
        requestType: Keel_Capital_V1_GetRebalanceScheduleRequest.self, responseType: Keel_Capital_V1_GetRebalanceScheduleResponse.self, isServerStreaming: false)
    public static let capitalListRebalanceRuns = RPCDescriptor(
        service: "keel.capital.v1.Capital", method: "ListRebalanceRuns",
        requestType: Keel_Capital_V1_ListRebalanceRunsRequest.self, responseType: Keel_Capital_V1_ListRebalanceRunsResponse.self, isServerStreaming: false)
    public static let gatewayPlan = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "Plan",
        requestType: Keel_Planner_V1_PlanRequest.self, responseType: Keel_Planner_V1_PlanResponse.self, isServerStreaming: false)
    public static let gatewayExecute = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "Execute",
        requestType: Keel_Gateway_V1_ExecuteRequest.self, responseType: Keel_Gateway_V1_ExecuteResponse.self, isServerStreaming: false)
    public static let gatewayGetPositions = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "GetPositions",
        requestType: Keel_Gateway_V1_GetPositionsRequest.self, responseType: Keel_Gateway_V1_GetPositionsResponse.self, isServerStreaming: false)
    public static let gatewayGetBalance = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "GetBalance",
        requestType: Keel_Gateway_V1_GetBalanceRequest.self, responseType: Keel_Gateway_V1_GetBalanceResponse.self, isServerStreaming: false)
    public static let gatewayListOrders = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "ListOrders",
        requestType: Keel_Gateway_V1_ListOrdersRequest.self, responseType: Keel_Gateway_V1_ListOrdersResponse.self, isServerStreaming: false)
    public static let gatewayReadCommitLog = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "ReadCommitLog",
        requestType: Keel_Gateway_V1_ReadCommitLogRequest.self, responseType: Keel_Gateway_V1_CommitLogRecord.self, isServerStreaming: true)
    public static let gatewayListAuditEvents = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "ListAuditEvents",
        requestType: Keel_Gateway_V1_ListAuditEventsRequest.self, responseType: Keel_Gateway_V1_ListAuditEventsResponse.self, isServerStreaming: false)
    public static let gatewayWatch = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "Watch",
        requestType: Keel_Gateway_V1_WatchRequest.self, responseType: Keel_Gateway_V1_GatewayEvent.self, isServerStreaming: true)
    public static let gatewayPreviewSchedule = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "PreviewSchedule",
        requestType: Keel_Gateway_V1_StartScheduleRequest.self, responseType: Keel_Gateway_V1_PreviewScheduleResponse.self, isServerStreaming: false)
    public static let gatewayStartSchedule = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "StartSchedule",
        requestType: Keel_Gateway_V1_StartScheduleRequest.self, responseType: Keel_Gateway_V1_Schedule.self, isServerStreaming: false)
    public static let gatewayGetSchedule = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "GetSchedule",
        requestType: Keel_Gateway_V1_GetScheduleRequest.self, responseType: Keel_Gateway_V1_Schedule.self, isServerStreaming: false)
    public static let gatewayListSchedules = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "ListSchedules",
        requestType: Keel_Gateway_V1_ListSchedulesRequest.self, responseType: Keel_Gateway_V1_ListSchedulesResponse.self, isServerStreaming: false)
    public static let gatewayCancelSchedule = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "CancelSchedule",
        requestType: Keel_Gateway_V1_CancelScheduleRequest.self, responseType: Keel_Gateway_V1_Schedule.self, isServerStreaming: false)
    public static let gatewayListExitSignals = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "ListExitSignals",
        requestType: Keel_Gateway_V1_ListExitSignalsRequest.self, responseType: Keel_Gateway_V1_ListExitSignalsResponse.self, isServerStreaming: false)
    public static let gatewayDecideExitSignal = RPCDescriptor(
        service: "keel.gateway.v1.Gateway", method: "DecideExitSignal",
        requestType: Keel_Gateway_V1_DecideExitSignalRequest.self, responseType: Keel_Gateway_V1_ExitSignalRecord.self, isServerStreaming: false)
    public static let healthCheck = RPCDescriptor(
        service: "keel.health.v1.Health", method: "Check",
        requestType: Keel_Health_V1_HealthCheckRequest.self, responseType: Keel_Health_V1_HealthCheckResponse.self, isServerStreaming: false)
    public static let plannerPlan = RPCDescriptor(
        service: "keel.planner.v1.Planner", method: "Plan",
        requestType: Keel_Planner_V1_PlanRequest.self, responseType: Keel_Planner_V1_PlanResponse.self, isServerStreaming: false)
    public static let plannerGetPlan = RPCDescriptor(
        service: "keel.planner.v1.Planner", method: "GetPlan",
        requestType: Keel_Planner_V1_GetPlanRequest.self, responseType: Keel_Planner_V1_GetPlanResponse.self, isServerStreaming: false)
    public static let plannerWatch = RPCDescriptor(
        service: "keel.planner.v1.Planner", method: "Watch",
        requestType: Keel_Planner_V1_WatchRequest.self, responseType: Keel_Planner_V1_PlannerEvent.self, isServerStreaming: true)
    public static let plannerEvaluateRisk = RPCDescriptor(
        service: "keel.planner.v1.Planner", method: "EvaluateRisk",
        requestType: Keel_Planner_V1_EvaluateRiskRequest.self, responseType: Keel_Planner_V1_EvaluateRiskResponse.self, isServerStreaming: false)

    public static let all: [RPCDescriptor] = [
        capitalUpsertAccount,
        capitalUpsertStrategyAccount,
        capitalRecordDailyBalance,
        capitalRecordTrade,
        capitalGetAccount,
        capitalReallocate,
        capitalReallocateAll,
        capitalRebalanceStatus,
        capitalAutoRebalanceAll,
        capitalConverge,
        capitalCalculateOrderQuantity,
        capitalApplyRealizedPnl,
        capitalGetRebalanceSchedule,
        capitalListRebalanceRuns,
        gatewayPlan,
        gatewayExecute,
        gatewayGetPositions,
        gatewayGetBalance,
        gatewayListOrders,
        gatewayReadCommitLog,
        gatewayListAuditEvents,
        gatewayWatch,
        gatewayPreviewSchedule,
        gatewayStartSchedule,
        gatewayGetSchedule,
        gatewayListSchedules,
        gatewayCancelSchedule,
        gatewayListExitSignals,
        gatewayDecideExitSignal,
        healthCheck,
        plannerPlan,
        plannerGetPlan,
        plannerWatch,
        plannerEvaluateRisk,
    ]
}

// Written by scripts/gen-field-numbers from the messages of proto/. Do not edit.

extension Keel_Capital_V1_Account {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let accountID: UInt64 = 1
        public static let name: UInt64 = 2
        public static let venue: UInt64 = 3
        public static let quoteCurrency: UInt64 = 4
        public static let currencyScale: UInt64 = 5
        public static let gatewayAccountID: UInt64 = 6
        public static let worldID: UInt64 = 7
        public static let isActive: UInt64 = 8
        public static let previousTotalCapital: UInt64 = 9
        public static let lastRebalanceAtMs: UInt64 = 10
    }
}

extension Keel_Capital_V1_AccountRunResult {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let accountID: UInt64 = 1
        public static let accountName: UInt64 = 2
        public static let outcome: UInt64 = 3
        public static let reason: UInt64 = 4
        public static let result: UInt64 = 5
        public static let error: UInt64 = 6
    }
}

extension Keel_Capital_V1_AllocationLine {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let strategyAccountID: UInt64 = 1
        public static let strategyName: UInt64 = 2
        public static let weight: UInt64 = 3
        public static let oldCapital: UInt64 = 4
        public static let allocatedCapital: UInt64 = 5
        public static let change: UInt64 = 6
    }
}

extension Keel_Capital_V1_ApplyRealizedPnlRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let strategyAccountID: UInt64 = 1
    }
}

extension Keel_Capital_V1_ApplyRealizedPnlResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let oldCapital: UInt64 = 1
        public static let allocatedCapital: UInt64 = 2
        public static let appliedPnl: UInt64 = 3
        public static let appliedExecutionIds: UInt64 = 4
        public static let warnings: UInt64 = 5
    }
}

extension Keel_Capital_V1_AutoRebalanceAllRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let force: UInt64 = 1
        public static let useLive: UInt64 = 2
    }
}

extension Keel_Capital_V1_BulkRebalanceResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let totalAccounts: UInt64 = 1
        public static let rebalanced: UInt64 = 2
        public static let skipped: UInt64 = 3
        public static let failed: UInt64 = 4
        public static let results: UInt64 = 5
        public static let forced: UInt64 = 6
        public static let note: UInt64 = 7
        public static let replayed: UInt64 = 8
    }
}

extension Keel_Capital_V1_CalculateOrderQuantityRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let strategyAccountID: UInt64 = 1
        public static let symbol: UInt64 = 2
        public static let qtyPer: UInt64 = 3
        public static let orderType: UInt64 = 4
        public static let price: UInt64 = 5
        public static let stopPrice: UInt64 = 6
        public static let marketPrice: UInt64 = 7
        public static let side: UInt64 = 8
        public static let positionQty: UInt64 = 9
        public static let symbolRules: UInt64 = 10
    }
}

extension Keel_Capital_V1_CalculateOrderQuantityResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let quantity: UInt64 = 1
        public static let skipReason: UInt64 = 2
        public static let priceUsed: UInt64 = 3
        public static let leverageApplied: UInt64 = 4
        public static let warnings: UInt64 = 5
        public static let allocatedCapital: UInt64 = 6
    }
}

extension Keel_Capital_V1_ConvergeRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let runID: UInt64 = 1
        public static let mode: UInt64 = 2
    }
}

extension Keel_Capital_V1_ConvergeResult {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let state: UInt64 = 1
        public static let planID: UInt64 = 2
        public static let batchIds: UInt64 = 3
        public static let error: UInt64 = 4
        public static let executionID: UInt64 = 5
    }
}

extension Keel_Capital_V1_DailyBalance {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let accountID: UInt64 = 1
        public static let date: UInt64 = 2
        public static let endingBalance: UInt64 = 3
    }
}

extension Keel_Capital_V1_ErrorDetail {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let code: UInt64 = 1
        public static let reason: UInt64 = 2
        public static let field: UInt64 = 3
        public static let message: UInt64 = 4
        public static let metadata: UInt64 = 5
    }
}

extension Keel_Capital_V1_GetAccountRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let accountID: UInt64 = 1
    }
}

extension Keel_Capital_V1_GetAccountResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let account: UInt64 = 1
        public static let strategyAccounts: UInt64 = 2
        public static let latestBalance: UInt64 = 3
    }
}

extension Keel_Capital_V1_GetRebalanceScheduleResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let enabled: UInt64 = 1
        public static let timeZone: UInt64 = 2
        public static let slots: UInt64 = 3
        public static let graceSeconds: UInt64 = 4
        public static let nextSlotAtMs: UInt64 = 5
        public static let isLeader: UInt64 = 6
    }
}

extension Keel_Capital_V1_ListRebalanceRunsRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let accountID: UInt64 = 1
        public static let limit: UInt64 = 2
        public static let pageToken: UInt64 = 3
    }
}

extension Keel_Capital_V1_ListRebalanceRunsResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let runs: UInt64 = 1
        public static let nextPageToken: UInt64 = 2
    }
}

extension Keel_Capital_V1_ReallocateAllRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let useLive: UInt64 = 1
        public static let accountIds: UInt64 = 2
        public static let converge: UInt64 = 3
    }
}

extension Keel_Capital_V1_ReallocateRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let accountID: UInt64 = 1
        public static let useLive: UInt64 = 2
        public static let converge: UInt64 = 3
    }
}

extension Keel_Capital_V1_ReallocateResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let accountID: UInt64 = 1
        public static let accountName: UInt64 = 2
        public static let totalCapital: UInt64 = 3
        public static let source: UInt64 = 4
        public static let totalWeight: UInt64 = 5
        public static let allocations: UInt64 = 6
        public static let unallocated: UInt64 = 7
        public static let rebalancedAtMs: UInt64 = 8
        public static let runID: UInt64 = 9
        public static let note: UInt64 = 10
        public static let converge: UInt64 = 11
        public static let liveError: UInt64 = 12
        public static let replayed: UInt64 = 13
    }
}

extension Keel_Capital_V1_RebalanceRun {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let runID: UInt64 = 1
        public static let accountID: UInt64 = 2
        public static let trigger: UInt64 = 3
        public static let startedAtMs: UInt64 = 4
        public static let result: UInt64 = 5
        public static let converge: UInt64 = 6
        public static let reason: UInt64 = 7
    }
}

extension Keel_Capital_V1_RebalanceStatusRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let accountID: UInt64 = 1
    }
}

extension Keel_Capital_V1_RebalanceStatusResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let accountID: UInt64 = 1
        public static let accountName: UInt64 = 2
        public static let shouldRebalance: UInt64 = 3
        public static let reason: UInt64 = 4
        public static let hasOpenPositions: UInt64 = 5
        public static let lastRebalanceAtMs: UInt64 = 6
        public static let timeSinceLastHours: UInt64 = 7
        public static let policy: UInt64 = 8
        public static let previousTotalCapital: UInt64 = 9
        public static let currentTotalCapital: UInt64 = 10
        public static let currentSource: UInt64 = 11
        public static let nextSlotAtMs: UInt64 = 12
    }
}

extension Keel_Capital_V1_RecordDailyBalanceRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let balance: UInt64 = 1
    }
}

extension Keel_Capital_V1_RecordTradeRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let strategyAccountID: UInt64 = 1
        public static let executionID: UInt64 = 2
        public static let executionTimeMs: UInt64 = 3
        public static let symbol: UInt64 = 4
        public static let side: UInt64 = 5
        public static let qty: UInt64 = 6
        public static let price: UInt64 = 7
        public static let realizedPnl: UInt64 = 8
    }
}

extension Keel_Capital_V1_RecordTradeResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let replayed: UInt64 = 1
        public static let pnl: UInt64 = 2
        public static let positionQty: UInt64 = 3
    }
}

extension Keel_Capital_V1_Slot {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let hour: UInt64 = 1
        public static let minute: UInt64 = 2
        public static let nextAtMs: UInt64 = 3
        public static let lastScheduledAtMs: UInt64 = 4
        public static let lastOutcome: UInt64 = 5
    }
}

extension Keel_Capital_V1_StrategyAccount {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let strategyAccountID: UInt64 = 1
        public static let accountID: UInt64 = 2
        public static let strategyID: UInt64 = 3
        public static let strategyName: UInt64 = 4
        public static let marketType: UInt64 = 5
        public static let weight: UInt64 = 6
        public static let leverage: UInt64 = 7
        public static let maxSymbols: UInt64 = 8
        public static let isActive: UInt64 = 9
        public static let capital: UInt64 = 10
    }
}

extension Keel_Capital_V1_StrategyCapital {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let allocatedCapital: UInt64 = 1
        public static let lastUpdatedMs: UInt64 = 2
        public static let lastRebalanceAtMs: UInt64 = 3
    }
}

extension Keel_Capital_V1_SymbolRules {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let minQty: UInt64 = 1
        public static let maxQty: UInt64 = 2
        public static let stepSize: UInt64 = 3
        public static let minPrice: UInt64 = 4
        public static let maxPrice: UInt64 = 5
        public static let tickSize: UInt64 = 6
        public static let minNotional: UInt64 = 7
        public static let amountPrecision: UInt64 = 8
    }
}

extension Keel_Capital_V1_UpsertAccountRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let account: UInt64 = 1
    }
}

extension Keel_Capital_V1_UpsertStrategyAccountRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let strategyAccount: UInt64 = 1
    }
}

extension Keel_Gateway_V1_AuditEvent {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let id: UInt64 = 1
        public static let key: UInt64 = 2
        public static let type: UInt64 = 3
        public static let timeMs: UInt64 = 4
        public static let bodyJson: UInt64 = 5
    }
}

extension Keel_Gateway_V1_BatchRef {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let batchID: UInt64 = 1
        public static let worldID: UInt64 = 2
        public static let scope: UInt64 = 3
        public static let orderCount: UInt64 = 4
        public static let reduceOnlyRatio: UInt64 = 5
        public static let dispatched: UInt64 = 6
    }
}

extension Keel_Gateway_V1_BrokerPosition {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let venue: UInt64 = 1
        public static let symbol: UInt64 = 2
        public static let qty: UInt64 = 3
        public static let avgPrice: UInt64 = 4
        public static let mark: UInt64 = 5
    }
}

extension Keel_Gateway_V1_CancelScheduleRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let scheduleID: UInt64 = 1
        public static let reason: UInt64 = 2
    }
}

extension Keel_Gateway_V1_CommitLogRecord {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let offset: UInt64 = 1
        public static let key: UInt64 = 2
        public static let recordType: UInt64 = 3
        public static let timestampMs: UInt64 = 4
        public static let batchID: UInt64 = 5
        public static let payload: UInt64 = 6
    }
}

extension Keel_Gateway_V1_DecideExitSignalRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let signalID: UInt64 = 1
        public static let approve: UInt64 = 2
        public static let reason: UInt64 = 3
        public static let `operator`: UInt64 = 4
    }
}

extension Keel_Gateway_V1_ExecuteRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let planRequest: UInt64 = 1
        public static let perStrategy: UInt64 = 2
        public static let sharedAccount: UInt64 = 3
        public static let submit: UInt64 = 4
        public static let flipPolicy: UInt64 = 5
        public static let timeInForce: UInt64 = 6
        public static let disableReduceOnly: UInt64 = 7
        public static let accountID: UInt64 = 8
    }
}

extension Keel_Gateway_V1_ExecuteResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let planID: UInt64 = 1
        public static let ordersPerWorld: UInt64 = 2
        public static let overlayDeltas: UInt64 = 3
        public static let ordersGlobal: UInt64 = 4
        public static let ordersPerStrategy: UInt64 = 5
        public static let violations: UInt64 = 6
        public static let sharedAccountContext: UInt64 = 7
        public static let submitted: UInt64 = 8
        public static let executionScope: UInt64 = 9
        public static let batches: UInt64 = 10
        public static let executionID: UInt64 = 11
        public static let replayed: UInt64 = 12
    }
}

extension Keel_Gateway_V1_ExitSignalRecord {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let signal: UInt64 = 1
        public static let state: UInt64 = 2
        public static let planID: UInt64 = 3
        public static let executionID: UInt64 = 4
        public static let reason: UInt64 = 5
        public static let receivedAtMs: UInt64 = 6
        public static let decidedAtMs: UInt64 = 7
        public static let decidedBy: UInt64 = 8
    }
}

extension Keel_Gateway_V1_GatewayEvent {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let seq: UInt64 = 1
        public static let topic: UInt64 = 2
        public static let timeMs: UInt64 = 3
        public static let planned: UInt64 = 4
        public static let order: UInt64 = 5
        public static let schedule: UInt64 = 6
        public static let exitSignal: UInt64 = 7
    }
}

extension Keel_Gateway_V1_GetBalanceRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let accountID: UInt64 = 1
    }
}

extension Keel_Gateway_V1_GetBalanceResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let cash: UInt64 = 1
        public static let equity: UInt64 = 2
        public static let currency: UInt64 = 3
        public static let asOfMs: UInt64 = 4
    }
}

extension Keel_Gateway_V1_GetPositionsRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let accountID: UInt64 = 1
        public static let includeAttributed: UInt64 = 2
    }
}

extension Keel_Gateway_V1_GetPositionsResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let positions: UInt64 = 1
        public static let attributed: UInt64 = 2
    }
}

extension Keel_Gateway_V1_GetScheduleRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let scheduleID: UInt64 = 1
    }
}

extension Keel_Gateway_V1_ListAuditEventsRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let key: UInt64 = 1
        public static let afterID: UInt64 = 2
        public static let limit: UInt64 = 3
    }
}

extension Keel_Gateway_V1_ListAuditEventsResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let events: UInt64 = 1
        public static let nextAfterID: UInt64 = 2
    }
}

extension Keel_Gateway_V1_ListExitSignalsRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let state: UInt64 = 1
        public static let limit: UInt64 = 2
        public static let pageToken: UInt64 = 3
    }
}

extension Keel_Gateway_V1_ListExitSignalsResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let signals: UInt64 = 1
        public static let nextPageToken: UInt64 = 2
    }
}

extension Keel_Gateway_V1_ListOrdersRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let batchID: UInt64 = 1
        public static let worldID: UInt64 = 2
        public static let status: UInt64 = 3
        public static let limit: UInt64 = 4
        public static let pageToken: UInt64 = 5
    }
}

extension Keel_Gateway_V1_ListOrdersResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let orders: UInt64 = 1
        public static let nextPageToken: UInt64 = 2
    }
}

extension Keel_Gateway_V1_ListSchedulesRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let accountID: UInt64 = 1
        public static let activeOnly: UInt64 = 2
        public static let limit: UInt64 = 3
        public static let pageToken: UInt64 = 4
    }
}

extension Keel_Gateway_V1_ListSchedulesResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let schedules: UInt64 = 1
        public static let nextPageToken: UInt64 = 2
    }
}

extension Keel_Gateway_V1_MarkKey {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let venue: UInt64 = 1
        public static let symbol: UInt64 = 2
    }
}

extension Keel_Gateway_V1_Order {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let clientOrderID: UInt64 = 1
        public static let worldID: UInt64 = 2
        public static let strategyID: UInt64 = 3
        public static let venue: UInt64 = 4
        public static let symbol: UInt64 = 5
        public static let side: UInt64 = 6
        public static let quantity: UInt64 = 7
        public static let timeInForce: UInt64 = 8
        public static let reduceOnly: UInt64 = 9
        public static let leg: UInt64 = 10
        public static let referenceMark: UInt64 = 11
    }
}

extension Keel_Gateway_V1_OrderRecord {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let order: UInt64 = 1
        public static let batchID: UInt64 = 2
        public static let status: UInt64 = 3
        public static let filledQty: UInt64 = 4
        public static let updatedAtMs: UInt64 = 5
        public static let reason: UInt64 = 6
    }
}

extension Keel_Gateway_V1_OrderUpdate {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let clientOrderID: UInt64 = 1
        public static let batchID: UInt64 = 2
        public static let status: UInt64 = 3
        public static let filledQty: UInt64 = 4
        public static let avgPrice: UInt64 = 5
        public static let reason: UInt64 = 6
    }
}

extension Keel_Gateway_V1_OrderViolation {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let worldID: UInt64 = 1
        public static let strategyID: UInt64 = 2
        public static let venue: UInt64 = 3
        public static let symbol: UInt64 = 4
        public static let reason: UInt64 = 5
        public static let requestedQty: UInt64 = 6
        public static let lotSize: UInt64 = 7
        public static let minNotional: UInt64 = 8
        public static let mark: UInt64 = 9
        public static let quantity: UInt64 = 10
    }
}

extension Keel_Gateway_V1_PreviewRound {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let side: UInt64 = 1
        public static let symbol: UInt64 = 2
        public static let round: UInt64 = 3
        public static let dueAtMs: UInt64 = 4
        public static let qty: UInt64 = 5
        public static let amount: UInt64 = 6
        public static let estimatedQty: UInt64 = 7
    }
}

extension Keel_Gateway_V1_PreviewScheduleResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let plan: UInt64 = 1
        public static let rounds: UInt64 = 2
        public static let policy: UInt64 = 3
    }
}

extension Keel_Gateway_V1_ReadCommitLogRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let fromOffset: UInt64 = 1
        public static let limit: UInt64 = 2
        public static let follow: UInt64 = 3
    }
}

extension Keel_Gateway_V1_RebalanceBatch {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let event: UInt64 = 1
        public static let version: UInt64 = 2
        public static let batchID: UInt64 = 3
        public static let worldID: UInt64 = 4
        public static let scope: UInt64 = 5
        public static let orders: UInt64 = 6
        public static let orderCount: UInt64 = 7
        public static let reduceOnlyCount: UInt64 = 8
        public static let reduceOnlyRatio: UInt64 = 9
        public static let sharedAccount: UInt64 = 10
        public static let mode: UInt64 = 11
        public static let planMode: UInt64 = 12
        public static let planID: UInt64 = 13
        public static let executionID: UInt64 = 14
        public static let dispatched: UInt64 = 15
        public static let submittedAtMs: UInt64 = 16
        public static let accountID: UInt64 = 17
    }
}

extension Keel_Gateway_V1_Schedule {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let scheduleID: UInt64 = 1
        public static let accountID: UInt64 = 2
        public static let venue: UInt64 = 3
        public static let state: UInt64 = 4
        public static let planID: UInt64 = 5
        public static let plan: UInt64 = 6
        public static let policy: UInt64 = 7
        public static let createdAtMs: UInt64 = 8
        public static let sellStartedAtMs: UInt64 = 9
        public static let buyStartedAtMs: UInt64 = 10
        public static let finishedAtMs: UInt64 = 11
        public static let legs: UInt64 = 12
        public static let intent: UInt64 = 13
        public static let replayed: UInt64 = 14
        public static let stateReason: UInt64 = 15
    }
}

extension Keel_Gateway_V1_ScheduleEvent {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let scheduleID: UInt64 = 1
        public static let kind: UInt64 = 2
        public static let timeMs: UInt64 = 3
        public static let symbol: UInt64 = 4
        public static let side: UInt64 = 5
        public static let round: UInt64 = 6
        public static let qty: UInt64 = 7
        public static let price: UInt64 = 8
        public static let filledQty: UInt64 = 9
        public static let amount: UInt64 = 10
        public static let clientOrderID: UInt64 = 11
        public static let state: UInt64 = 12
        public static let message: UInt64 = 13
        public static let intent: UInt64 = 14
    }
}

extension Keel_Gateway_V1_ScheduleLeg {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let side: UInt64 = 1
        public static let symbol: UInt64 = 2
        public static let totalQty: UInt64 = 3
        public static let totalAmount: UInt64 = 4
        public static let filledQty: UInt64 = 5
        public static let filledAmount: UInt64 = 6
        public static let committedQty: UInt64 = 7
        public static let committedAmount: UInt64 = 8
        public static let rounds: UInt64 = 9
        public static let lotSize: UInt64 = 10
    }
}

extension Keel_Gateway_V1_SchedulePolicy {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let timeZone: UInt64 = 1
        public static let tradingDate: UInt64 = 2
        public static let sellStart: UInt64 = 3
        public static let buyStart: UInt64 = 4
        public static let sessionEnd: UInt64 = 5
        public static let roundIntervalS: UInt64 = 6
        public static let pollIntervalS: UInt64 = 7
        public static let amendAfterS: UInt64 = 8
        public static let orderStyle: UInt64 = 9
        public static let cancelAtSessionEnd: UInt64 = 10
    }
}

extension Keel_Gateway_V1_ScheduleRound {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let index: UInt64 = 1
        public static let plannedQty: UInt64 = 2
        public static let plannedAmount: UInt64 = 3
        public static let dueAtMs: UInt64 = 4
        public static let state: UInt64 = 5
        public static let orderQty: UInt64 = 6
        public static let limitPrice: UInt64 = 7
        public static let filledQty: UInt64 = 8
        public static let filledAmount: UInt64 = 9
        public static let clientOrderID: UInt64 = 10
        public static let brokerOrderID: UInt64 = 11
        public static let amendCount: UInt64 = 12
        public static let lastSubmitOrAmendAtMs: UInt64 = 13
        public static let corrected: UInt64 = 14
        public static let note: UInt64 = 15
    }
}

extension Keel_Gateway_V1_SharedAccountContext {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let totalEquity: UInt64 = 1
        public static let currentNetNotional: UInt64 = 2
        public static let grossNotional: UInt64 = 3
        public static let netNotionalDelta: UInt64 = 4
        public static let netNotional: UInt64 = 5
        public static let marginHeadroom: UInt64 = 6
        public static let missingMarks: UInt64 = 7
        public static let allowed: UInt64 = 8
        public static let violation: UInt64 = 9
        public static let message: UInt64 = 10
    }
}

extension Keel_Gateway_V1_StartScheduleRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let accountID: UInt64 = 1
        public static let venue: UInt64 = 2
        public static let target: UInt64 = 3
        public static let fillFromAccount: UInt64 = 4
        public static let policy: UInt64 = 5
        public static let intent: UInt64 = 6
    }
}

extension Keel_Gateway_V1_WatchRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let topics: UInt64 = 1
        public static let afterSeq: UInt64 = 2
        public static let liveOnly: UInt64 = 3
    }
}

extension Keel_Gateway_V1_WorldOrders {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let worldID: UInt64 = 1
        public static let orders: UInt64 = 2
    }
}

extension Keel_Health_V1_HealthCheckRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let service: UInt64 = 1
    }
}

extension Keel_Health_V1_HealthCheckResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let status: UInt64 = 1
    }
}

extension Keel_Planner_V1_AddedSymbol {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let symbol: UInt64 = 1
        public static let name: UInt64 = 2
        public static let price: UInt64 = 3
    }
}

extension Keel_Planner_V1_BuyLeg {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let symbol: UInt64 = 1
        public static let name: UInt64 = 2
        public static let price: UInt64 = 3
        public static let evalAmount: UInt64 = 4
        public static let targetAmount: UInt64 = 5
        public static let totalAmount: UInt64 = 6
        public static let roundAmounts: UInt64 = 7
        public static let estimatedRoundQtys: UInt64 = 8
        public static let lotSize: UInt64 = 9
    }
}

extension Keel_Planner_V1_CashCheck {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let available: UInt64 = 1
        public static let required: UInt64 = 2
        public static let shortfall: UInt64 = 3
    }
}

extension Keel_Planner_V1_CovarianceRow {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let values: UInt64 = 1
    }
}

extension Keel_Planner_V1_Delta {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let venue: UInt64 = 1
        public static let symbol: UInt64 = 2
        public static let deltaQty: UInt64 = 3
    }
}

extension Keel_Planner_V1_EvaluateRiskRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let snapshots: UInt64 = 1
        public static let intent: UInt64 = 2
    }
}

extension Keel_Planner_V1_EvaluateRiskResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let evaluationID: UInt64 = 1
        public static let results: UInt64 = 2
        public static let signals: UInt64 = 3
        public static let replayed: UInt64 = 4
    }
}

extension Keel_Planner_V1_ExcludedHolding {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let symbol: UInt64 = 1
        public static let name: UInt64 = 2
        public static let evalAmount: UInt64 = 3
    }
}

extension Keel_Planner_V1_ExitSignal {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let signalID: UInt64 = 1
        public static let evaluationID: UInt64 = 2
        public static let worldID: UInt64 = 3
        public static let strategyID: UInt64 = 4
        public static let action: UInt64 = 5
        public static let reduceFraction: UInt64 = 6
        public static let reason: UInt64 = 7
        public static let metrics: UInt64 = 8
        public static let ruleID: UInt64 = 9
        public static let asOfMs: UInt64 = 10
        public static let createdAtMs: UInt64 = 11
    }
}

extension Keel_Planner_V1_GetPlanRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let planID: UInt64 = 1
    }
}

extension Keel_Planner_V1_GetPlanResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let plan: UInt64 = 1
        public static let request: UInt64 = 2
    }
}

extension Keel_Planner_V1_OverlayConfig {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let instrumentByWorld: UInt64 = 1
        public static let priceBySymbol: UInt64 = 2
        public static let minOrderNotional: UInt64 = 3
        public static let hybridRatio: UInt64 = 4
    }
}

extension Keel_Planner_V1_OverlayDelta {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let worldID: UInt64 = 1
        public static let symbol: UInt64 = 2
        public static let deltaQty: UInt64 = 3
        public static let notional: UInt64 = 4
    }
}

extension Keel_Planner_V1_Plan {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let planID: UInt64 = 1
        public static let createdAtMs: UInt64 = 2
        public static let mode: UInt64 = 3
        public static let scaleCombination: UInt64 = 4
        public static let perWorld: UInt64 = 5
        public static let globalDeltas: UInt64 = 6
        public static let globalSkipped: UInt64 = 7
        public static let overlayDeltas: UInt64 = 8
        public static let overlaySkipped: UInt64 = 9
        public static let targetWeight: UInt64 = 10
        public static let requestDigest: UInt64 = 11
        public static let intent: UInt64 = 12
        public static let dryRun: UInt64 = 13
    }
}

extension Keel_Planner_V1_PlanRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let totalEquity: UInt64 = 1
        public static let worldAllocBefore: UInt64 = 2
        public static let worldAllocAfter: UInt64 = 3
        public static let strategyAllocBeforeTotal: UInt64 = 4
        public static let strategyAllocAfterTotal: UInt64 = 5
        public static let positions: UInt64 = 6
        public static let minTradeNotional: UInt64 = 7
        public static let lotSizeBySymbol: UInt64 = 8
        public static let mode: UInt64 = 9
        public static let scaleCombination: UInt64 = 10
        public static let overlay: UInt64 = 11
        public static let targetWeight: UInt64 = 12
        public static let intent: UInt64 = 13
        public static let dryRun: UInt64 = 14
    }
}

extension Keel_Planner_V1_PlanResponse {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let plan: UInt64 = 1
        public static let replayed: UInt64 = 2
    }
}

extension Keel_Planner_V1_PlannerEvent {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let seq: UInt64 = 1
        public static let topic: UInt64 = 2
        public static let eventID: UInt64 = 3
        public static let timeMs: UInt64 = 4
        public static let planID: UInt64 = 5
        public static let worldID: UInt64 = 6
        public static let mode: UInt64 = 7
        public static let scaleWorld: UInt64 = 8
        public static let scaleByStrategy: UInt64 = 9
        public static let deltas: UInt64 = 10
        public static let overlayDeltas: UInt64 = 11
        public static let deltaCount: UInt64 = 12
        public static let intent: UInt64 = 13
        public static let targetWeight: UInt64 = 14
        public static let exitSignal: UInt64 = 15
    }
}

extension Keel_Planner_V1_Position {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let worldID: UInt64 = 1
        public static let strategyID: UInt64 = 2
        public static let symbol: UInt64 = 3
        public static let qty: UInt64 = 4
        public static let mark: UInt64 = 5
        public static let venue: UInt64 = 6
    }
}

extension Keel_Planner_V1_ReturnSeries {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let returns: UInt64 = 1
    }
}

extension Keel_Planner_V1_RiskRule {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let ruleID: UInt64 = 1
        public static let measure: UInt64 = 2
        public static let limit: UInt64 = 3
        public static let confidence: UInt64 = 4
        public static let action: UInt64 = 5
        public static let reduceFraction: UInt64 = 6
    }
}

extension Keel_Planner_V1_RiskSnapshot {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let worldID: UInt64 = 1
        public static let strategyID: UInt64 = 2
        public static let symbols: UInt64 = 3
        public static let weights: UInt64 = 4
        public static let covariance: UInt64 = 5
        public static let returns: UInt64 = 6
        public static let equityCurve: UInt64 = 7
        public static let asOfMs: UInt64 = 8
        public static let rules: UInt64 = 9
    }
}

extension Keel_Planner_V1_RuleResult {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let worldID: UInt64 = 1
        public static let strategyID: UInt64 = 2
        public static let ruleID: UInt64 = 3
        public static let measure: UInt64 = 4
        public static let value: UInt64 = 5
        public static let limit: UInt64 = 6
        public static let breached: UInt64 = 7
    }
}

extension Keel_Planner_V1_SellLeg {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let symbol: UInt64 = 1
        public static let name: UInt64 = 2
        public static let price: UInt64 = 3
        public static let evalAmount: UInt64 = 4
        public static let targetAmount: UInt64 = 5
        public static let totalQty: UInt64 = 6
        public static let roundQtys: UInt64 = 7
        public static let lotSize: UInt64 = 8
    }
}

extension Keel_Planner_V1_SkippedDelta {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let worldID: UInt64 = 1
        public static let venue: UInt64 = 2
        public static let symbol: UInt64 = 3
        public static let reason: UInt64 = 4
        public static let notional: UInt64 = 5
        public static let rawQty: UInt64 = 6
    }
}

extension Keel_Planner_V1_StrategyAllocation {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let byStrategy: UInt64 = 1
    }
}

extension Keel_Planner_V1_TargetWeightPlan {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let totalEval: UInt64 = 1
        public static let targets: UInt64 = 2
        public static let sellLegs: UInt64 = 3
        public static let buyLegs: UInt64 = 4
        public static let excluded: UInt64 = 5
        public static let cashCheck: UInt64 = 6
        public static let warnings: UInt64 = 7
        public static let splitMode: UInt64 = 8
        public static let sellRounds: UInt64 = 9
        public static let buyRounds: UInt64 = 10
    }
}

extension Keel_Planner_V1_TargetWeightPosition {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let symbol: UInt64 = 1
        public static let name: UInt64 = 2
        public static let qty: UInt64 = 3
        public static let price: UInt64 = 4
        public static let evalAmount: UInt64 = 5
    }
}

extension Keel_Planner_V1_TargetWeightRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let positions: UInt64 = 1
        public static let cash: UInt64 = 2
        public static let targetWeights: UInt64 = 3
        public static let excludedSymbols: UInt64 = 4
        public static let addedSymbols: UInt64 = 5
        public static let sellRounds: UInt64 = 6
        public static let buyRounds: UInt64 = 7
        public static let sellEnabled: UInt64 = 8
        public static let buyEnabled: UInt64 = 9
        public static let splitMode: UInt64 = 10
        public static let amountScale: UInt64 = 11
        public static let defaultLotSize: UInt64 = 12
        public static let venue: UInt64 = 13
        public static let lotSizeBySymbol: UInt64 = 14
    }
}

extension Keel_Planner_V1_TargetWeightTarget {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let symbol: UInt64 = 1
        public static let weight: UInt64 = 2
        public static let targetAmount: UInt64 = 3
        public static let evalAmount: UInt64 = 4
        public static let price: UInt64 = 5
    }
}

extension Keel_Planner_V1_TargetWeightWarning {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let kind: UInt64 = 1
        public static let symbol: UInt64 = 2
    }
}

extension Keel_Planner_V1_WatchRequest {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let topics: UInt64 = 1
        public static let afterSeq: UInt64 = 2
        public static let liveOnly: UInt64 = 3
    }
}

extension Keel_Planner_V1_WorldPlan {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let worldID: UInt64 = 1
        public static let scaleWorld: UInt64 = 2
        public static let scaleByStrategy: UInt64 = 3
        public static let deltas: UInt64 = 4
        public static let skipped: UInt64 = 5
    }
}

extension Keel_Wire_V1_ErrorInfo {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let reason: UInt64 = 1
        public static let metadata: UInt64 = 2
    }
}

extension Keel_Wire_V1_Frame {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let callID: UInt64 = 1
        public static let hello: UInt64 = 2
        public static let request: UInt64 = 3
        public static let response: UInt64 = 4
        public static let status: UInt64 = 5
        public static let cancel: UInt64 = 6
        public static let ping: UInt64 = 7
        public static let pong: UInt64 = 8
        public static let goAway: UInt64 = 9
    }
}

extension Keel_Wire_V1_GoAway {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let code: UInt64 = 1
        public static let message: UInt64 = 2
        public static let lastCallID: UInt64 = 3
    }
}

extension Keel_Wire_V1_Hello {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let `protocol`: UInt64 = 1
        public static let maxFrameBytes: UInt64 = 2
        public static let peer: UInt64 = 3
    }
}

extension Keel_Wire_V1_Ping {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let nonce: UInt64 = 1
    }
}

extension Keel_Wire_V1_Pong {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let nonce: UInt64 = 1
    }
}

extension Keel_Wire_V1_Request {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let method: UInt64 = 1
        public static let metadata: UInt64 = 2
        public static let timeoutMs: UInt64 = 3
        public static let body: UInt64 = 4
    }
}

extension Keel_Wire_V1_Response {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let body: UInt64 = 1
    }
}

extension Keel_Wire_V1_Status {
    /// The field numbers of proto/ (for code that reads or writes the encoding by hand).
    public enum FieldNumber {
        public static let code: UInt64 = 1
        public static let message: UInt64 = 2
        public static let details: UInt64 = 3
    }
}

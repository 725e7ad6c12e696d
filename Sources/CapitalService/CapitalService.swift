import CapitalAllocation
import Contracts
import ExactNumbers
import Foundation
import KeelStore
import KeelWire
import Logging
import NIOCore

/// keel-capital's RPCs: account and strategy upserts, balances, trades and PnL
/// compounding, order sizing, reallocation (manual, bulk, automatic), converge, status and the
/// schedule. Validation names the first failing field in message order; a failed call writes nothing.
public final class CapitalService: Sendable {
    let store: CapitalStore
    let settings: CapitalSettings
    let gateway: KWPClient
    let planner: KWPClient
    let clock: @Sendable () -> Int64
    let logger: Logger
    let locks = AccountLocks()
    /// Accounts per transaction in a bulk reallocation without converge.
    let bulkChunk: Int
    /// Set by the server once the scheduler exists (it reports leadership and slot times).
    let leadership: SchedulerLeadership

    public init(store: CapitalStore, settings: CapitalSettings, gateway: KWPClient, planner: KWPClient,
                clock: @escaping @Sendable () -> Int64 = nowMs, logger: Logger = Logger(label: "keel.capital"), bulkChunk: Int = 500) {
        precondition(bulkChunk > 0, "bulkChunk must be positive")
        self.bulkChunk = bulkChunk
        self.store = store
        self.settings = settings
        self.gateway = gateway
        self.planner = planner
        self.clock = clock
        self.logger = logger
        self.leadership = SchedulerLeadership()
    }

    public func register(into router: inout RPCRouter) {
        router.unary(KeelRPC.capitalUpsertAccount) { (r: Keel_Capital_V1_UpsertAccountRequest, c: ServerContext) in try await self.serve { try await self.upsertAccount(r) } }
        router.unary(KeelRPC.capitalUpsertStrategyAccount) { (r: Keel_Capital_V1_UpsertStrategyAccountRequest, c: ServerContext) in try await self.serve { try await self.upsertStrategyAccount(r) } }
        router.unary(KeelRPC.capitalRecordDailyBalance) { (r: Keel_Capital_V1_RecordDailyBalanceRequest, c: ServerContext) in try await self.serve { try await self.recordDailyBalance(r) } }
        router.unary(KeelRPC.capitalRecordTrade) { (r: Keel_Capital_V1_RecordTradeRequest, c: ServerContext) in try await self.serve { try await self.recordTrade(r) } }
        router.unary(KeelRPC.capitalGetAccount) { (r: Keel_Capital_V1_GetAccountRequest, c: ServerContext) in try await self.serve { try await self.getAccount(r) } }
        router.unary(KeelRPC.capitalCalculateOrderQuantity) { (r: Keel_Capital_V1_CalculateOrderQuantityRequest, c: ServerContext) in try await self.serve { try await self.calculateOrderQuantity(r) } }
        router.unary(KeelRPC.capitalApplyRealizedPnl) { (r: Keel_Capital_V1_ApplyRealizedPnlRequest, c: ServerContext) in try await self.serve { try await self.applyRealizedPnl(r) } }
        router.unary(KeelRPC.capitalReallocate) { (r: Keel_Capital_V1_ReallocateRequest, c: ServerContext) in try await self.serve { try await self.reallocate(r, context: c) } }
        router.unary(KeelRPC.capitalReallocateAll) { (r: Keel_Capital_V1_ReallocateAllRequest, c: ServerContext) in try await self.serve { try await self.reallocateAll(r, context: c) } }
        router.unary(KeelRPC.capitalAutoRebalanceAll) { (r: Keel_Capital_V1_AutoRebalanceAllRequest, c: ServerContext) in try await self.serve { try await self.autoRebalanceAll(r, context: c) } }
        router.unary(KeelRPC.capitalRebalanceStatus) { (r: Keel_Capital_V1_RebalanceStatusRequest, c: ServerContext) in try await self.serve { try await self.rebalanceStatus(r, context: c) } }
        router.unary(KeelRPC.capitalConverge) { (r: Keel_Capital_V1_ConvergeRequest, c: ServerContext) in try await self.serve { try await self.converge(r, context: c) } }
        router.unary(KeelRPC.capitalListRebalanceRuns) { (r: Keel_Capital_V1_ListRebalanceRunsRequest, c: ServerContext) in try await self.serve { try await self.listRebalanceRuns(r) } }
        router.unary(KeelRPC.capitalGetRebalanceSchedule) { (r: Keel_Capital_V1_GetRebalanceScheduleRequest, c: ServerContext) in try await self.serve { try await self.rebalanceSchedule() } }
    }

    /// Domain errors become their status; a store failure is UNAVAILABLE `E_STORE_UNAVAILABLE`
    /// (its transaction rolled back, nothing was written).
    func serve<T>(_ body: () async throws -> T) async throws(RPCError) -> T {
        do {
            return try await body()
        } catch {
            throw status(of: error)
        }
    }

    /// The status an error answers with (for a call, or for one account of a bulk run).
    func status(of error: any Error) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as FieldError:
            return RPCError(error)
        case is CancellationError:
            return RPCError(.cancelled, "the call was cancelled")
        case let error as UnreadableStoredValue:
            logger.storedValueUnreadable(error)
            return RPCError(error)
        default:
            logger.error("store failure", metadata: ["error": "\(error)"])
            return RPCError(.storeUnavailable, "the capital store failed; nothing was written: \(error)")
        }
    }

    // MARK: accounts and strategy accounts

    func upsertAccount(_ request: Keel_Capital_V1_UpsertAccountRequest) async throws -> Account {
        var account = request.account
        try CapitalValidation.id(account.accountID, field: "account.account_id")
        try CapitalValidation.required(account.quoteCurrency, field: "account.quote_currency")
        let currency = account.quoteCurrency.utf8
        guard (2...12).contains(currency.count), currency.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x30 && $0 <= 0x39) }) else {
            throw FieldError(.valueOutOfRange, field: "account.quote_currency", message: "account.quote_currency must be 2–12 of A–Z 0–9 (e.g. USDT, KRW)")
        }
        if account.hasCurrencyScale {
            guard account.currencyScale <= 18 else {
                throw FieldError(.valueOutOfRange, field: "account.currency_scale", message: "account.currency_scale must be 0–18, got \(account.currencyScale)")
            }
        } else {
            account.currencyScale = ["KRW", "JPY"].contains(account.quoteCurrency) ? 0 : 8
        }
        if account.gatewayAccountID.isEmpty { account.gatewayAccountID = account.accountID }
        try CapitalValidation.id(account.gatewayAccountID, field: "account.gateway_account_id")
        if account.worldID.isEmpty { account.worldID = account.accountID }
        if !account.hasIsActive { account.isActive = true }
        // Written only by reallocation.
        account.previousTotalCapital = ""
        account.lastRebalanceAtMs = 0
        return try await store.accounts.upsert(account)
    }

    func upsertStrategyAccount(_ request: Keel_Capital_V1_UpsertStrategyAccountRequest) async throws -> StrategyAccount {
        var sa = request.strategyAccount
        try CapitalValidation.id(sa.strategyAccountID, field: "strategy_account.strategy_account_id")
        try CapitalValidation.id(sa.accountID, field: "strategy_account.account_id")
        try CapitalValidation.required(sa.strategyID, field: "strategy_account.strategy_id")
        switch sa.marketType {
        case .unspecified: sa.marketType = .spot
        case .spot, .futures: break
        case .UNRECOGNIZED(let n): throw CapitalValidation.unknownEnum("strategy_account.market_type", n)
        }
        let weight = try CapitalValidation.decimal(sa.weight, default: "1", field: "strategy_account.weight",
                                                   in: ExactDecimal(significand: BigInt(1), exponent: -2)...ExactDecimal(100))
        let leverage = try CapitalValidation.decimal(sa.leverage, default: "1", field: "strategy_account.leverage",
                                                     in: ExactDecimal(significand: BigInt(1), exponent: -1)...ExactDecimal(125))
        guard sa.maxSymbols <= 1000 else {
            throw FieldError(.valueOutOfRange, field: "strategy_account.max_symbols", message: "strategy_account.max_symbols must be 0–1000 (0 = unlimited)")
        }
        sa.weight = weight.description
        sa.leverage = leverage.description
        if !sa.hasIsActive { sa.isActive = true }
        sa.clearCapital()
        return try await store.accounts.upsert(sa)
    }

    func recordDailyBalance(_ request: Keel_Capital_V1_RecordDailyBalanceRequest) async throws -> Keel_Capital_V1_DailyBalance {
        var balance = request.balance
        try CapitalValidation.id(balance.accountID, field: "balance.account_id")
        try CapitalValidation.date(balance.date, field: "balance.date")
        try CapitalValidation.required(balance.endingBalance, field: "balance.ending_balance")
        balance.endingBalance = try DecimalText.parseExact(balance.endingBalance, field: "balance.ending_balance").description
        try await store.accounts.recordBalance(accountID: balance.accountID, date: balance.date, endingBalance: balance.endingBalance)
        return balance
    }

    func getAccount(_ request: Keel_Capital_V1_GetAccountRequest) async throws -> Keel_Capital_V1_GetAccountResponse {
        let account = try await existingAccount(request.accountID)
        var response = Keel_Capital_V1_GetAccountResponse()
        response.account = account
        response.strategyAccounts = try await store.accounts.strategyAccounts(accountID: account.accountID)
        if let latest = try await store.accounts.latestBalance(accountID: account.accountID) { response.latestBalance = latest }
        return response
    }

    func existingAccount(_ id: String, field: String = "account_id") async throws -> Account {
        try CapitalValidation.id(id, field: field)
        return try Self.found(try await store.accounts.account(id: id), id: id, field: field)
    }

    /// The looked-up account of `id`, or NOT_FOUND `E_ACCOUNT_NOT_FOUND`.
    static func found(_ account: Account?, id: String, field: String = "account_id") throws(FieldError) -> Account {
        guard let account else { throw notFound(id, field: field) }
        return account
    }

    static func notFound(_ id: String, field: String = "account_id") -> FieldError {
        FieldError(.accountNotFound, field: field, message: "no account \(id)")
    }

    /// FAILED_PRECONDITION `E_ACCOUNT_INACTIVE` for an inactive account (reallocation needs an active one).
    static func requireActive(_ account: Account) throws(FieldError) {
        guard account.isActive else {
            throw FieldError(.accountInactive, field: "account_id", message: "account \(account.accountID) is inactive")
        }
    }

    func existingStrategyAccount(_ id: String) async throws -> StrategyAccount {
        try CapitalValidation.id(id, field: "strategy_account_id")
        guard let sa = try await store.accounts.strategyAccount(id: id) else {
            throw FieldError(.strategyAccountNotFound, field: "strategy_account_id", message: "no strategy account \(id)")
        }
        return sa
    }

    // MARK: trades and PnL

    func recordTrade(_ request: Keel_Capital_V1_RecordTradeRequest) async throws -> Keel_Capital_V1_RecordTradeResponse {
        let sa = try await existingStrategyAccount(request.strategyAccountID)
        try CapitalValidation.required(request.executionID, field: "execution_id")
        try CapitalValidation.required(request.symbol, field: "symbol")
        let side: TradeSide
        switch request.side {
        case .unspecified: throw FieldError(.missingField, field: "side", message: "side is required (BUY or SELL)")
        case .buy: side = .buy
        case .sell: side = .sell
        case .UNRECOGNIZED(let n): throw CapitalValidation.unknownEnum("side", n)
        }
        let qty = try DecimalText.parseExact(request.qty, field: "qty")
        guard qty.signum > 0 else { throw FieldError(.valueOutOfRange, field: "qty", message: "qty must be > 0, got \(qty)") }
        let price = try DecimalText.parseExact(request.price, field: "price")
        guard price.signum > 0 else { throw FieldError(.valueOutOfRange, field: "price", message: "price must be > 0, got \(price)") }
        let pnl = request.realizedPnl.isEmpty ? nil : try DecimalText.parseExact(request.realizedPnl, field: "realized_pnl")
        let now = clock()
        let trade = TradeRecord(
            strategyAccountID: sa.strategyAccountID, executionID: request.executionID,
            executionTimeMs: request.executionTimeMs == 0 ? now : request.executionTimeMs, symbol: request.symbol, side: side,
            qty: qty, price: price, realizedPnl: pnl)
        var response = Keel_Capital_V1_RecordTradeResponse()
        switch try await store.trades.record(trade, timeGiven: request.executionTimeMs != 0, compound: settings.compoundOnTrade, nowMs: now) {
        case .replayed(let position):
            response.replayed = true
            response.positionQty = position.description
        case .stored(let position, let compounded):
            response.positionQty = position.description
            if let compounded { response.pnl = Self.pnlResponse(compounded) }
            logger.info("trade recorded", metadata: [
                "strategy_account_id": "\(sa.strategyAccountID)", "execution_id": "\(request.executionID)", "position_qty": "\(position)",
            ])
        }
        return response
    }

    func applyRealizedPnl(_ request: Keel_Capital_V1_ApplyRealizedPnlRequest) async throws -> Keel_Capital_V1_ApplyRealizedPnlResponse {
        let sa = try await existingStrategyAccount(request.strategyAccountID)
        return Self.pnlResponse(try await store.trades.applyPnl(strategyAccountID: sa.strategyAccountID, nowMs: clock()))
    }

    static func pnlResponse(_ result: PnlCompounding.Result) -> Keel_Capital_V1_ApplyRealizedPnlResponse {
        var response = Keel_Capital_V1_ApplyRealizedPnlResponse()
        response.oldCapital = result.oldCapital.description
        response.allocatedCapital = result.allocatedCapital.description
        response.appliedPnl = result.appliedPnl.description
        response.appliedExecutionIds = result.appliedExecutionIDs
        if result.negativeCapital { response.warnings = [.negativeCapital] }
        return response
    }

    // MARK: order quantity

    func calculateOrderQuantity(_ request: Keel_Capital_V1_CalculateOrderQuantityRequest) async throws -> Keel_Capital_V1_CalculateOrderQuantityResponse {
        let sa = try await existingStrategyAccount(request.strategyAccountID)
        guard sa.isActive else {
            throw FieldError(.strategyAccountInactive, field: "strategy_account_id", message: "strategy account \(sa.strategyAccountID) is inactive")
        }
        let qtyPer = try DecimalText.parseExact(request.qtyPer, field: "qty_per")
        try OrderQuantity.checkQtyPer(qtyPer, maxQtyPer: settings.maxQtyPer)
        let orderType = try CapitalValidation.orderType(request.orderType)
        func price(_ text: String, _ field: String) throws(FieldError) -> ExactDecimal? {
            guard !text.isEmpty else { return nil }
            let value = try DecimalText.parseExact(text, field: field)
            guard value.signum > 0 else { throw FieldError(.invalidPrice, field: field, message: "\(field) must be > 0, got \(value)") }
            return value
        }
        let limitPrice = try price(request.price, "price")
        let stopPrice = try price(request.stopPrice, "stop_price")
        let marketPrice = request.marketPrice.isEmpty ? nil : try DecimalText.parseExact(request.marketPrice, field: "market_price")
        let side = try CapitalValidation.side(request.side)
        var position = request.positionQty.isEmpty ? nil : try DecimalText.parseExact(request.positionQty, field: "position_qty")
        guard request.hasSymbolRules else {
            throw FieldError(.symbolRulesNotFound, field: "symbol_rules", message: "no symbol_rules were given for the symbol")
        }
        let rules = try CapitalValidation.symbolRules(request.symbolRules)
        // A close without position_qty sizes from the strategy's recorded net quantity.
        if qtyPer.isNegative, position == nil, side != nil {
            try CapitalValidation.required(request.symbol, field: "symbol")
            position = try await store.trades.netQuantity(strategyAccountID: sa.strategyAccountID, symbol: request.symbol)
        }
        var input = OrderQuantity.Input(qtyPer: qtyPer, rules: rules)
        input.orderType = orderType
        input.price = limitPrice
        input.stopPrice = stopPrice
        input.marketPrice = marketPrice
        input.side = side
        input.positionQty = position
        input.allocatedCapital = sa.hasCapital ? try UnreadableStoredValue.decimal(sa.capital.allocatedCapital, table: "strategy_capital", row: sa.strategyAccountID, column: "allocated_capital") : nil
        input.leverage = try UnreadableStoredValue.decimal(sa.leverage, table: "strategy_accounts", row: sa.strategyAccountID, column: "leverage")
        input.isFutures = sa.marketType == .futures
        input.maxQtyPer = settings.maxQtyPer
        input.priceSource = settings.marketOrderPriceSource
        let result = try OrderQuantity.calculate(input)
        var response = Keel_Capital_V1_CalculateOrderQuantityResponse()
        response.quantity = result.quantity.description
        if let skip = result.skip {
            response.skipReason = switch skip {
            case .zeroQtyPer: .zeroQtyPer
            case .belowMinQuantity: .belowMinQuantity
            case .aboveMaxQuantity: .aboveMaxQuantity
            case .belowMinNotional: .belowMinNotional
            case .roundedToZero: .roundedToZero
            case .nonPositiveCapital: .nonPositiveCapital
            }
        }
        response.priceUsed = result.priceUsed?.description ?? ""
        response.leverageApplied = result.leverageApplied?.description ?? ""
        if result.closePercentClamped { response.warnings = [.closePercentClamped] }
        if sa.hasCapital, !qtyPer.isNegative { response.allocatedCapital = sa.capital.allocatedCapital }
        return response
    }

    // MARK: runs and schedule

    func listRebalanceRuns(_ request: Keel_Capital_V1_ListRebalanceRunsRequest) async throws -> Keel_Capital_V1_ListRebalanceRunsResponse {
        var accountID: String?
        if !request.accountID.isEmpty { accountID = try await existingAccount(request.accountID).accountID }
        guard request.limit <= 500 else { throw FieldError(.valueOutOfRange, field: "limit", message: "limit must be 0–500 (0 = 50)") }
        let limit = request.limit == 0 ? 50 : Int(request.limit)
        // A token is the last run id of the previous page.
        guard let runs = try await store.runs.runs(accountID: accountID, limit: limit + 1, before: request.pageToken.isEmpty ? nil : request.pageToken) else {
            throw FieldError(.invalidPageToken, field: "page_token", message: "page_token is not a token this service issued")
        }
        var response = Keel_Capital_V1_ListRebalanceRunsResponse()
        response.runs = Array(runs.prefix(limit))
        if runs.count > limit, let last = response.runs.last { response.nextPageToken = last.runID }
        return response
    }

    func rebalanceSchedule() async throws -> Keel_Capital_V1_GetRebalanceScheduleResponse {
        let schedule = settings.schedule
        let daily = schedule.daily
        let now = clock()
        let last = try await store.scheduler.lastScheduleRuns()
        var response = Keel_Capital_V1_GetRebalanceScheduleResponse()
        response.enabled = schedule.enabled
        response.timeZone = schedule.timeZone.identifier
        response.graceSeconds = UInt32(schedule.graceSeconds)
        response.isLeader = leadership.isLeader
        for slot in daily.slots {
            var out = Keel_Capital_V1_Slot()
            out.hour = UInt32(slot.hour)
            out.minute = UInt32(slot.minute)
            out.nextAtMs = daily.next(slot, atOrAfter: now) ?? 0
            if let recorded = last[slot.description] {
                out.lastScheduledAtMs = recorded.atMs
                out.lastOutcome = recorded.outcome
            }
            response.slots.append(out)
        }
        if schedule.enabled { response.nextSlotAtMs = daily.next(atOrAfter: now) ?? 0 }
        return response
    }
}

/// Reallocations of one account are serialised: a lock per account id, handed to the next
/// waiter in arrival order.
actor AccountLocks {
    private var held: Set<String> = []
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Every key's lock, taken in sorted order (so two bulk calls cannot deadlock), around `body`.
    func withLocks<T: Sendable>(_ keys: [String], _ body: @Sendable () async throws -> T) async throws -> T {
        let sorted = Set(keys).sorted()
        for key in sorted { await lock(key) }
        do {
            let value = try await body()
            for key in sorted { unlock(key) }
            return value
        } catch {
            for key in sorted { unlock(key) }
            throw error
        }
    }

    func withLock<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        await lock(key)
        do {
            let value = try await body()
            unlock(key)
            return value
        } catch {
            unlock(key)
            throw error
        }
    }

    private func lock(_ key: String) async {
        if held.insert(key).inserted { return }
        await withCheckedContinuation { waiters[key, default: []].append($0) }
    }

    private func unlock(_ key: String) {
        if var queue = waiters[key], !queue.isEmpty {
            let next = queue.removeFirst()
            waiters[key] = queue.isEmpty ? nil : queue
            next.resume()  // ownership passes to the next waiter
        } else {
            held.remove(key)
        }
    }
}

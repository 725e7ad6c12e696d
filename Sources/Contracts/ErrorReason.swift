/// A stable reason of Keel's API errors (`ErrorInfo.reason` on the wire): the status it answers
/// with, the field it names, and what it means. docs/errors.md is generated from `ErrorReason.all`.
public struct ErrorReason: Sendable, Hashable, CustomStringConvertible {
    /// `E_INVALID_DECIMAL`, as the wire carries it.
    public let name: String
    public let status: StatusCode
    /// What `metadata["field"]` names when this reason is answered ("" when it names none).
    public let field: String
    /// What happened and what the caller can do, in a sentence or two.
    public let meaning: String

    init(_ name: String, _ status: StatusCode, field: String, meaning: String) {
        self.name = name
        self.status = status
        self.field = field
        self.meaning = meaning
    }

    public var description: String { name }
}

extension ErrorReason {
    // MARK: wire/protocol: request fields (every service)

    public static let invalidDecimal = ErrorReason(
        "E_INVALID_DECIMAL", .invalidArgument, field: "the decimal field, e.g. positions[3].qty",
        meaning: "The field is not a decimal in Keel's grammar: plain notation such as 0.1 or -12.5, no sign +, no exponent, no blanks, at most 34 significant digits. Send the value in that form.")
    public static let negativeValue = ErrorReason(
        "E_NEGATIVE_VALUE", .invalidArgument, field: "the decimal field, e.g. positions[3].mark",
        meaning: "The field is a valid decimal but below zero where only values ≥ 0 are accepted.")
    public static let missingField = ErrorReason(
        "E_MISSING_FIELD", .invalidArgument, field: "the required field, e.g. positions[3].world_id",
        meaning: "A required field is empty or unset (for an enum, left at its UNSPECIFIED value; for a list, given no entries). Set it and retry.")
    public static let unknownEnum = ErrorReason(
        "E_UNKNOWN_ENUM", .invalidArgument, field: "the enum field, e.g. mode",
        meaning: "The enum field carries a number that is not one of its listed values, typically from a client built against a newer contract. Send one of the listed values.")
    public static let valueOutOfRange = ErrorReason(
        "E_OUT_OF_RANGE", .invalidArgument, field: "the field outside its range, e.g. limit",
        meaning: "A number or decimal lies outside the range the field allows (a list limit above its maximum, a confidence outside (0, 1), a lot size or price that is not > 0, a scale above 18, a converge mode other than PLAN or EXECUTE, …); the message states the range. It answers INVALID_ARGUMENT, not OUT_OF_RANGE.")
    public static let fieldNotAllowed = ErrorReason(
        "E_FIELD_NOT_ALLOWED", .invalidArgument, field: "the field that must be empty, e.g. target_weight",
        meaning: "A field is set where the rest of the request forbids it: target_weight with a mode other than PLAN_MODE_TARGET_WEIGHT, proportional fields with that mode, a confidence on a rule that is not VaR or ES, a reduce_fraction other than 1 on an EXIT rule, or target.positions / target.cash with fill_from_account. Leave it empty.")

    // MARK: wire/protocol: connections and calls

    public static let goingAway = ErrorReason(
        "E_GOING_AWAY", .unavailable, field: "",
        meaning: "The server is shutting down: a call started on a draining connection, or was still open when the drain deadline passed. Retry on a new connection, to this or another instance.")
    public static let duplicateCallId = ErrorReason(
        "E_DUPLICATE_CALL_ID", .invalidArgument, field: "call_id",
        meaning: "The request opens a call_id that is already open on this connection; the call that holds it is not affected. Use a fresh call_id.")
    public static let tooManyCalls = ErrorReason(
        "E_TOO_MANY_CALLS", .resourceExhausted, field: "",
        meaning: "The connection already has the maximum number of concurrent calls open (256 by default); the connection stays up. Wait for a call to finish, or open another connection.")
    public static let invalidMetadata = ErrorReason(
        "E_INVALID_METADATA", .invalidArgument, field: "metadata[<key>]",
        meaning: "A request metadata key is empty or is not lower-case printable ASCII; the field names the first such key in sorted order.")
    public static let notAuthenticated = ErrorReason(
        "E_UNAUTHENTICATED", .unauthenticated, field: "authorization",
        meaning: "The server requires a bearer token for this method and the authorization metadata is missing or holds the wrong one.")
    public static let unknownMethod = ErrorReason(
        "E_UNKNOWN_METHOD", .unimplemented, field: "",
        meaning: "This server has no method at the requested path; metadata method names the path that was asked for.")
    public static let undecodableBody = ErrorReason(
        "E_UNDECODABLE_BODY", .invalidArgument, field: "body",
        meaning: "The request body does not decode as the method's request message.")
    public static let frameTooLarge = ErrorReason(
        "E_FRAME_TOO_LARGE", .resourceExhausted, field: "",
        meaning: "A message does not fit the peer's max_frame_bytes: the server answers this instead of a response that is too large for the client, and the Swift client fails a request too large for the server locally, without sending it. Ask for less per call (page or split), or raise the frame limit.")
    public static let internalError = ErrorReason(
        "E_INTERNAL", .internal, field: "",
        meaning: "The handler failed with an unexpected error; the details are logged by the server, not sent.")
    public static let undecodableResponse = ErrorReason(
        "E_UNDECODABLE_RESPONSE", .internal, field: "",
        meaning: "Raised locally by the Swift client: a reply or stream message does not decode as the expected response message, typically a client and server built from different contracts.")
    public static let invalidIdempotencyKey = ErrorReason(
        "E_INVALID_IDEMPOTENCY_KEY", .invalidArgument, field: "idempotency-key",
        meaning: "The idempotency-key metadata on a method that honours it is empty, longer than 128 bytes, or not printable ASCII.")
    public static let idempotencyKeyReused = ErrorReason(
        "E_IDEMPOTENCY_KEY_REUSED", .alreadyExists, field: "idempotency-key",
        meaning: "The idempotency key was already used for a different request; metadata names what the first request made (plan_id, evaluation_id, execution_id, schedule_id or run_id). Use a new key for a new request.")
    public static let digestEncoding = ErrorReason(
        "E_DIGEST_ENCODING", .internal, field: "body",
        meaning: "The request could not be encoded deterministically to compute the digest that idempotency compares; nothing was stored.")

    // MARK: wire/protocol: lists and event streams

    public static let invalidPageToken = ErrorReason(
        "E_INVALID_PAGE_TOKEN", .invalidArgument, field: "page_token",
        meaning: "The page_token is not one this service issued. Pass back the next_page_token of the previous page unchanged, or none for the first page.")
    public static let unknownTopic = ErrorReason(
        "E_UNKNOWN_TOPIC", .invalidArgument, field: "topics[<i>]",
        meaning: "Watch was asked for a topic this service does not publish; the message lists the topics it does.")
    public static let resumePointExpired = ErrorReason(
        "E_RESUME_POINT_EXPIRED", .outOfRange, field: "after_seq",
        meaning: "Watch was asked to resume after an event that is no longer retained; metadata oldest_seq is the oldest event still kept. The events in between are lost to this reader: resync, then watch from oldest_seq − 1.")

    // MARK: planner

    public static let planNotFound = ErrorReason(
        "E_PLAN_NOT_FOUND", .notFound, field: "plan_id",
        meaning: "No plan with this plan_id is stored; dry-run plans are never stored.")
    public static let worldAllocMissing = ErrorReason(
        "E_WORLD_ALLOC_MISSING", .invalidArgument, field: "world_alloc_after[<world>]",
        meaning: "A world has positions but no entry in world_alloc_after; metadata world_id names it. Give its after-allocation, \"0\" to liquidate it.")
    public static let overlayConfig = ErrorReason(
        "E_OVERLAY_CONFIG", .failedPrecondition, field: "overlay, overlay.instrument_by_world[<world>] or overlay.price_by_symbol[<instrument>]",
        meaning: "The overlay configuration cannot carry the plan: PLAN_MODE_OVERLAY or PLAN_MODE_HYBRID without an overlay, a world whose allocation changes with no hedge instrument in instrument_by_world, or an instrument without a positive price in price_by_symbol.")
    public static let duplicateSymbol = ErrorReason(
        "E_DUPLICATE_SYMBOL", .invalidArgument, field: "the second entry, e.g. target_weight.positions[2].symbol or snapshots[0].symbols[2]",
        meaning: "A symbol is listed twice: among a target-weight request's positions, or among a risk snapshot's symbols.")
    public static let weightsExceed100 = ErrorReason(
        "E_WEIGHTS_EXCEED_100", .invalidArgument, field: "target_weights (under target_weight. or target.)",
        meaning: "The target weights of the universe's symbols add up to more than 100 (percent).")
    public static let invalidRoundCount = ErrorReason(
        "E_INVALID_ROUND_COUNT", .invalidArgument, field: "sell_rounds or buy_rounds (under target_weight. or target.)",
        meaning: "sell_rounds or buy_rounds is outside 1–1000 for a side that is enabled (both sides are enabled unless sell_enabled / buy_enabled say otherwise).")
    public static let shapeMismatch = ErrorReason(
        "E_SHAPE_MISMATCH", .invalidArgument, field: "snapshots[<i>].weights, .covariance, .covariance[<r>], .returns or .returns[<r>].returns",
        meaning: "A risk snapshot's arrays do not match its symbols: weights, covariance rows and columns and return series need one entry per symbol, and every return series the same number of periods as the first.")
    public static let duplicateRule = ErrorReason(
        "E_DUPLICATE_RULE", .invalidArgument, field: "snapshots[<i>].rules[<j>].rule_id",
        meaning: "Two rules of one risk snapshot have the same rule_id.")
    public static let invalidCovariance = ErrorReason(
        "E_INVALID_COVARIANCE", .invalidArgument, field: "snapshots[<i>].covariance[<r>].values[<c>] or snapshots[<i>].covariance",
        meaning: "The covariance matrix of a risk snapshot is not usable: it is not symmetric, a variance on its diagonal is negative, or the portfolio variance wᵀΣw is negative (the matrix is not positive semi-definite).")

    // MARK: gateway

    public static let modeNotExecutable = ErrorReason(
        "E_MODE_NOT_EXECUTABLE", .failedPrecondition, field: "plan_request.mode",
        meaning: "Execute was given a PLAN_MODE_TARGET_WEIGHT plan request; target-weight plans are executed over time by StartSchedule.")
    public static let liveGuard = ErrorReason(
        "E_LIVE_GUARD", .permissionDenied, field: "x-allow-live",
        meaning: "The gateway's live guard is on and the call would submit orders (Execute with submit, StartSchedule, DecideExitSignal approving a signal) without the metadata x-allow-live: true.")
    public static let sharedAccountDisabled = ErrorReason(
        "E_SHARED_ACCOUNT_DISABLED", .permissionDenied, field: "shared_account",
        meaning: "Execute asked for shared-account execution and the gateway's shared_account_policy is not enabled.")
    public static let sharedAccountPolicy = ErrorReason(
        "E_SHARED_ACCOUNT_POLICY", .failedPrecondition, field: "shared_account",
        meaning: "The global orders of a shared-account execution break the shared-account policy (missing marks, gross or net notional, required equity, margin headroom); metadata violation names the check and the other metadata give its figures. Nothing was submitted.")
    public static let shadowOrdersBlocked = ErrorReason(
        "E_SHADOW_ORDERS_BLOCKED", .failedPrecondition, field: "plan_request.positions[<i>].world_id",
        meaning: "A submission includes positions of a world configured as a shadow world, whose orders may not be submitted; metadata world_id names it.")
    public static let riskLimit = ErrorReason(
        "E_RISK_LIMIT", .failedPrecondition, field: "",
        meaning: "An order would break one of the account's pre-trade risk limits (the gateway config's risk section); metadata limit names the limit's key, value and allowed its figures, venue and symbol the order's. With on_violation reject_batch nothing of the submission was written.")
    public static let venuePolicyMissing = ErrorReason(
        "E_VENUE_POLICY_MISSING", .failedPrecondition, field: "venue",
        meaning: "An order is for a venue with no venue policy in the gateway config while strict_venues is set; metadata venue and world_id name the order's.")
    public static let venueDisabled = ErrorReason(
        "E_VENUE_DISABLED", .failedPrecondition, field: "venue",
        meaning: "An order is for a venue that the gateway config disables; metadata venue and world_id name the order's.")
    public static let accountNotFound = ErrorReason(
        "E_ACCOUNT_NOT_FOUND", .notFound, field: "account_id (strategy_account.account_id or balance.account_id in upserts)",
        meaning: "The account does not exist: keel-gateway's broker has no such account (\"\" means default), or keel-capital has no account with this id.")

    // MARK: schedules

    public static let scheduleNotFound = ErrorReason(
        "E_SCHEDULE_NOT_FOUND", .notFound, field: "schedule_id",
        meaning: "No schedule with this schedule_id exists.")
    public static let scheduleActive = ErrorReason(
        "E_SCHEDULE_ACTIVE", .failedPrecondition, field: "account_id",
        meaning: "A schedule that has not finished is already running for this account at this venue; metadata schedule_id names it. Wait for it or cancel it first.")
    public static let scheduleFinished = ErrorReason(
        "E_SCHEDULE_FINISHED", .failedPrecondition, field: "schedule_id",
        meaning: "CancelSchedule was asked to cancel a schedule that already completed, expired or failed; metadata state names its state. Cancelling a cancelled schedule is not an error.")
    public static let invalidTime = ErrorReason(
        "E_INVALID_TIME", .invalidArgument, field: "policy.<field>, e.g. policy.sell_start",
        meaning: "A schedule policy time is unusable: time_zone is not an IANA zone name, trading_date is not a YYYY-MM-DD date, a start or session_end is not HH:MM or HH:MM:SS, or an enabled side starts at or after session_end.")
    public static let sessionOver = ErrorReason(
        "E_SESSION_OVER", .failedPrecondition, field: "policy.session_end",
        meaning: "The trading session of the schedule's trading_date has already ended.")
    public static let venueUnknown = ErrorReason(
        "E_VENUE_UNKNOWN", .notFound, field: "venue",
        meaning: "The schedule's venue has no policy in the gateway config.")
    public static let nothingToDo = ErrorReason(
        "E_NOTHING_TO_DO", .failedPrecondition, field: "target",
        meaning: "The target-weight plan has neither a sell nor a buy leg: the account is already at its targets. Nothing is started or stored.")

    // MARK: exit policy

    public static let exitSignalNotFound = ErrorReason(
        "E_EXIT_SIGNAL_NOT_FOUND", .notFound, field: "signal_id",
        meaning: "No exit signal with this signal_id exists.")
    public static let exitSignalDecided = ErrorReason(
        "E_EXIT_SIGNAL_DECIDED", .failedPrecondition, field: "signal_id",
        meaning: "The exit signal is no longer awaiting approval: it was already decided, possibly by another call at the same moment. A signal can be decided once.")
    public static let strategyNotAttributed = ErrorReason(
        "E_STRATEGY_NOT_ATTRIBUTED", .failedPrecondition, field: "signal.strategy_id",
        meaning: "A strategy's exit signal cannot be applied while exit_policy.positions is account: it needs attributed positions. It is not answered as a call's status: the signal is marked FAILED and this reason is written into the signal's reason text.")

    // MARK: capital

    public static let invalidId = ErrorReason(
        "E_INVALID_ID", .invalidArgument, field: "the id field, e.g. account_id",
        meaning: "An id is not 1–64 characters of A–Z, a–z, 0–9, '.', '_', ':' and '-'.")
    public static let invalidDate = ErrorReason(
        "E_INVALID_DATE", .invalidArgument, field: "balance.date",
        meaning: "The date is not YYYY-MM-DD naming a real calendar day.")
    public static let immutableField = ErrorReason(
        "E_IMMUTABLE_FIELD", .failedPrecondition, field: "account.quote_currency, account.currency_scale or strategy_account.account_id",
        meaning: "The upsert would change what cannot change: an account's quote currency or currency scale once capital is allocated under it, or the account a strategy account belongs to.")
    public static let strategyAccountConflict = ErrorReason(
        "E_STRATEGY_ACCOUNT_CONFLICT", .alreadyExists, field: "strategy_account.strategy_id",
        meaning: "The account already has another strategy account for this strategy; metadata strategy_account_id names it.")
    public static let strategyAccountNotFound = ErrorReason(
        "E_STRATEGY_ACCOUNT_NOT_FOUND", .notFound, field: "strategy_account_id",
        meaning: "No strategy account with this id exists.")
    public static let accountInactive = ErrorReason(
        "E_ACCOUNT_INACTIVE", .failedPrecondition, field: "account_id",
        meaning: "The account is inactive; reallocating its capital needs an active account.")
    public static let strategyAccountInactive = ErrorReason(
        "E_STRATEGY_ACCOUNT_INACTIVE", .failedPrecondition, field: "strategy_account_id",
        meaning: "The strategy account is inactive, so no order quantity is calculated for it.")
    public static let balanceUnavailable = ErrorReason(
        "E_BALANCE_UNAVAILABLE", .unavailable, field: "account_id",
        meaning: "The account's total capital cannot be determined: the live balance read failed (or is in another currency than the account's quote currency) and there is no stored daily balance to fall back on; metadata live_error says why the live read failed. A failed read is never taken as a balance of 0.")
    public static let invalidTotalCapital = ErrorReason(
        "E_INVALID_TOTAL_CAPITAL", .failedPrecondition, field: "total_capital",
        meaning: "The account's resolved total capital is negative, so nothing can be allocated from it.")
    public static let invalidWeight = ErrorReason(
        "E_INVALID_WEIGHT", .failedPrecondition, field: "strategy_accounts[<strategy_account_id>].weight",
        meaning: "An active strategy account's weight is not > 0, so the capital cannot be split by weight.")
    public static let noAllocatedCapital = ErrorReason(
        "E_NO_ALLOCATED_CAPITAL", .failedPrecondition, field: "strategy_account_id",
        meaning: "The strategy account has no allocated capital yet (it was never part of a reallocation), so no entry order can be sized from it and its PnL cannot be compounded. Reallocate the account first.")
    public static let tradeConflict = ErrorReason(
        "E_TRADE_CONFLICT", .alreadyExists, field: "execution_id",
        meaning: "A trade with this execution_id is already recorded for the strategy account with different content; the same content again is a replay, not an error. The fill follower skips such a fill and logs it.")
    public static let runNotFound = ErrorReason(
        "E_RUN_NOT_FOUND", .notFound, field: "run_id",
        meaning: "No rebalance run with this run_id exists.")
    public static let convergePrecondition = ErrorReason(
        "E_CONVERGE_PRECONDITION", .failedPrecondition, field: "run_id",
        meaning: "The run cannot be converged: Converge was asked for a run whose converge already decided there is nothing to do (not needed, or failed on this reason or E_POSITION_MISMATCH) and has no stored plan request; or, during a converge, the run's total capital is not positive, in which case it is reported as the FAILED converge result's error rather than as the call's status.")
    public static let positionMismatch = ErrorReason(
        "E_POSITION_MISMATCH", .failedPrecondition, field: "positions[<symbol>]",
        meaning: "The strategies' recorded quantities of a symbol do not add up to what the broker holds, so converge will not guess an attribution; metadata recorded_qty and broker_qty give both. It is reported as the FAILED converge result's error in the response and the run, not as the call's status.")
    public static let symbolRulesNotFound = ErrorReason(
        "E_SYMBOL_RULES_NOT_FOUND", .notFound, field: "symbol_rules",
        meaning: "CalculateOrderQuantity was given no symbol_rules for the symbol; the quantity cannot be sized without them.")
    public static let qtyPerOutOfRange = ErrorReason(
        "E_QTY_PER_OUT_OF_RANGE", .invalidArgument, field: "qty_per",
        meaning: "qty_per is above the service's max_qty_per setting (100 by default). A close's negative qty_per beyond −100 is clamped, not refused.")
    public static let invalidPrice = ErrorReason(
        "E_INVALID_PRICE", .invalidArgument, field: "price or stop_price",
        meaning: "A price or stop price was given that is not > 0.")
    public static let noPrice = ErrorReason(
        "E_NO_PRICE", .failedPrecondition, field: "market_price",
        meaning: "There is no price to size the order with: no limit or stop price for the order type, no request price for a MARKET order under REQUEST_PRICE_IF_PRESENT, and no positive market_price.")
    public static let missingSide = ErrorReason(
        "E_MISSING_SIDE", .invalidArgument, field: "side",
        meaning: "A close (negative qty_per) was asked for without a side.")
    public static let noShortPosition = ErrorReason(
        "E_NO_SHORT_POSITION", .failedPrecondition, field: "position_qty",
        meaning: "A BUY close needs a short position to close, and the position is zero or long.")
    public static let noLongPosition = ErrorReason(
        "E_NO_LONG_POSITION", .failedPrecondition, field: "position_qty",
        meaning: "A SELL close needs a long position to close, and the position is zero or short.")
    public static let belowMinQuantity = ErrorReason(
        "E_BELOW_MIN_QUANTITY", .failedPrecondition, field: "qty_per",
        meaning: "The close quantity, floored to the symbol's step, is below its min_qty. Only a close is refused with this reason; an entry order in the same case answers quantity 0 with skip_reason BELOW_MIN_QUANTITY, which carries no E_ reason.")
    public static let zeroCloseQuantity = ErrorReason(
        "E_ZERO_CLOSE_QUANTITY", .failedPrecondition, field: "qty_per",
        meaning: "The close quantity rounds down to 0 at the symbol's step or precision. Only a close is refused with this reason; an entry order in the same case answers quantity 0 with skip_reason ROUNDED_TO_ZERO, which carries no E_ reason.")
    public static let aboveMaxQuantity = ErrorReason(
        "E_ABOVE_MAX_QUANTITY", .failedPrecondition, field: "qty_per",
        meaning: "The close quantity is above the symbol's max_qty. Only a close is refused with this reason; an entry order in the same case answers quantity 0 with skip_reason ABOVE_MAX_QUANTITY, which carries no E_ reason.")
    public static let belowMinNotional = ErrorReason(
        "E_BELOW_MIN_NOTIONAL", .failedPrecondition, field: "qty_per",
        meaning: "The close's notional (quantity × price at the tick) is below the symbol's min_notional, so a remainder this small cannot be closed this way. Only a close is refused with this reason; an entry order in the same case answers quantity 0 with skip_reason BELOW_MIN_NOTIONAL, which carries no E_ reason.")
    public static let belowMinPrice = ErrorReason(
        "E_BELOW_MIN_PRICE", .invalidArgument, field: "the price used: price, stop_price or market_price",
        meaning: "The price the order is sized with is below the symbol's min_price.")
    public static let aboveMaxPrice = ErrorReason(
        "E_ABOVE_MAX_PRICE", .invalidArgument, field: "the price used: price, stop_price or market_price",
        meaning: "The price the order is sized with is above the symbol's max_price.")

    // MARK: stores and upstreams

    public static let storeUnavailable = ErrorReason(
        "E_STORE_UNAVAILABLE", .unavailable, field: "",
        meaning: "The service's store failed or cannot be reached; a write that answers this wrote nothing. Retry later, with the same idempotency key where the method takes one.")
    public static let storedValueUnreadable = ErrorReason(
        "E_STORED_VALUE_UNREADABLE", .internal, field: "",
        meaning: "A value the service itself stored cannot be read back (a decimal that does not parse, a message that does not decode, an unknown status number); metadata table, row and column name where it is. It is never read as zero or empty.")
    public static let callCancelled = ErrorReason(
        "E_CANCELLED", .cancelled, field: "",
        meaning: "The gateway stopped a store or broker call because the caller went away (for example a closed Watch stream); nothing failed.")
    public static let plannerUnavailable = ErrorReason(
        "E_PLANNER_UNAVAILABLE", .unavailable, field: "",
        meaning: "keel-planner cannot be reached (no connection, shutting down, or no answer in time); metadata upstream is keel-planner. keel-gateway answers it as the call's status; keel-capital reports it as the FAILED converge result's error.")
    public static let gatewayUnavailable = ErrorReason(
        "E_GATEWAY_UNAVAILABLE", .unavailable, field: "",
        meaning: "keel-gateway cannot be reached while keel-capital converges a run (reading positions or executing); metadata upstream is keel-gateway. It is reported as the FAILED converge result's error, not as the call's status; Converge retries the run.")
    public static let brokerUnavailable = ErrorReason(
        "E_BROKER_UNAVAILABLE", .unavailable, field: "",
        meaning: "The broker could not be asked for the account's positions, quotes or orderable cash that fill_from_account needs. Nothing was started.")
    public static let upstreamUndecodable = ErrorReason(
        "E_UPSTREAM_UNDECODABLE", .internal, field: "",
        meaning: "keel-planner answered keel-gateway with a reply that does not decode as a plan response.")
    public static let unreadablePlanDecimal = ErrorReason(
        "E_UNREADABLE_PLAN_DECIMAL", .internal, field: "the plan's field, e.g. plan.global_deltas[0].delta_qty",
        meaning: "The plan keel-planner produced holds a value the gateway cannot read as a decimal; it is never read as zero. Nothing was submitted.")
    public static let unreadableUpstreamDecimal = ErrorReason(
        "E_UNREADABLE_UPSTREAM_DECIMAL", .internal, field: "the answered field, e.g. positions[0].qty",
        meaning: "keel-gateway answered keel-capital (positions or fills) with a value that is not a decimal; metadata upstream names the service. It is never read as zero.")

    /// Every reason, in the order docs/errors.md lists them.
    public static let all: [ErrorReason] = [
        // wire/protocol: request fields
        .invalidDecimal, .negativeValue, .missingField, .unknownEnum, .valueOutOfRange, .fieldNotAllowed,
        // wire/protocol: connections and calls
        .goingAway, .duplicateCallId, .tooManyCalls, .invalidMetadata, .notAuthenticated, .unknownMethod,
        .undecodableBody, .frameTooLarge, .internalError, .undecodableResponse, .invalidIdempotencyKey,
        .idempotencyKeyReused, .digestEncoding,
        // wire/protocol: lists and event streams
        .invalidPageToken, .unknownTopic, .resumePointExpired,
        // planner
        .planNotFound, .worldAllocMissing, .overlayConfig, .duplicateSymbol, .weightsExceed100, .invalidRoundCount,
        .shapeMismatch, .duplicateRule, .invalidCovariance,
        // gateway
        .modeNotExecutable, .liveGuard, .sharedAccountDisabled, .sharedAccountPolicy, .shadowOrdersBlocked, .riskLimit,
        .venuePolicyMissing, .venueDisabled, .accountNotFound,
        // schedules
        .scheduleNotFound, .scheduleActive, .scheduleFinished, .invalidTime, .sessionOver, .venueUnknown, .nothingToDo,
        // exit policy
        .exitSignalNotFound, .exitSignalDecided, .strategyNotAttributed,
        // capital
        .invalidId, .invalidDate, .immutableField, .strategyAccountConflict, .strategyAccountNotFound, .accountInactive,
        .strategyAccountInactive, .balanceUnavailable, .invalidTotalCapital, .invalidWeight, .noAllocatedCapital,
        .tradeConflict, .runNotFound, .convergePrecondition, .positionMismatch, .symbolRulesNotFound,
        .qtyPerOutOfRange, .invalidPrice, .noPrice, .missingSide, .noShortPosition, .noLongPosition,
        .belowMinQuantity, .zeroCloseQuantity, .aboveMaxQuantity, .belowMinNotional, .belowMinPrice, .aboveMaxPrice,
        // stores and upstreams
        .storeUnavailable, .storedValueUnreadable, .callCancelled, .plannerUnavailable, .gatewayUnavailable,
        .brokerUnavailable, .upstreamUndecodable, .unreadablePlanDecimal, .unreadableUpstreamDecimal,
    ]
}

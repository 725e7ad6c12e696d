import Contracts
import ExactNumbers
import Execution
import Planning
import Venues

public typealias BrokerPosition = Keel_Gateway_V1_BrokerPosition

/// An order as the broker reports it.
public struct BrokerOrder: Sendable, Equatable {
    /// The venue's id for the order.
    public var venueOrderID: String
    /// ACKED or PARTIALLY_FILLED while working; FILLED, CANCELLED or REJECTED once it ended.
    public var status: OrderStatus
    /// The order's current size, fills included (an amend changes it).
    public var quantity: ExactDecimal
    public var filledQuantity: ExactDecimal
    public var filledNotional: ExactDecimal
    /// nil for a market order.
    public var limit: ExactDecimal?
    public var reason: String

    public init(venueOrderID: String, status: OrderStatus, quantity: ExactDecimal, filledQuantity: ExactDecimal, filledNotional: ExactDecimal,
                limit: ExactDecimal?, reason: String) {
        (self.venueOrderID, self.status, self.quantity) = (venueOrderID, status, quantity)
        (self.filledQuantity, self.filledNotional, self.limit, self.reason) = (filledQuantity, filledNotional, limit, reason)
    }

    /// An order the venue refused: nothing filled, the venue's words as the reason.
    public static func rejected(quantity: ExactDecimal, limit: ExactDecimal?, _ rejection: VenueRejection) -> BrokerOrder {
        BrokerOrder(venueOrderID: "", status: .rejected, quantity: quantity, filledQuantity: .zero, filledNotional: .zero, limit: limit,
                    reason: rejection.message)
    }

    public var isWorking: Bool { status == .acked || status == .partiallyFilled }
    public var remaining: ExactDecimal { isWorking ? max(.zero, quantity - filledQuantity) : .zero }
    /// The average price of what filled (at most 34 significant digits); nil when nothing did.
    public var averagePrice: ExactDecimal? {
        filledQuantity.isZero ? nil : (filledNotional.rational / filledQuantity.rational).roundedToSignificantDigits(34)
    }
}

/// What a call that places or changes an order came to: accepted with the order as the venue
/// reports it, rejected with the venue's words, or unknown.
public typealias BrokerOutcome = VenueOutcome<BrokerOrder>

/// An unknown outcome, where the caller cannot go on without knowing: the order is tried again
/// later under the same client order id (the schedule engine looks it up first), never placed
/// under a new one.
public struct BrokerOutcomeUnknown: Error, CustomStringConvertible {
    public var clientOrderID: String
    public var cause: String

    public var description: String { "the broker's answer for \(clientOrderID) is unknown: \(cause)" }
}

/// A broker: one connection to one venue account, the only way the gateway reaches a venue. The
/// dispatcher, the schedule engine, exits and the read RPCs use nothing else. Orders are known by
/// their client order id, which the broker deduplicates: sending an order again under the same id
/// answers the order as it stands, so a resend after a crash is safe. Calls that place or change an
/// order answer the venue's outcome (what it did not state is unknown); they throw only when
/// Keel's own stored data cannot be read, which fails what the caller was doing.
public protocol Broker: Sendable {
    func hasAccount(_ accountID: String) async throws -> Bool
    func positions(accountID: String) async throws -> [BrokerPosition]
    func balance(accountID: String) async throws -> Keel_Gateway_V1_GetBalanceResponse
    /// What the account holds of one instrument (zero when nothing).
    func holding(accountID: String, venue: String, symbol: String) async throws -> ExactDecimal
    /// Cash not yet spoken for by working buy orders.
    func orderableCash(accountID: String) async throws -> ExactDecimal
    /// The price a paced order is placed against; nil when the venue has none.
    func quote(venue: String, symbol: String, accountID: String) async throws -> ExactDecimal?

    /// An order to fill at once (Execute's orders): the venue's market order.
    func submit(_ order: VenueOrder, accountID: String) async throws -> BrokerOutcome
    /// A paced round's order (schedules): resting at `limit`, or a market order at the quote
    /// when `limit` is nil; `lot` is the instrument's lot.
    func place(_ order: VenueOrder, limit: ExactDecimal?, lot: ExactDecimal, accountID: String) async throws -> BrokerOutcome
    /// The working remainder set to `remaining` at `limit`; an order that has ended answers as it stands.
    func amend(clientOrderID: String, remaining: ExactDecimal, limit: ExactDecimal) async throws -> BrokerOutcome
    func cancel(clientOrderID: String) async throws -> BrokerOutcome
    /// The order as the venue has it; nil when the venue has no order with this client order id.
    func order(clientOrderID: String) async throws -> BrokerOrder?
}

extension Broker {
    /// What the account holds, with marks, for the pre-trade checks; a position whose figures do
    /// not read is an unreadable stored value, never a zero.
    func exposure(accountID: String) async throws -> AccountExposure {
        var exposure = AccountExposure()
        for position in try await positions(accountID: accountID) {
            let row = "\(accountID)/\(position.venue)/\(position.symbol)"
            exposure.holdings[SymbolKey(venue: position.venue, symbol: position.symbol)] = .init(
                quantity: try UnreadableStoredValue.decimal(position.qty, table: "broker positions", row: row, column: "qty"),
                mark: try UnreadableStoredValue.decimal(position.mark, table: "broker positions", row: row, column: "mark"))
        }
        return exposure
    }
}

extension VenueRejection {
    /// A refusal of the embedded paper broker (no HTTP, no venue code).
    static func paper(_ reason: String) -> VenueRejection {
        VenueRejection(kind: .other, httpStatus: 0, code: 0, message: reason)
    }
}

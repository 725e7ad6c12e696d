import Contracts
import ExactNumbers
import Execution
import Testing
import Venues
@testable import GatewayService

/// A test broker over the paper broker: every call goes to the paper broker unless the test's
/// broker answers it itself.
protocol PaperBrokerWrapper: Broker {
    var paper: PaperBroker { get }
}

extension PaperBrokerWrapper {
    func hasAccount(_ accountID: String) async throws -> Bool { try await paper.hasAccount(accountID) }
    func positions(accountID: String) async throws -> [BrokerPosition] { try await paper.positions(accountID: accountID) }
    func balance(accountID: String) async throws -> Keel_Gateway_V1_GetBalanceResponse { try await paper.balance(accountID: accountID) }
    func holding(accountID: String, venue: String, symbol: String) async throws -> ExactDecimal {
        try await paper.holding(accountID: accountID, venue: venue, symbol: symbol)
    }
    func orderableCash(accountID: String) async throws -> ExactDecimal { try await paper.orderableCash(accountID: accountID) }
    func quote(venue: String, symbol: String, accountID: String) async throws -> ExactDecimal? {
        try await paper.quote(venue: venue, symbol: symbol, accountID: accountID)
    }
    func submit(_ order: VenueOrder, accountID: String) async throws -> BrokerOutcome { try await paper.submit(order, accountID: accountID) }
    func place(_ order: VenueOrder, limit: ExactDecimal?, lot: ExactDecimal, accountID: String) async throws -> BrokerOutcome {
        try await paper.place(order, limit: limit, lot: lot, accountID: accountID)
    }
    func amend(clientOrderID: String, remaining: ExactDecimal, limit: ExactDecimal) async throws -> BrokerOutcome {
        try await paper.amend(clientOrderID: clientOrderID, remaining: remaining, limit: limit)
    }
    func cancel(clientOrderID: String) async throws -> BrokerOutcome { try await paper.cancel(clientOrderID: clientOrderID) }
    func order(clientOrderID: String) async throws -> BrokerOrder? { try await paper.order(clientOrderID: clientOrderID) }
}

extension VenueOutcome where Report == BrokerOrder {
    /// The accepted order; a test that gets another outcome fails here.
    func accepted(sourceLocation: SourceLocation = #_sourceLocation) throws -> BrokerOrder {
        guard case .accepted(let order) = self else {
            Issue.record("expected an accepted order, got \(self)", sourceLocation: sourceLocation)
            throw Unexpected()
        }
        return order
    }

    var rejection: VenueRejection? {
        if case .rejected(let rejection) = self { return rejection }
        return nil
    }

    struct Unexpected: Error {}
}

import Contracts
import KeelWire
import Testing

/// The call fails with this status and reason (and field, when given); answers the error.
@discardableResult
public func expectStatus(
    _ code: StatusCode, reason: String, field: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> RPCError? {
    do {
        try await body()
        Issue.record("expected \(code.name) \(reason)", sourceLocation: sourceLocation)
        return nil
    } catch let error as RPCError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(error.reason == reason, "\(error)", sourceLocation: sourceLocation)
        if let field { #expect(error.field == field, "\(error)", sourceLocation: sourceLocation) }
        return error
    } catch {
        Issue.record("expected RPCError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

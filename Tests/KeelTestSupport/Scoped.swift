/// Runs `body` with what `start` made and always runs `stop` on it, also when `body` throws.
public func withStarted<Resource, T>(
    _ start: () async throws -> Resource, stop: (Resource) async -> Void, _ body: (Resource) async throws -> T
) async throws -> T {
    let resource = try await start()
    do {
        let result = try await body(resource)
        await stop(resource)
        return result
    } catch {
        await stop(resource)
        throw error
    }
}

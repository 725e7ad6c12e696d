import Foundation
import GRDB

/// Read-only connections to a store for reads of one row by key, each used in place by the calling
/// thread.
///
/// GRDB's async `read` waits for a reader on one serial queue, runs on another and resumes the
/// task (four thread wake-ups), wraps the read in BEGIN/COMMIT, checks the schema version, and takes
/// its reader pool's locks; with `fetchOne(db, sql:)` it also prepares the statement every time. On a
/// small machine that was most of a store-reading call (GetPlan: 640 µs at one caller, 6,000 calls/s
/// at 64). A read by primary or unique key takes microseconds, so here it runs on the caller's
/// thread, with its statement prepared once per connection and no transaction (one statement is
/// its own snapshot). It holds a cooperative thread no longer than any short computation, and never
/// an event-loop thread, since handlers run in tasks. Scans and pages keep the pool's async `read`.
///
/// Between reads a connection holds no transaction, so it never holds back a WAL checkpoint.
public final class PointReaders: @unchecked Sendable {
    private let connections: [DatabaseQueue]
    private let lock = NSLock()
    private var free: [Int]
    private let available: DispatchSemaphore

    /// `count` connections to the store at `path`, which `StoreSetup.open` has opened (WAL) first.
    public init(path: String, count: Int = max(2, ProcessInfo.processInfo.activeProcessorCount) + 2) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        connections = try (0..<count).map { _ in try DatabaseQueue(path: path, configuration: configuration) }
        free = Array(connections.indices)
        available = DispatchSemaphore(value: count)
    }

    /// The row `sql` selects (nil when there is none), mapped by `map`.
    public func row<T>(_ sql: String, arguments: StatementArguments, as map: (Row) throws -> T) throws -> T? {
        available.wait()
        lock.lock()
        let index = free.removeLast()
        lock.unlock()
        defer {
            lock.lock()
            free.append(index)
            lock.unlock()
            available.signal()
        }
        return try connections[index].inDatabase { db in
            try Row.fetchOne(db.cachedStatement(sql: sql), arguments: arguments).map(map)
        }
    }
}

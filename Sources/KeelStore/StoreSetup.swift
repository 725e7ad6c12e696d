import Contracts
import Foundation
import GRDB

/// Opens a service's SQLite store: WAL (a DatabasePool), foreign keys on, the service's migrations
/// applied. Every write is a transaction, committed before the service acknowledges it.
public enum StoreSetup {
    public static func open(path: String, migrator: DatabaseMigrator) throws -> DatabasePool {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // FULL: a commit survives power loss, not only a process crash.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Checkpoints run beside the writes (`WALCheckpoints`), not inside a commit: a commit
            // copies the log into the file itself only when the log has passed this many pages
            // (64 MiB), should checkpoints ever fall behind. A log reset after a checkpoint is cut
            // back to the same size on disk.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384")
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try migrator.migrate(pool)
        return pool
    }
}

/// A service's store file, open: the pool every write and scan goes through, and the point readers
/// of one-row-by-key reads. The store types of one service share it.
public struct StoreFile: Sendable {
    public let pool: DatabasePool
    public let keyed: PointReaders
    public let checkpoints: WALCheckpoints

    public init(path: String, migrator: DatabaseMigrator) throws {
        pool = try StoreSetup.open(path: path, migrator: migrator)
        keyed = try PointReaders(path: path)
        checkpoints = try WALCheckpoints(path: path)
    }

    /// A commit signal that starts at the newest sequence number `sql` selects (0 on an empty table).
    public func commitSignal(latest sql: String) throws -> CommitSignal {
        CommitSignal(latest: try pool.read { db in try UInt64.fetchOne(db, sql: sql) ?? 0 })
    }
}

/// The statement that writes a row under an idempotency key. Its table's only unique
/// constraint besides the primary key is the key's, so SQLite's extended code
/// SQLITE_CONSTRAINT_UNIQUE from this statement means another call holds the key:
/// `IdempotencyKeyTaken`. (A primary-key clash has its own code and passes unchanged.)
public enum IdempotencyKeyClaim {
    public static func insert<T>(_ statement: () throws -> T) throws -> T {
        do {
            return try statement()
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw IdempotencyKeyTaken()
        }
    }
}

public func nowMs() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
}

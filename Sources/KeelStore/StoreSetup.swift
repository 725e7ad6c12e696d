import Contracts
import Foundation
import GRDB

/// Opens a service's SQLite store: WAL (a DatabasePool), foreign keys on, the service's migrations
/// applied. Every write is a transaction, committed before the service acknowledges it.
public enum StoreSetup {
    public static func open(path: String, migrator: DatabaseMigrator, checkpoints: WALCheckpoints) throws -> DatabasePool {
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
            // Checkpoints run beside the writes (`WALCheckpoints`, whose hook replaces SQLite's
            // automatic one). A log reset after a checkpoint is cut back to 64 MiB on disk.
            checkpoints.watch(db)
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
        checkpoints = WALCheckpoints()
        pool = try StoreSetup.open(path: path, migrator: migrator, checkpoints: checkpoints)
        keyed = try PointReaders(path: path)
        try checkpoints.open(path: path)
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

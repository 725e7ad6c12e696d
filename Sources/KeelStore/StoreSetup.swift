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
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try migrator.migrate(pool)
        return pool
    }
}

/// Another writer stored a row with the same idempotency key first (a UNIQUE `idempotency_key`
/// column): the caller answers as a replay of that row.
public struct IdempotencyKeyTaken: Error {
    /// Converts the UNIQUE violation on an `idempotency_key` column; other errors pass unchanged.
    public static func translating(_ error: any Error) -> any Error {
        if let database = error as? DatabaseError, database.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE,
           (database.message ?? "").contains("idempotency_key") {
            return IdempotencyKeyTaken()
        }
        return error
    }
}

public func nowMs() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
}

import Foundation
import GRDB
import KeelStore
import Testing

@Suite struct WALCheckpointsTests {
    static func openStore() throws -> (StoreFile, String) {
        let directory = NSTemporaryDirectory() + "keel-wal-\(UUID().uuidString)"
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in try db.execute(sql: "CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)") }
        let path = directory + "/store.sqlite"
        return (try StoreFile(path: path, migrator: migrator), path)
    }

    static func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
    }

    /// A commit far past SQLite's default of 1,000 pages leaves the copying to the checkpoints: the
    /// database file keeps its size until one runs, and then holds the row.
    @Test func aLargeCommitIsCopiedByTheCheckpointNotByTheCommit() async throws {
        let (store, path) = try Self.openStore()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let before = try Self.fileSize(path)
        let body = Data((0..<(5 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try await store.pool.write { db in try db.execute(sql: "INSERT INTO blobs (body) VALUES (?)", arguments: [body]) }
        #expect(try Self.fileSize(path) == before)
        let frames = try await store.checkpoints.checkpoint()
        #expect(frames.logFrames > 1_000)
        #expect(frames.checkpointed == frames.logFrames)
        #expect(try Self.fileSize(path) > body.count)
        let stored = try await store.pool.read { db in try Data.fetchOne(db, sql: "SELECT body FROM blobs") }
        #expect(stored == body)
    }

    /// The loop checkpoints until its task is cancelled, and reports nothing when all goes well.
    @Test func theLoopCheckpointsUntilCancelled() async throws {
        let (store, path) = try Self.openStore()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let loop = Task { await store.checkpoints.run(every: .milliseconds(5)) { error in Issue.record("checkpoint failed: \(error)") } }
        try await store.pool.write { db in try db.execute(sql: "INSERT INTO blobs (body) VALUES (?)", arguments: [Data(count: 2 * 1024 * 1024)]) }
        // Polls the file (the loop has no signal to give; it is a timer by design), bounded.
        var copied = false
        for _ in 0..<2_000 where !copied {
            copied = try Self.fileSize(path) > 2 * 1024 * 1024
            if !copied { try await Task.sleep(for: .milliseconds(5)) }
        }
        loop.cancel()
        await loop.value
        #expect(copied)
    }
}

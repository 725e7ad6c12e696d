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
        // (Made without a per-byte loop: this suite shares the machine with timing tests.)
        let body = Data(repeating: 0xA5, count: 5 * 1024 * 1024) + Data([1, 2, 3])
        try await store.pool.write { db in try db.execute(sql: "INSERT INTO blobs (body) VALUES (?)", arguments: [body]) }
        #expect(try Self.fileSize(path) == before)
        let frames = try await store.checkpoints.checkpoint()
        #expect(frames.logFrames > 1_000)
        #expect(frames.checkpointed == frames.logFrames)
        #expect(try Self.fileSize(path) > body.count)
        let stored = try await store.pool.read { db in try Data.fetchOne(db, sql: "SELECT body FROM blobs") }
        #expect(stored == body)
    }

    /// A commit that leaves 1,000 pages or more in the log makes a checkpoint due: the loop runs it
    /// (and ends when its task is cancelled), reporting nothing when all goes well.
    @Test func aLargeCommitMakesACheckpointDue() async throws {
        let (store, path) = try Self.openStore()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let loop = Task { await store.checkpoints.run { error in Issue.record("checkpoint failed: \(error)") } }
        let body = Data(repeating: 0x5A, count: 5 * 1024 * 1024)
        try await store.pool.write { db in try db.execute(sql: "INSERT INTO blobs (body) VALUES (?)", arguments: [body]) }
        // Polls the file, bounded: the checkpoint has no signal of its own to give a test.
        var copied = false
        for _ in 0..<2_000 where !copied {
            copied = try Self.fileSize(path) > body.count
            if !copied { try await Task.sleep(for: .milliseconds(5)) }
        }
        loop.cancel()
        await loop.value
        #expect(copied)
    }
}

import Foundation
import GRDB
import GRDBSQLite

/// Copies a store's write-ahead log into its database file from a connection of its own, beside
/// the writes rather than inside one. SQLite's default checkpoints in the commit that passes 1,000
/// pages of log, so that commit (a 4.6 MB plan, say) also paid for copying the log and syncing the
/// file: about 10 ms of its 25. Here a commit that leaves 1,000 pages or more in the log only signals
/// (SQLite's WAL hook, in place of its own), and `run` answers each signal with a passive checkpoint,
/// which never waits for readers or the writer. An idle store does nothing. Should the checkpoints
/// fall behind, a commit that leaves 16,384 pages (64 MiB) checkpoints itself, as SQLite would.
public final class WALCheckpoints: Sendable {
    /// Log pages after a commit that make a checkpoint due (SQLite's default).
    static let duePages: Int32 = 1_000
    /// Log pages after which the committing connection checkpoints itself.
    static let inlinePages: Int32 = 16_384

    private let due: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation
    private let connection: CheckpointConnection

    init() {
        (due, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        connection = CheckpointConnection()
    }

    /// Installs the hook on a connection of the store's pool (each one; only the writer commits).
    /// The pool's configuration keeps this object alive as long as its connections.
    func watch(_ db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, { context, connection, _, pages in
            if pages >= WALCheckpoints.inlinePages {
                // Its result is not the commit's: a busy checkpoint (the loop is copying) must not
                // make a committed write report an error. The next commit tries again.
                _ = sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
                return SQLITE_OK
            }
            if pages >= WALCheckpoints.duePages, let context {
                Unmanaged<WALCheckpoints>.fromOpaque(context).takeUnretainedValue().signal.yield()
            }
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Opens the checkpoints' own connection, once the pool has made the file a WAL database.
    func open(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        connection.set(try DatabaseQueue(path: path, configuration: configuration))
    }

    /// One passive checkpoint: the frames in the log, and how many of them are in the file now.
    @discardableResult
    public func checkpoint() async throws -> (logFrames: Int, checkpointed: Int) {
        let frames = try await connection.queue.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        return (frames.walFrameCount, frames.checkpointedFrameCount)
    }

    /// A checkpoint each time one is due, until the task is cancelled; a failed one is reported to
    /// `failed` and tried again when the next is due.
    public func run(failed: @Sendable (any Error) -> Void) async {
        for await _ in due {
            do {
                try await checkpoint()
            } catch {
                failed(error)
            }
        }
    }
}

/// The checkpoint connection, set once after the pool opens.
final class CheckpointConnection: @unchecked Sendable {
    private let lock = NSLock()
    private var value: DatabaseQueue?

    func set(_ queue: DatabaseQueue) {
        lock.withLock { value = queue }
    }

    var queue: DatabaseQueue {
        lock.withLock { value! }
    }
}

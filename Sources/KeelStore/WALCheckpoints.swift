import Foundation
import GRDB

/// Copies a store's write-ahead log into its database file from a connection of its own, beside
/// the writes rather than inside one. SQLite's default checkpoints in the commit that passes 1,000
/// pages of log, so that commit (a 4.6 MB plan, say) also paid for copying the log and syncing the
/// file: about 10 ms of its 25. A passive checkpoint never waits for readers or the writer, and
/// costs next to nothing when the log is already copied.
public struct WALCheckpoints: Sendable {
    private let connection: DatabaseQueue

    init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        connection = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// One passive checkpoint: the frames in the log, and how many of them are in the file now.
    @discardableResult
    public func checkpoint() async throws -> (logFrames: Int, checkpointed: Int) {
        let frames = try await connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        return (frames.walFrameCount, frames.checkpointedFrameCount)
    }

    /// A checkpoint every `interval` until the task is cancelled; a failed one is reported to
    /// `failed` and tried again at the next.
    public func run(every interval: Duration, failed: @Sendable (any Error) -> Void) async {
        while !Task.isCancelled {
            do {
                try await checkpoint()
            } catch {
                failed(error)
            }
            // A timer, not a synchronisation: the next checkpoint is due.
            try? await Task.sleep(for: interval)
        }
    }
}

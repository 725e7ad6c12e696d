import NIOConcurrencyHelpers

/// Wakes every waiting stream when an outbox commit raises the newest sequence number, so event
/// streams follow new rows without polling.
public final class CommitSignal: Sendable {
    private struct State {
        var latest: UInt64
        var waiters: [UInt64: (after: UInt64, continuation: CheckedContinuation<Void, Never>)] = [:]
        var nextID: UInt64 = 0
    }

    private let state: NIOLockedValueBox<State>

    public init(latest: UInt64 = 0) {
        state = NIOLockedValueBox(State(latest: latest))
    }

    public var latest: UInt64 { state.withLockedValue { $0.latest } }

    /// Records a commit up to `seq` and wakes the streams waiting for anything newer.
    public func committed(upTo seq: UInt64) {
        let ready = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            guard seq > state.latest else { return [] }
            state.latest = seq
            let due = state.waiters.filter { $0.value.after < seq }
            for id in due.keys { state.waiters.removeValue(forKey: id) }
            return due.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
    }

    /// Returns once a sequence number above `seq` has been committed, or when the task is cancelled.
    public func wait(after seq: UInt64) async {
        let id = state.withLockedValue { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLockedValue { state -> Bool in
                    if state.latest > seq || Task.isCancelled { return true }
                    state.waiters[id] = (seq, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }
}

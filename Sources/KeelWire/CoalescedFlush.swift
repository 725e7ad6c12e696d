import NIOCore

/// One flush per event-loop turn for the frames a connection writes during it, so the answers (or
/// requests) of calls that finish (or start) together leave in one write. Confined to the
/// channel's event loop.
final class CoalescedFlush {
    private var scheduled = false

    /// Runs `flush` once the event loop has run what is queued now, however often it is asked before then.
    func request(on eventLoop: any EventLoop, _ flush: @escaping () -> Void) {
        guard !scheduled else { return }
        scheduled = true
        let bound = NIOLoopBound((coalescer: self, flush: flush), eventLoop: eventLoop)
        eventLoop.execute {
            bound.value.coalescer.scheduled = false
            bound.value.flush()
        }
    }
}

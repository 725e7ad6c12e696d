import Dispatch
import Foundation

/// Resolves on the first SIGTERM or SIGINT.
public enum TerminationSignal {
    public static func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = OnceFlag()
            var sources: [DispatchSourceSignal] = []
            for signalNumber in [SIGTERM, SIGINT] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler {
                    if once.take() { continuation.resume() }
                }
                source.resume()
                sources.append(source)
            }
            Retained.keep(sources)
        }
    }
}

private final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var taken = false
    func take() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if taken { return false }
        taken = true
        return true
    }
}

/// Keeps the signal sources alive for the life of the process.
private enum Retained {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []
    static func keep(_ more: [DispatchSourceSignal]) { sources += more }
}

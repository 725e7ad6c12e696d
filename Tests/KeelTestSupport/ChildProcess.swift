import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, reaped by a thread of its own.
///
/// Not Foundation's `Process`: in Swift 6.3.1 its `run()` copies whole 256-byte `d_name` fields
/// while listing /proc/self/fd and now and then reads past the end of glibc's buffer (SIGSEGV in
/// the test process, more likely the more descriptors are open; swift-corelibs-foundation PR 5472).
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let state = NIOLockedValueBox<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

    /// Starts `executable` with `arguments`; the child's standard input, output and error are the
    /// given descriptors (dup'ed, so the caller still owns and closes them) and every other
    /// descriptor is closed in the child. `onExit` runs once, on the reaper thread, with the status.
    public init(executable: URL, arguments: [String], environment: [String: String],
                standardInput: Int32, standardOutput: Int32, standardError: Int32,
                onExit: (@Sendable (Int32) -> Void)? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (source, target) in [(standardInput, Int32(0)), (standardOutput, 1), (standardError, 2)] {
            posix_spawn_file_actions_adddup2(&actions, source, target)
        }
        guard Self.addCloseFrom(&actions, 3) == 0 else { throw ProcessError(message: "posix_spawn_file_actions_addclosefrom_np failed") }

        // Default dispositions and an empty mask, whatever the test process ignores or blocks.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let path = executable.path
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var spawned = pid_t()
        let code = posix_spawn(&spawned, path, &actions, &attributes, argv, envp)
        guard code == 0 else { throw ProcessError(message: "cannot start \(path): \(String(cString: strerror(code)))") }
        let pid = spawned
        self.pid = pid

        let state = self.state
        Thread.detachNewThread {
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) == -1, errno == EINTR {}
            // The exit code, or the number of the signal that ended it (as Process reports it).
            let status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
            let waiters = state.withLockedValue { state in
                state.status = status
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            onExit?(status)
            for waiter in waiters { waiter.resume(returning: status) }
        }
    }

    /// glibc ≥ 2.34 has it, but the Glibc module does not import it (it is a GNU extension).
    private static let addCloseFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            fatalError("glibc without posix_spawn_file_actions_addclosefrom_np (needs 2.34 or later)")
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    public var isRunning: Bool { state.withLockedValue { $0.status == nil } }

    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits for the exit; answers the status.
    public func exitStatus() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = state.withLockedValue { state -> Int32? in
                if state.status == nil { state.waiters.append(continuation) }
                return state.status
            }
            if let status { continuation.resume(returning: status) }
        }
    }
}

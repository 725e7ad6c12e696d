import Foundation
import NIOConcurrencyHelpers

/// A real Keel executable started as a separate process for a test: it waits for the "ready" log
/// line (which names the ports it picked), and is always stopped, also when the test fails.
public final class ServiceProcess: @unchecked Sendable {
    private let executable: URL
    private let arguments: [String]
    private let environment: [String: String]
    private let child = NIOLockedValueBox<ChildProcess?>(nil)
    private let output = NIOLockedValueBox("")
    private let ready = NIOLockedValueBox<CheckedContinuation<Void, Error>?>(nil)
    private let exited = NIOLockedValueBox(false)
    private let exitWaiters = NIOLockedValueBox<[CheckedContinuation<Void, Never>]>([])
    private let readyMarker: String
    private let logWaiters = NIOLockedValueBox<[UInt64: (text: String, count: Int, continuation: CheckedContinuation<Bool, Never>)]>([:])
    private let nextWaiter = NIOLockedValueBox<UInt64>(0)

    /// The directory of the built executables (next to the test bundle).
    public static var buildDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    public init(executable: String, arguments: [String], environment: [String: String] = [:], readyMarker: String) {
        self.executable = Self.buildDirectory.appendingPathComponent(executable)
        self.arguments = arguments
        self.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        self.readyMarker = readyMarker
    }

    /// Starts the process and waits (at most `timeout`) for its ready line.
    public func start(timeout: Duration = .seconds(30)) async throws {
        let pipe = Pipe.closedOnExec()
        // It counts as exited once the process has ended and its output has been read to the end,
        // so that what it logged last is in `log` when `stop` or `exited(within:)` answer.
        let ends = NIOLockedValueBox(0)
        let ended: @Sendable () -> Void = { [weak self] in
            guard ends.withLockedValue({ $0 += 1; return $0 }) == 2, let self else { return }
            self.exited.withLockedValue { $0 = true }
            self.ready.withLockedValue { $0?.resume(throwing: ProcessError(message: "exited before it was ready")); $0 = nil }
            let waiters = self.exitWaiters.withLockedValue { waiters in
                defer { waiters.removeAll() }
                return waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        let nothing = FileHandle(forReadingAtPath: "/dev/null")!
        defer { try? nothing.close() }
        let started = try ChildProcess(executable: executable, arguments: arguments, environment: environment,
                                       standardInput: nothing.fileDescriptor, standardOutput: pipe.fileHandleForWriting.fileDescriptor,
                                       standardError: pipe.fileHandleForWriting.fileDescriptor, onExit: { _ in ended() })
        child.withLockedValue { $0 = started }
        // Only the child writes to the pipe now, so the end of the pipe is the end of its output.
        try pipe.fileHandleForWriting.close()
        Thread.detachNewThread { [weak self] in
            let reading = pipe.fileHandleForReading
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(reading.fileDescriptor, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                self?.append(String(decoding: buffer[..<count], as: UTF8.self))
            }
            ended()
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await withCheckedThrowingContinuation { continuation in
                    let already = self.output.withLockedValue { $0.contains(self.readyMarker) }
                    if already { return continuation.resume() }
                    // Install the waiter, unless the process already exited (its handler ran first).
                    let gone = self.exited.withLockedValue { exited -> Bool in
                        if !exited { self.ready.withLockedValue { $0 = continuation } }
                        return exited
                    }
                    if gone { continuation.resume(throwing: ProcessError(message: "exited before it was ready")) }
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ProcessError(message: "not ready within \(timeout)")
            }
            do {
                try await group.next()
                group.cancelAll()
            } catch {
                group.cancelAll()
                self.ready.withLockedValue { $0?.resume(throwing: error); $0 = nil }
                throw error
            }
        }
    }

    public var log: String { output.withLockedValue { $0 } }

    private func append(_ text: String) {
        let all = output.withLockedValue { output -> String in
            output += text
            return output
        }
        if all.contains(readyMarker) {
            ready.withLockedValue { $0?.resume(); $0 = nil }
        }
        resumeLogWaiters(all)
    }

    /// Waits (at most `timeout`) until the log holds `text` at least `count` times — the process's
    /// own signal that it did something; answers whether it did.
    public func waitForLog(_ text: String, count: Int = 1, timeout: Duration = .seconds(20)) async -> Bool {
        let id = nextWaiter.withLockedValue { $0 += 1; return $0 }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    self.logWaiters.withLockedValue { $0[id] = (text, count, continuation) }
                    self.resumeLogWaiters(self.log)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.logWaiters.withLockedValue { $0.removeValue(forKey: id) }?.continuation.resume(returning: false)
                return false
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
    }

    private func resumeLogWaiters(_ log: String) {
        let due = logWaiters.withLockedValue { waiters -> [CheckedContinuation<Bool, Never>] in
            let ready = waiters.filter { log.components(separatedBy: $0.value.text).count - 1 >= $0.value.count }
            for id in ready.keys { waiters.removeValue(forKey: id) }
            return ready.values.map(\.continuation)
        }
        for continuation in due { continuation.resume(returning: true) }
    }

    /// Waits (at most `timeout`) for the process to exit by itself; answers whether it did.
    public func exited(within timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let now = self.exited.withLockedValue { exited -> Bool in
                        if !exited { self.exitWaiters.withLockedValue { $0.append(continuation) } }
                        return exited
                    }
                    if now { continuation.resume() }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next()!
            group.cancelAll()
            if !first {
                // Unblock the waiter task so the group can finish.
                let waiters = self.exitWaiters.withLockedValue { waiters in
                    defer { waiters.removeAll() }
                    return waiters
                }
                for waiter in waiters { waiter.resume() }
            }
            return first
        }
    }

    /// The first `key=value` number in the log (e.g. `port=43211`).
    public func loggedNumber(_ key: String) -> Int? {
        guard let match = log.firstMatch(of: try! Regex("\\b\(key)=([0-9]+)")) else { return nil }
        return Int(match.output[1].substring ?? "")
    }

    /// The process id, once started.
    public var pid: pid_t? { child.withLockedValue { $0?.pid } }

    public var isRunning: Bool { child.withLockedValue { $0 }?.isRunning ?? false }

    /// Sends `signal` and waits for the exit (SIGKILL after `timeout`); answers the exit status.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(20)) async -> Int32 {
        guard let child = child.withLockedValue({ $0 }) else { return -1 }
        child.signal(signal)
        if await !exited(within: timeout) { child.signal(SIGKILL) }
        return await child.exitStatus()
    }
}

public struct ProcessError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Runs a built executable to completion (for CLI tests): exit status, standard output and error.
public func runCommand(_ executable: String, _ arguments: [String], stdin: String = "") async throws -> (status: Int32, stdout: String, stderr: String) {
    try await runProgram(ServiceProcess.buildDirectory.appendingPathComponent(executable), arguments, stdin: stdin)
}

/// Runs a program to its end: its status and what it wrote. The pipes are closed on exec, so no
/// other child started meanwhile holds them open (that would keep the read from ever ending), and the
/// blocking reads run on dispatch threads, never on the test's cooperative threads.
public func runProgram(_ program: URL, _ arguments: [String], stdin: String = "", environment: [String: String] = ProcessInfo.processInfo.environment)
    async throws -> (status: Int32, stdout: String, stderr: String) {
    let input = Pipe.closedOnExec(), output = Pipe.closedOnExec(), errors = Pipe.closedOnExec()
    let child = try ChildProcess(executable: program, arguments: arguments, environment: environment,
                                 standardInput: input.fileHandleForReading.fileDescriptor,
                                 standardOutput: output.fileHandleForWriting.fileDescriptor,
                                 standardError: errors.fileHandleForWriting.fileDescriptor)
    // The child has its copies; ours would keep the reads below from ever seeing the end.
    try input.fileHandleForReading.close()
    try output.fileHandleForWriting.close()
    try errors.fileHandleForWriting.close()
    input.fileHandleForWriting.write(Data(stdin.utf8))
    try input.fileHandleForWriting.close()
    // Read both pipes to the end before waiting, so a full pipe cannot block the child.
    async let out = readToEnd(output.fileHandleForReading)
    async let err = readToEnd(errors.fileHandleForReading)
    let (stdout, stderr) = await (out, err)
    return (await child.exitStatus(), String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

private func readToEnd(_ handle: FileHandle) async -> Data {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: handle.readDataToEndOfFile()) }
    }
}

extension Pipe {
    /// A pipe whose two ends are closed in every exec'd child (the child's own stdio are dup'ed
    /// copies, which stay open).
    public static func closedOnExec() -> Pipe {
        let pipe = Pipe()
        _ = fcntl(pipe.fileHandleForReading.fileDescriptor, F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipe.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
        return pipe
    }
}

import Foundation
import NIOConcurrencyHelpers

/// A real Keel executable started as a separate process for a test: it waits for the "ready" log
/// line (which names the ports it picked), and is always stopped, also when the test fails.
public final class ServiceProcess: @unchecked Sendable {
    public let process = Process()
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
        process.executableURL = Self.buildDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        self.readyMarker = readyMarker
    }

    /// Starts the process and waits (at most `timeout`) for its ready line.
    public func start(timeout: Duration = .seconds(30)) async throws {
        let pipe = Pipe.closedOnExec()
        process.standardError = pipe
        process.standardOutput = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            guard let self else { return }
            let data = handle.availableData
            if data.isEmpty { return }
            let text = String(decoding: data, as: UTF8.self)
            let all = self.output.withLockedValue { output -> String in
                output += text
                return output
            }
            if all.contains(self.readyMarker) {
                self.ready.withLockedValue { $0?.resume(); $0 = nil }
            }
            self.resumeLogWaiters(all)
        }
        process.terminationHandler = { [weak self] _ in
            guard let self else { return }
            self.exited.withLockedValue { $0 = true }
            self.ready.withLockedValue { $0?.resume(throwing: ProcessError(message: "exited before it was ready")); $0 = nil }
            let waiters = self.exitWaiters.withLockedValue { waiters in
                defer { waiters.removeAll() }
                return waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        try process.run()
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

    /// Sends `signal` and waits for the exit; answers the exit status.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(20)) async -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))  // polling the exit of a child process
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
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
public func runProgram(_ program: URL, _ arguments: [String], stdin: String = "") async throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = program
    process.arguments = arguments
    let input = Pipe.closedOnExec(), output = Pipe.closedOnExec(), errors = Pipe.closedOnExec()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    let exited = AsyncStream<Int32>.makeStream()
    process.terminationHandler = { exited.continuation.yield($0.terminationStatus); exited.continuation.finish() }
    try process.run()
    input.fileHandleForWriting.write(Data(stdin.utf8))
    try input.fileHandleForWriting.close()
    // Read both pipes to the end before waiting, so a full pipe cannot block the child.
    async let out = readToEnd(output.fileHandleForReading)
    async let err = readToEnd(errors.fileHandleForReading)
    let (stdout, stderr) = await (out, err)
    var status: Int32 = -1
    for await code in exited.stream { status = code }
    return (status, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
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

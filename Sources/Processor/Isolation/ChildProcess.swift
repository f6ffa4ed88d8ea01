import Dispatch
import Foundation

/// Starts one child process, feeds it standard input, collects its standard output and the tail of
/// its standard error, and reports how it ended. It is killed with SIGKILL when the calling task is
/// cancelled (a lost lease, the end of the shutdown grace period) or past `timeout`.
enum ChildProcess {
    /// Standard output kept (the outcome line is a few KiB).
    static let maxOutputBytes = 1 << 20
    /// Standard error kept, from its end (a sanitizer report, a crash line).
    static let errorTailBytes = 8 << 10

    static func run(executable: String, arguments: [String], stdin: Data, timeout: Duration) async throws -> ChildExit {
        _ = ignoreSIGPIPE
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        // No Swift backtracer in the child: a crash ends it at once (the signal is what the parent
        // needs), without seconds of symbolication and pages on standard error.
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        // Two malloc arenas instead of eight per core: the same speed for one job's few threads, and
        // half the address space (measured: 717 → 421 MiB for a small image), which RLIMIT_AS counts.
        environment["MALLOC_ARENA_MAX"] = "2"
        process.environment = environment
        let input = Pipe()
        let output = Pipe()
        let error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        let ended = Ended()
        process.terminationHandler = { _ in ended.set() }
        try process.run()
        let pid = process.processIdentifier
        let timedOut = Flag()
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            timedOut.set()
            kill(pid, SIGKILL)
        }
        defer { watchdog.cancel() }

        let (out, errorTail) = await withTaskCancellationHandler {
            // A child that dies before reading its input must not take this process with it (EPIPE
            // is an error here, SIGPIPE is ignored).
            try? input.fileHandleForWriting.write(contentsOf: stdin)
            try? input.fileHandleForWriting.close()
            async let out = read(output.fileHandleForReading, keepLast: nil)
            async let tail = read(error.fileHandleForReading, keepLast: errorTailBytes)
            return await (out, tail)
        } onCancel: {
            kill(pid, SIGKILL)
        }
        await ended.wait()  // not cancellable: the child was killed, its end comes at once
        let ending: ChildExit.Ending =
            process.terminationReason == .uncaughtSignal ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
        if Task.isCancelled { throw CancellationError() }
        return ChildExit(
            ending: ending, output: out, errorTail: String(decoding: errorTail, as: UTF8.self), timedOut: timedOut.value,
            timeoutSeconds: Double(timeout.components.seconds))
    }

    /// Reads a pipe to its end on a dispatch thread (blocking reads never run on the cooperative
    /// pool): all of it up to `maxOutputBytes`, or only its last `keepLast` bytes.
    private static func read(_ handle: FileHandle, keepLast: Int?) async -> Data {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var kept = Data()
                while let chunk = try? handle.read(upToCount: 64 << 10), !chunk.isEmpty {
                    kept.append(chunk)
                    if let keepLast, kept.count > keepLast {
                        kept = kept.suffix(keepLast)
                    } else if keepLast == nil, kept.count > maxOutputBytes {
                        kept = kept.prefix(maxOutputBytes)
                    }
                }
                try? handle.close()
                continuation.resume(returning: kept)
            }
        }
    }

    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// The child's end, awaited without regard to cancellation (an AsyncStream's iteration would
    /// stop at once in a cancelled task, before the process is reaped).
    private final class Ended: @unchecked Sendable {
        private let lock = NSLock()
        private var ended = false
        private var waiter: CheckedContinuation<Void, Never>?

        func set() {
            let waiter = lock.withLock {
                ended = true
                defer { self.waiter = nil }
                return self.waiter
            }
            waiter?.resume()
        }

        func wait() async {
            await withCheckedContinuation { continuation in
                let done = lock.withLock {
                    if !ended { waiter = continuation }
                    return ended
                }
                if done { continuation.resume() }
            }
        }
    }

    private final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var flag = false
        func set() { lock.withLock { flag = true } }
        var value: Bool { lock.withLock { flag } }
    }
}

import CMediaShims
import Foundation
import Glibc
import Logging
import MediaKit
import MediaTypes

/// `processor process`, isolated: its main thread — single-threaded, the profile decoded, every
/// codec library loaded — forks each file's child itself and waits for it. No fork server to start
/// and end, no Swift concurrency in this process: a file costs one fork, and this process does
/// nothing while its children work. (The daemon cannot do this: it has threads, so it forks
/// through its fork server, ForkServer.swift.) How a child ended means what it means in the daemon:
/// `ChildExit.outcome`, including the one immediate second run after a signal death.
enum DirectChildren {
    /// One file's child.
    private struct Child {
        var prepared: OneShot.Prepared
        var request: ChildRequest
        var timeout: Duration
        /// Set by `start`, for each attempt.
        var deadline = ContinuousClock.Instant.now
        var attempt = 1
        var timedOut = false
    }

    /// Runs `inputs`, `jobs` at a time, printing each report (standard output) or failure (standard
    /// error) as it ends, in the order they end. Returns how many failed.
    static func run(inputs: [String], out: String, jobs: Int, profile: ProcessingProfile) -> Int {
        let runner = MediaRunner(mode: .process, limits: profile.limits)
        let logger = Logger(label: "processor.process")
        var pending = inputs[...]
        var running: [pid_t: Child] = [:]
        var failures = 0
        var nextID: Int64 = 1

        func fail(_ input: String, _ error: MediaError) {
            failures += 1
            OneShot.printFailure(input: input, error)
        }
        /// Forks `child` (its deadline from now); when it cannot, the input failed.
        func start(_ child: Child) {
            var child = child
            child.deadline = .now + child.timeout
            child.timedOut = false
            let pid = mp_fork_job()
            if pid == 0 { ChildJob.run(child.request) }  // the child: never returns
            guard pid > 0 else {
                ChildExit.discard(child.request)
                OneShot.failed(child.prepared)
                fail(child.prepared.input, MediaError(.internal, "cannot fork: \(String(cString: strerror(errno)))"))
                return
            }
            running[pid] = child
        }

        while true {
            while running.count < max(1, jobs), let input = pending.popFirst() {
                switch OneShot.prepare(input: input, out: out) {
                case .failure(let error):
                    fail(input, error)
                case .success(let prepared):
                    defer { nextID += 1 }
                    let request = ForkServerClient.request(
                        id: nextID, input: prepared.path, type: prepared.type.mime, directory: prepared.directory, profile: profile)
                    let timeout = prepared.type.kind == .image ? runner.imageTimeout : runner.timeout
                    // What the file needs, loaded here once for every child that needs it (this
                    // thread is still the only one); a failure is the child's to report.
                    try? MediaLibrary.load(MediaRun.libraries(for: prepared.type, profile: profile))
                    start(Child(prepared: prepared, request: request, timeout: timeout))
                }
            }
            guard let nearest = running.values.map(\.deadline).min() else { break }

            var pid: pid_t = 0
            var status: Int32 = 0
            var signal: Int32 = 0
            let waited = mp_wait_job(milliseconds(until: nearest), &pid, &status, &signal)
            if waited < 0 {
                if errno == EINTR { continue }
                // Not reached (every running child is ours to reap): fail what is left rather than spin.
                for child in running.values { fail(child.prepared.input, MediaError(.internal, "waiting for the child: \(String(cString: strerror(errno)))")) }
                break
            }
            if waited == 0 {
                // Past its wall-clock limit: killed; its end is reaped on the next wait.
                let now = ContinuousClock.now
                for (pid, child) in running where child.deadline <= now && !child.timedOut {
                    kill(pid, SIGKILL)
                    running[pid]?.timedOut = true
                }
                continue
            }
            guard var child = running.removeValue(forKey: pid) else { continue }
            let ending: ChildExit.Ending = signal != 0 ? .signalled(signal) : .exited(status)
            let exit = ChildExit.collect(ending: ending, request: child.request, timedOut: child.timedOut, timeout: child.timeout)
            switch ChildExit.outcome(exit, attempt: child.attempt) {
            case .report(let report):
                print(OneShot.report(child.prepared, report).json)
            case .failure(let error):
                MediaRunner.clean(child.prepared.directory)
                OneShot.failed(child.prepared)
                fail(child.prepared.input, error)
            case .runAgain:
                MediaRunner.runningAgain(exit, logger: logger)
                MediaRunner.clean(child.prepared.directory)
                child.attempt += 1
                start(child)
            }
        }
        return failures
    }

    /// Milliseconds from now until `deadline` (0 when past it).
    private static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }
}

import Dispatch
import Foundation
import Glibc
import MediaKit

/// The daemon's side of the fork server: sends one request per file, learns the child's pid and
/// how it ended, and kills it (SIGKILL) when the calling task is cancelled (a lost lease, the end
/// of the shutdown grace period) or past its wall-clock limit. Replies are read on a thread of
/// their own; each job waits for its child's end, never less (a killed child is reaped first).
final class ForkServerClient: @unchecked Sendable {
    private let lock = NSLock()
    private var socket: Int32
    private var serverPID: pid_t
    /// The launch zygote is this process's child to reap; an exec'd one is Foundation.Process's.
    private var reapServer: Bool
    private var nextID: Int64 = 1
    private var jobs: [Int64: Job] = [:]
    /// Signalled each time a server ends (and, if ours to reap, has been reaped).
    private let ended = DispatchSemaphore(value: 0)

    private struct Job {
        var pid: pid_t?
        var kill = false
        var continuation: CheckedContinuation<Result<ChildExit.Ending, MediaError>, Never>
    }

    /// No server yet: the first request starts one by exec.
    init() {
        socket = -1
        serverPID = 0
        reapServer = false
    }

    init(socket: Int32, serverPID: pid_t) {
        self.socket = socket
        self.serverPID = serverPID
        reapServer = true
        startReader(socket)
    }

    /// The zygote's pid (tests end it to check that the next job starts another).
    var pid: pid_t { lock.withLock { serverPID } }

    /// Ends the fork server; with `wait`, returns once it has ended and been reaped (its CPU time
    /// and peak memory then count in this process's `RUSAGE_CHILDREN`, as `time` reports them).
    func shutDown(wait: Bool = false) {
        let running = lock.withLock {
            guard socket >= 0 else { return false }
            Glibc.shutdown(socket, Int32(SHUT_RDWR))
            return true
        }
        if running, wait { _ = ended.wait(timeout: .now() + 10) }
    }

    /// Runs one request in a fresh child and reports how it ended.
    func run(input: String, type: String, directory: String, profile: ProcessingProfile, timeout: Duration) async throws -> ChildExit {
        let id = lock.withLock {
            defer { nextID += 1 }
            return nextID
        }
        let request = Self.request(id: id, input: input, type: type, directory: directory, profile: profile)

        let timedOut = Flag()
        let watchdog = Task { [self] in
            try await Task.sleep(for: timeout)
            timedOut.set()
            kill(id)
        }
        defer { watchdog.cancel() }
        let ended = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                start(id: id, request: request, continuation: continuation)
            }
        } onCancel: {
            kill(id)
        }
        if Task.isCancelled {
            ChildExit.discard(request)
            throw CancellationError()
        }
        let ending: ChildExit.Ending
        do {
            ending = try ended.get()
        } catch {
            ChildExit.discard(request)
            throw error
        }
        return ChildExit.collect(ending: ending, request: request, timedOut: timedOut.value, timeout: timeout)
    }

    /// The request for job `id`: its outcome and standard error go to files beside its outputs.
    static func request(id: Int64, input: String, type: String, directory: String, profile: ProcessingProfile) -> ChildRequest {
        ChildRequest(
            input: input, type: type, out: directory, outcome: (directory as NSString).appendingPathComponent(".child-\(id).outcome"),
            stderr: (directory as NSString).appendingPathComponent(".child-\(id).stderr"), profile: profile)
    }

    /// Writes one request line to the server's socket.
    private static func send(id: Int64, request: ChildRequest, on socket: Int32) -> Bool {
        var line = Data("\(id) ".utf8)
        line.append((try? JSONEncoder().encode(request)) ?? Data())  // one line: JSON escapes newlines in strings
        line.append(0x0A)
        return line.withUnsafeBytes { writeAll(socket, $0) }
    }

    private func start(id: Int64, request: ChildRequest, continuation: CheckedContinuation<Result<ChildExit.Ending, MediaError>, Never>) {
        lock.lock()
        if socket < 0 {
            do {
                (socket, serverPID) = try ForkServer.exec()
                reapServer = false
                startReader(socket)
            } catch {
                lock.unlock()
                continuation.resume(returning: .failure(error as? MediaError ?? MediaError(.internal, "\(error)")))
                return
            }
        }
        jobs[id] = Job(continuation: continuation)
        if !Self.send(id: id, request: request, on: socket) {
            jobs[id] = nil
            lock.unlock()
            continuation.resume(returning: .failure(MediaError(.internal, "the fork server is gone")))
            return
        }
        lock.unlock()
    }

    /// SIGKILL to the job's child, now or as soon as its pid is known.
    private func kill(_ id: Int64) {
        lock.withLock {
            guard var job = jobs[id] else { return }
            if let pid = job.pid {
                Glibc.kill(pid, SIGKILL)
            } else {
                job.kill = true
                jobs[id] = job
            }
        }
    }

    private func startReader(_ socket: Int32) {
        let thread = Thread { [self] in read(socket) }
        thread.name = "fork-server replies"
        thread.start()
    }

    /// Reads replies until the server closes the socket; then every job still waiting fails (as a
    /// transient internal error) and the next request starts another server.
    private func read(_ socket: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var pending = Data()
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(socket, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            pending.append(contentsOf: buffer[0..<n])
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                handle(line)
            }
        }
        let (orphans, reap) = lock.withLock {
            var reap: pid_t?
            if self.socket == socket {
                close(socket)
                self.socket = -1
                if reapServer { reap = serverPID }
            }
            defer { jobs.removeAll() }
            return (jobs.values.map(\.continuation), reap)
        }
        if let reap { waitpid(reap, nil, 0) }
        ended.signal()
        for continuation in orphans { continuation.resume(returning: .failure(MediaError(.internal, "the fork server ended"))) }
    }

    private func handle(_ line: String) {
        let fields = line.split(separator: " ")
        guard fields.count == 3, let id = Int64(fields[0]), let value = Int32(fields[2]) else { return }
        let ended: Result<ChildExit.Ending, MediaError>
        switch fields[1] {
        case "pid":
            lock.withLock {
                jobs[id]?.pid = value
                if jobs[id]?.kill == true { Glibc.kill(value, SIGKILL) }
            }
            return
        case "done", "exit": ended = .success(.exited(value))  // done: the child wrote its outcome and is exiting
        case "signal": ended = .success(.signalled(value))
        case "error": ended = .failure(MediaError(.internal, "the fork server could not fork: \(String(cString: strerror(value)))"))
        default: return
        }
        let continuation = lock.withLock { jobs.removeValue(forKey: id)?.continuation }
        continuation?.resume(returning: ended)
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    private final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var flag = false
        func set() { lock.withLock { flag = true } }
        var value: Bool { lock.withLock { flag } }
    }
}

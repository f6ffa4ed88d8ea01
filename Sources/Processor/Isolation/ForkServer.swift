import CMediaShims
import Foundation
import Glibc
import MediaKit
import QueueKit

/// The daemon's fork server behind crash isolation. Before Swift's concurrency runtime or any
/// library has started a thread — at launch of `processor serve` — the processor forks a copy of itself (the "zygote", `zygote.c`): every
/// codec library is already loaded in it, and it forks one child per file. A child therefore costs a fork — about a millisecond — instead of an
/// exec of a binary that maps 140 shared libraries (≈0.1 s of CPU and wall time per job, measured
/// with `bench/isolation.sh`). Forking a process that never had a second thread is safe; forking
/// the daemon itself is not (its locks, libdispatch's queues). If the zygote dies, the next job
/// starts a fresh one with `processor fork-server` (an exec, once).
enum ForkServer {
    /// The zygote forked at launch (set once, before any other thread exists).
    nonisolated(unsafe) private static var launched: ForkServerClient?
    /// The daemon's connection to its fork server: the launch zygote, or one started by exec at
    /// the first job when there is none.
    static let client: ForkServerClient = launched ?? ForkServerClient()

    /// Ends the launch zygote (isolation is off, or the one-shot command is done).
    static func stop(wait: Bool = false) { launched?.shutDown(wait: wait) }

    /// The hidden command an exec'd fork server runs (the socket is its standard input).
    static let command = "fork-server"

    /// Called first thing in `main`, single-threaded: serves as a fork server when this process is
    /// an exec'd one (never returns then), and starts the daemon's zygote, warmed up, for `serve`.
    /// (`processor process` needs none: its main thread forks each file's child, DirectChildren.swift.)
    static func launch(arguments: [String]) {
        let command = arguments.dropFirst().first
        if command == Self.command { serve(0, parent: getppid()) }
        // `serve` is the default command: `processor --processor-concurrency 2` serves too.
        let help: Set<String> = ["-h", "--help", "--version"]
        if command == nil || command == "serve" || (command!.hasPrefix("-") && !help.contains(command!)) { zygote() }
    }

    /// Forks the zygote, if this process still has one thread (otherwise the first job starts one
    /// by exec). It runs the image pipeline once first, so that its children's first image job does
    /// not pay for the libraries' first use.
    private static func zygote() {
        guard launched == nil, mp_thread_count() == 1 else { return }
        var fds: [Int32] = [-1, -1]
        guard mp_socketpair(&fds) == 0 else { return }
        let parent = getpid()
        let pid = fork()
        if pid == 0 {
            close(fds[0])
            serve(fds[1], parent: parent)
        }
        close(fds[1])
        guard pid > 0 else {
            close(fds[0])
            return
        }
        launched = ForkServerClient(socket: fds[0], serverPID: pid)
    }

    /// The zygote: warmed up once (for a daemon, while it starts), then forking one child per
    /// request until its parent closes the socket.
    private static func serve(_ socket: Int32, parent: pid_t) -> Never {
        warmUp()
        let status = mp_fork_server(socket, parent, prepareJob, childJob)
        _exit(status == 0 ? 0 : 70)
    }

    /// What every child would otherwise do first, done once here (on this one thread: the codec
    /// libraries' threads are joined by the time it returns, and nothing starts Swift
    /// concurrency): the request and outcome coding and the image pipeline on tiny pictures.
    private static func warmUp() {
        let request = ChildRequest(input: "", type: "image/jpeg", out: "", outcome: "", stderr: "", profile: ProcessingProfile())
        if let data = try? JSONEncoder().encode(request) { _ = try? JSONDecoder().decode(ChildRequest.self, from: data) }
        _ = try? JSONEncoder().encode(ChildOutcome(report: MediaReport(outputs: [], media: nil, timings: [:])))
        _ = MediaType.known(mime: "image/jpeg")
        WarmUp.images()
        if mp_thread_count() != 1 {
            FileHandle.standardError.write(Data("processor fork server: \(mp_thread_count()) threads after warming up; children may inherit held locks\n".utf8))
        }
    }

    /// Starts a fork server by exec (after the launch one died, or when none could be forked).
    static func exec() throws -> (socket: Int32, pid: pid_t) {
        var fds: [Int32] = [-1, -1]
        guard mp_socketpair(&fds) == 0 else { throw MediaError(.internal, "socketpair: \(String(cString: strerror(errno)))") }
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        process.arguments = [Self.command]
        var environment = ProcessInfo.processInfo.environment
        // What the zygote forked at launch gets from mallopt and the child's signal reset: no Swift
        // backtracer (a crash ends the child at once), two malloc arenas.
        environment["SWIFT_BACKTRACE"] = "enable=no"
        environment["MALLOC_ARENA_MAX"] = "2"
        process.environment = environment
        process.standardInput = FileHandle(fileDescriptor: fds[1], closeOnDealloc: false)
        do {
            try process.run()
        } catch {
            close(fds[0])
            close(fds[1])
            throw MediaError(.internal, "cannot start the fork server: \(error)")
        }
        close(fds[1])
        return (fds[0], process.processIdentifier)
    }

    /// Runs in the zygote before each fork: loads the libraries the request's job calls that are
    /// not loaded yet (video and audio: libav*; HEIC: libheif), so that they are loaded once per
    /// replica, when the first job needs them, not at every start nor in every child. A failure is
    /// left to the child, which reports it as the job's error.
    private static let prepareJob: mp_fork_server_job = { payload, length in
        guard let payload, let request = try? JSONDecoder().decode(ChildRequest.self, from: Data(bytes: payload, count: length)),
            let type = MediaType.known(mime: request.type)
        else { return }
        let missing = MediaRun.libraries(for: type, profile: request.profile).filter { !$0.isLoaded }
        guard !missing.isEmpty else { return }
        try? MediaLibrary.load(missing)
        if mp_thread_count() != 1 {
            FileHandle.standardError.write(Data("processor fork server: \(mp_thread_count()) threads after loading \(missing.map(\.soname)); children may inherit held locks\n".utf8))
        }
    }

    /// Runs in each forked child: the request's file through the pipeline under the child's limits.
    private static let childJob: mp_fork_server_job = { payload, length in
        guard let payload else { return }
        let data = Data(bytes: payload, count: length)
        ChildJob.run(request: data)
    }
}

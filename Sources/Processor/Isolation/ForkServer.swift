import CMediaShims
import Foundation
import Glibc
import MediaKit
import QueueKit

/// The fork server behind crash isolation. Before Swift's concurrency runtime or any library has
/// started a thread — at launch for `processor serve`, once its arguments and profile are read for
/// `processor process` — the processor forks a copy of itself (the "zygote", `zygote.c`): every
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
    /// (`processor process` starts its own once its profile is loaded: `zygote(profile:warm:)`.)
    static func launch(arguments: [String]) {
        let command = arguments.dropFirst().first
        if command == Self.command { serve(0, parent: getppid(), warm: true) }
        // `serve` is the default command: `processor --processor-concurrency 2` serves too.
        let help: Set<String> = ["-h", "--help", "--version"]
        if command == nil || command == "serve" || (command!.hasPrefix("-") && !help.contains(command!)) { zygote(profile: nil, warm: true) }
    }

    /// The profile the zygote was forked with: a request without one uses it.
    nonisolated(unsafe) private(set) static var inheritedProfile: ProcessingProfile?

    /// Forks the zygote, if this process still has one thread (otherwise the first job starts one
    /// by exec). `profile` is the one its children use when a request carries none; `warm`: it runs
    /// the image pipeline once first (a daemon's zygote forks many children; a one-shot command's
    /// few, and its warm-up would only cost CPU). `first`: a file whose request is in the socket
    /// before the zygote starts (`processor process`), so that its child is forked at once, while
    /// this process is still starting its runtime.
    static func zygote(profile: ProcessingProfile?, warm: Bool, first: (input: String, type: String, directory: String)? = nil) {
        guard launched == nil, mp_thread_count() == 1 else { return }
        var fds: [Int32] = [-1, -1]
        guard mp_socketpair(&fds) == 0 else { return }
        let parent = getpid()
        inheritedProfile = profile
        var sent: ForkServerClient.Presented?
        if let first, let profile {
            let presented = ForkServerClient.Presented(id: 1, input: first.input, directory: first.directory)
            let request = ForkServerClient.request(id: 1, input: first.input, type: first.type, directory: first.directory, profile: profile)
            if ForkServerClient.send(id: 1, request: request, hasProfile: true, on: fds[0]) { sent = presented }
        }
        let pid = fork()
        if pid == 0 {
            close(fds[0])
            serve(fds[1], parent: parent, warm: warm)
        }
        close(fds[1])
        guard pid > 0 else {
            close(fds[0])
            inheritedProfile = nil
            return
        }
        launched = ForkServerClient(socket: fds[0], serverPID: pid, hasProfile: profile != nil, presented: sent)
    }

    /// The zygote: warmed up once (for a daemon, while it starts), then forking one child per
    /// request until its parent closes the socket.
    private static func serve(_ socket: Int32, parent: pid_t, warm: Bool) -> Never {
        if warm { warmUp() }
        let status = mp_fork_server(socket, parent, childJob)
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

    /// Runs in each forked child: the request's file through the pipeline under the child's limits.
    private static let childJob: mp_fork_server_job = { payload, length in
        guard let payload else { return }
        let data = Data(bytes: payload, count: length)
        ChildJob.run(request: data)
    }
}

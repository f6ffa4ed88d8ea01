import CMediaShims
import Dispatch
import Foundation
import Glibc
import MediaKit
import QueueKit

/// What the daemon asks of one child: a file, its type, where its outputs go and where the child
/// writes its outcome and its standard error (files beside the outputs, read by the daemon).
struct ChildRequest: Codable, Sendable {
    var input: String
    var type: String
    var out: String
    var outcome: String
    var stderr: String
    var profile: ProcessingProfile
}

/// The child's side of crash isolation, run in a process forked by the fork server for one file.
/// Before it reads a byte of the file it sets its own kernel limits (address space, CPU seconds,
/// file size, no core dumps) and `no_new_privs`, so whatever a hostile file makes a codec library
/// do ends in this process: a crash is a signal its parent reads, a runaway decoder is stopped by
/// the kernel. It writes one JSON object to the request's outcome file: `{"report": …}` or `{"error": …}`.
enum ChildJob {
    /// Test hooks (tests only; never set in a deployment): the child aborts, or hangs, when the
    /// input's first MiB contains these bytes, as a decoder that crashes or deadlocks on a file would.
    static let abortMarkerVariable = "PROCESSOR_TEST_ABORT_MARKER"
    static let hangMarkerVariable = "PROCESSOR_TEST_HANG_MARKER"

    /// Never returns: the child ends here.
    static func run(request data: Data) -> Never {
        guard let request = try? JSONDecoder().decode(ChildRequest.self, from: data) else { _exit(64) }
        run(request)
    }

    /// The same, for a child forked with its request in memory (`processor process`, DirectChildren).
    static func run(_ request: ChildRequest) -> Never {
        // Standard error to the file the daemon reads its tail from; nothing reads standard input or output.
        let errorFile = open(request.stderr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if errorFile >= 0 {
            dup2(errorFile, 2)
            close(errorFile)
        }
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            dup2(null, 0)
            dup2(null, 1)
            close(null)
        }
        // This process never ran Swift concurrency (the fork server has one thread): the runtime
        // starts fresh here, and the main thread waits for the job.
        let box = OutcomeBox()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            box.outcome = await execute(request)
            done.signal()
        }
        done.wait()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? encoder.encode(box.outcome) else { _exit(65) }
        line.append(0x0A)
        let file = open(request.outcome, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard file >= 0, line.withUnsafeBytes({ write(file, $0.baseAddress, $0.count) }) == line.count, close(file) == 0 else { _exit(66) }
        // The parent has what it needs: it goes on while this process's memory is torn down.
        _ = mp_fork_server_done()
        _exit(0)
    }

    private static func execute(_ request: ChildRequest) async -> ChildOutcome {
        do {
            let profile = request.profile
            try profile.limits.child.applyToThisProcess()
            guard let mediaType = MediaType.known(mime: request.type) else { throw MediaError(.unsupported, "unknown media type \(request.type)") }
            try testHook(input: request.input)
            return .init(report: try await MediaRun.run(input: request.input, type: mediaType, directory: request.out, profile: profile))
        } catch let error as MediaError {
            return .init(error: error)
        } catch {
            return .init(error: MediaError(.internal, "\(error)"))
        }
    }

    private static func testHook(input: String) throws {
        let environment = ProcessInfo.processInfo.environment
        let abortMarker = environment[abortMarkerVariable] ?? ""
        let hangMarker = environment[hangMarkerVariable] ?? ""
        guard !abortMarker.isEmpty || !hangMarker.isEmpty, let handle = FileHandle(forReadingAtPath: input) else { return }
        let head = (try handle.read(upToCount: 1 << 20)) ?? Data()
        try? handle.close()
        if !abortMarker.isEmpty, head.range(of: Data(abortMarker.utf8)) != nil { abort() }
        if !hangMarker.isEmpty, head.range(of: Data(hangMarker.utf8)) != nil {
            while true { pause() }  // no CPU used: only the parent's wall-clock limit ends it
        }
    }

    private final class OutcomeBox: @unchecked Sendable {
        var outcome = ChildOutcome(error: MediaError(.internal, "the job did not finish"))
    }
}

/// The child's outcome.
struct ChildOutcome: Codable, Sendable {
    var report: MediaReport?
    var error: MediaError?

    init(report: MediaReport) { self.report = report }
    init(error: MediaError) { self.error = error }
}

import Foundation
import Logging
import MediaKit
import QueueKit

/// Where codec work runs. `process` (the default): each file is decoded by a child forked from the
/// fork server (ForkServer.swift) under kernel limits, so a crash, abort, hang or memory blow-up
/// ends that job only — the daemon, its other jobs and their delivery counts are untouched. `none`: in this process (measurements,
/// debugging).
enum IsolationMode: String, Sendable, CaseIterable {
    case process, none
}

/// Runs the pipeline on one local file, isolated or not, and turns how a child ended into the
/// job's outcome (`ChildExit.outcome`, one tested policy).
struct MediaRunner: Sendable {
    let mode: IsolationMode
    /// Wall-clock limit of one video child; it is killed (SIGKILL) past it.
    let timeout: Duration
    /// Wall-clock limit of one image child.
    let imageTimeout: Duration

    init(mode: IsolationMode, timeout: Duration, imageTimeout: Duration? = nil) {
        self.mode = mode
        self.timeout = timeout
        self.imageTimeout = imageTimeout ?? timeout
        if mode == .none { ForkServer.stop() }
    }

    init(mode: IsolationMode, limits: MediaLimits) {
        // The video job limit (which the transcoder checks between packets) plus a margin for
        // start-up and stills: past it, the child is stuck inside a library call. Images have a
        // limit of their own.
        self.init(mode: mode, timeout: .seconds(limits.video.maxJobSeconds * 1.1 + 10), imageTimeout: .seconds(limits.maxImageSeconds))
    }

    func run(input: String, type: MediaType, directory: String, profile: ProcessingProfile, logger: Logger) async throws -> MediaReport {
        guard mode == .process else { return try await MediaRun.run(input: input, type: type, directory: directory, profile: profile) }
        for attempt in 1...2 {
            let exit = try await ForkServer.client.run(
                input: input, type: type.mime, directory: directory, profile: profile, timeout: type.kind == .image ? imageTimeout : timeout)
            switch ChildExit.outcome(exit, attempt: attempt) {
            case .report(let report):
                return report
            case .failure(let error):
                Self.clean(directory)
                throw error
            case .runAgain:
                // A signal death may be the machine's doing (the OOM killer under pressure from other
                // pods) or the file's. Once more, at once: the same death again is the file's, and final.
                Self.runningAgain(exit, logger: logger)
                Self.clean(directory)
            }
        }
        throw MediaError(.internal, "the child process died twice")  // not reached: attempt 2 always decides
    }

    static func runningAgain(_ exit: ChildExit, logger: Logger) {
        logger.warning("the child process died; running it once more", metadata: ["exit": "\(exit)"])
    }

    /// Removes what a failed child left in its output directory.
    static func clean(_ directory: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            // Files, and folders of files (the HLS ladder's `hls/`).
            try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
        }
    }
}

/// How a child ended, and what that means for the job.
struct ChildExit: Sendable, Equatable, CustomStringConvertible {
    enum Ending: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
    }
    var ending: Ending
    /// The outcome file (one JSON line).
    var output: Data
    /// The last few KiB of standard error.
    var errorTail: String
    /// True when the parent killed it for running past the wall-clock limit.
    var timedOut: Bool
    var timeoutSeconds: Double

    enum Outcome: Sendable, Equatable {
        case report(MediaReport)
        case failure(MediaError)
        /// Died by a signal that may not be the file's fault: one more run decides.
        case runAgain
    }

    var description: String {
        switch ending {
        case .exited(let status): "exit status \(status)"
        case .signalled(let signal): "signal \(signal) (\(Self.name(of: signal)))"
        }
    }

    /// The policy: limits the kernel or the parent enforced are `limit`; any other signal is run
    /// again once, and the same ending on the second attempt is `crashed` (permanent, with the
    /// signal); an exit without an outcome line is `internal` (retried later like other transient
    /// failures); the child's own outcome is taken as it is.
    static func outcome(_ exit: ChildExit, attempt: Int) -> Outcome {
        switch exit.ending {
        case .signalled(let signal):
            if exit.timedOut {
                return .failure(MediaError(.limit, "time limit: the job took longer than \(Int(exit.timeoutSeconds)) s"))
            }
            switch signal {
            case SIGXCPU: return .failure(MediaError(.limit, "CPU time limit: the decoder used up the job's CPU seconds (SIGXCPU)"))
            case SIGXFSZ: return .failure(MediaError(.limit, "output size limit: the decoder tried to write past the file size limit (SIGXFSZ)"))
            default:
                if attempt < 2 { return .runAgain }
                let hint = signal == SIGKILL ? ", probably by the out-of-memory killer" : ""
                return .failure(MediaError(.crashed, "the decoder crashed on this file twice: killed by \(name(of: signal))\(hint)\(exit.errorSummary)"))
            }
        case .exited(let status):
            let line = exit.output.split(separator: 0x0A).last.map { Data($0) } ?? Data()
            guard let outcome = try? JSONDecoder().decode(ChildOutcome.self, from: line) else {
                return .failure(MediaError(.internal, "the child process ended with exit status \(status) and no outcome\(exit.errorSummary)"))
            }
            if let report = outcome.report { return .report(report) }
            return .failure(outcome.error ?? MediaError(.internal, "the child process reported nothing"))
        }
    }

    /// Standard error kept, from its end (a sanitizer report, a crash line).
    static let errorTailBytes = 8 << 10

    /// How the child of `request` ended, with its outcome and the tail of its standard error read
    /// from their files, which are removed.
    static func collect(ending: Ending, request: ChildRequest, timedOut: Bool, timeout: Duration) -> ChildExit {
        defer { discard(request) }
        return ChildExit(
            ending: ending, output: FileManager.default.contents(atPath: request.outcome) ?? Data(), errorTail: tail(of: request.stderr),
            timedOut: timedOut, timeoutSeconds: Double(timeout.components.seconds))
    }

    /// Removes the child's outcome and standard-error files.
    static func discard(_ request: ChildRequest) {
        unlink(request.outcome)
        unlink(request.stderr)
    }

    private static func tail(of path: String) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > UInt64(errorTailBytes) ? size - UInt64(errorTailBytes) : 0)
        return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
    }

    private var errorSummary: String {
        // The last line that says something (a "Fatal error", a sanitizer's summary), not a stack frame.
        let line = errorTail.split(separator: "\n").last { line in
            let text = line.trimmingCharacters(in: .whitespaces)
            return !text.isEmpty && !(text.first?.isNumber ?? false) && !text.hasPrefix("#") && !text.hasPrefix("Current stack trace")
        }
        return line.map { ": \($0.prefix(300))" } ?? ""
    }

    static func name(of signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGILL: "SIGILL", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGTRAP: "SIGTRAP",
            SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ", SIGTERM: "SIGTERM", SIGSYS: "SIGSYS",
        ]
        return names[signal] ?? "signal \(signal)"
    }
}

import Foundation
import MediaKit
import QueueKit
import Testing

@testable import Processor

/// `ChildExit.outcome`: how the end of an isolated child becomes the job's outcome.
@Suite("Isolation policy")
struct IsolationPolicyTests {
    static func exit(_ ending: ChildExit.Ending, output: String = "", stderr: String = "", timedOut: Bool = false) -> ChildExit {
        ChildExit(ending: ending, output: Data(output.utf8), errorTail: stderr, timedOut: timedOut, timeoutSeconds: 3660)
    }

    @Test("a crash is run once more, and the same crash again is a permanent `crashed` naming the signal", arguments: [SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE, SIGKILL])
    func crashes(signal: Int32) {
        let ended = Self.exit(.signalled(signal), stderr: "Fatal error: Could not allocate memory\n0 0x1234 frame\n")
        #expect(ChildExit.outcome(ended, attempt: 1) == .runAgain)
        guard case .failure(let error) = ChildExit.outcome(ended, attempt: 2) else {
            Issue.record("not a failure")
            return
        }
        #expect(error.code == .crashed && error.isPermanent)
        #expect(error.reason.contains(ChildExit.name(of: signal)))
        #expect(error.reason.contains("Fatal error: Could not allocate memory"))  // the line that says something, not the frame
        #expect(error.reason.contains("out-of-memory") == (signal == SIGKILL))
    }

    @Test("limits the kernel or the parent enforced are `limit` at once, never run again")
    func limits() {
        let cases: [(ChildExit, String)] = [
            (Self.exit(.signalled(SIGXCPU)), "CPU time limit"),
            (Self.exit(.signalled(SIGXFSZ)), "output size limit"),
            (Self.exit(.signalled(SIGKILL), timedOut: true), "time limit: the job took longer than 3660 s"),
        ]
        for (ended, reason) in cases {
            guard case .failure(let error) = ChildExit.outcome(ended, attempt: 1) else {
                Issue.record("\(ended) was not a failure")
                continue
            }
            #expect(error.code == .limit && error.reason.contains(reason), "\(error)")
        }
    }

    @Test("the child's own outcome line is taken as it is; an exit without one is internal (retried later)")
    func outcomeLines() throws {
        let report = MediaReport(outputs: [MediaFile(name: "image.webp", contentType: "image/webp", path: "/w/out/image.webp", bytes: 10)], media: nil, timings: ["decode": 0.1])
        let encoder = JSONEncoder()
        let ok = String(decoding: try encoder.encode(ChildOutcome(report: report)), as: UTF8.self)
        #expect(ChildExit.outcome(Self.exit(.exited(0), output: "noise\n" + ok + "\n"), attempt: 1) == .report(report))
        let refusal = MediaError(.corrupt, "JPEG: bogus marker")
        let failed = String(decoding: try encoder.encode(ChildOutcome(error: refusal)), as: UTF8.self)
        #expect(ChildExit.outcome(Self.exit(.exited(0), output: failed), attempt: 1) == .failure(refusal))
        guard case .failure(let error) = ChildExit.outcome(Self.exit(.exited(3), stderr: "cannot start\n"), attempt: 1) else {
            Issue.record("not a failure")
            return
        }
        #expect(error.code == .internal && !error.isPermanent && error.reason.contains("exit status 3 and no outcome: cannot start"))
    }

    @Test("the child's limits reach it through the profile, with defaults for what a profile leaves out")
    func profileLimits() throws {
        let profile = try JSONDecoder().decode(ProcessingProfile.self, from: Data(#"{"limits": {"child": {"maxCPUSeconds": 5}}}"#.utf8))
        #expect(profile.limits.child == ChildLimits(maxCPUSeconds: 5))
        #expect(profile.limits.maxImageInputBytes == 200 << 20)
        #expect(profile.limits.maxInputBytes(isImage: true) == 200 << 20 && profile.limits.maxInputBytes(isImage: false) == 2 << 30)
    }

    @Test("every image type the sniffer returns has a decoder; no other type has one")
    func imageFormats() {
        for type in MediaType.all {
            #expect((ImageFormat(mime: type.mime) != nil) == (type.kind == .image), "\(type)")
        }
    }
}

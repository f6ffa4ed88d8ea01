import ArgumentParser
import Foundation
import MediaKit
import QueueKit

/// `processor child`: decodes one untrusted file in a process of its own (started by the daemon and
/// by `processor process`, never by hand). Before it reads a byte of the file it sets its own kernel
/// limits (address space, CPU seconds, file size, no core dumps) and `no_new_privs`, so whatever a
/// hostile file makes a codec library do ends in this process: a crash is a signal its parent
/// reads, a runaway decoder is stopped by the kernel. The profile comes on standard input (JSON);
/// one JSON line on standard output says what happened: `{"report": …}` or `{"error": …}`.
struct Child: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Process one file in an isolated child process (internal: started by `processor serve` and `processor process`).",
        shouldDisplay: false)

    @Option(help: "The input file.") var input: String
    @Option(help: "Its media type (from the shared sniffer).") var type: String
    @Option(help: "The directory the outputs are written to.") var out: String

    /// Test hooks (tests only; never set in a deployment): the child aborts, or hangs, when the
    /// input's first MiB contains these bytes, as a decoder that crashes or deadlocks on a file would.
    static let abortMarkerVariable = "PROCESSOR_TEST_ABORT_MARKER"
    static let hangMarkerVariable = "PROCESSOR_TEST_HANG_MARKER"

    func run() async throws {
        let outcome: ChildOutcome
        do {
            let profileJSON = FileHandle.standardInput.readDataToEndOfFile()
            let profile = try JSONDecoder().decode(ProcessingProfile.self, from: profileJSON)
            try profile.limits.child.applyToThisProcess()
            guard let mediaType = MediaType.known(mime: type) else { throw MediaError(.unsupported, "unknown media type \(type)") }
            try Self.testHook(input: input)
            outcome = .init(report: try await MediaRun.run(input: input, type: mediaType, directory: out, profile: profile))
        } catch let error as MediaError {
            outcome = .init(error: error)
        } catch {
            outcome = .init(error: MediaError(.internal, "\(error)"))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = try encoder.encode(outcome)
        line.append(0x0A)
        FileHandle.standardOutput.write(line)
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
}

/// The child's one line of output.
struct ChildOutcome: Codable, Sendable {
    var report: MediaReport?
    var error: MediaError?

    init(report: MediaReport) { self.report = report }
    init(error: MediaError) { self.error = error }
}

import Foundation
import FuzzDriver
import MediaKit

/// One fuzz target: what the code under test does with one input.
public protocol FuzzTarget: Sendable {
    /// Runs `input` through MediaKit. A broken invariant traps (`Finding.report`), which libFuzzer
    /// records as a crash and saves the input for; a clean `MediaError` is a normal outcome.
    func run(_ input: [UInt8])
}

/// The `@main` of every harness: libFuzzer's driver around one `FuzzTarget`.
///
/// Each harness owns `main` and hands argv to `LLVMFuzzerRunDriver` (rather than letting libFuzzer's
/// own `main` run): SwiftPM links Linux executables with `main` aliased to the module's entry
/// point, so a module without one does not link. libFuzzer's flags and modes are unchanged:
/// `FuzzJPEG corpus/ -max_total_time=30`, or `FuzzJPEG crash-…` to replay one input.
public enum Harness {
    /// The running target. Safety: written once in `main` before libFuzzer starts, then only read
    /// from libFuzzer's thread, which calls `LLVMFuzzerTestOneInput` one input at a time.
    nonisolated(unsafe) static var target: (any FuzzTarget)?

    public static func main(_ target: some FuzzTarget) -> Never {
        Harness.target = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
    }
}

/// libFuzzer's callback (also the symbol its replay and merge modes call).
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    Harness.target?.run(input)
    return 0
}

/// A broken invariant: printed with the outcome, then a trap, so libFuzzer keeps the input.
enum Finding {
    static func report(_ message: String) -> Never {
        FileHandle.standardError.write(Data("FINDING: \(message)\n".utf8))
        fatalError(message)
    }

    /// Traps unless `error` is a clean failure (`cleanProblem`).
    static func checkClean(_ error: any Error, allowed: Set<MediaError.Code> = cleanCodes, _ what: String) {
        if let problem = cleanProblem(error, allowed: allowed) { report("\(what): \(problem)") }
    }

    /// The codes a caller can act on. `internal` means the glue reached a state it did not expect
    /// for this input: a finding too.
    static let cleanCodes: Set<MediaError.Code> = [.unsupported, .corrupt, .limit]

    /// Why `error` is not a clean failure (a `MediaError` with an actionable code and a reason), or nil.
    static func cleanProblem(_ error: any Error, allowed: Set<MediaError.Code> = cleanCodes) -> String? {
        guard let media = error as? MediaError else { return "not a MediaError: \(type(of: error)) \(error)" }
        guard allowed.contains(media.code) else { return "unexpected failure \(media)" }
        guard !media.reason.isEmpty else { return "a failure without a reason (\(media.code.rawValue))" }
        return nil
    }
}

/// Runs async MediaKit work to completion from libFuzzer's thread (not a cooperative-pool thread,
/// so blocking it on a semaphore cannot starve the pool). The one unstructured task here: the
/// harness has no service group, and the semaphore makes the task's lifetime the call's.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Task.detached {
        do {
            box.result = .success(try await body())
        } catch {
            box.result = .failure(error)
        }
        done.signal()
    }
    done.wait()
    return box.result!
}

/// Safety: written by the task before `done.signal()` and read only after `done.wait()`; the
/// semaphore orders the two accesses.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

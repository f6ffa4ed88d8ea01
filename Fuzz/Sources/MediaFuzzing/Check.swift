import Foundation
import MediaKit
import MediaTypes

/// The sanitized media check (`make test-sanitized`): every fixture of a manifest through the real
/// pipelines with the shipped image and audio profiles and limits (and a small-box video profile), each
/// outcome compared with what the manifest expects. Manifest lines: `EXPECT<TAB>PATH`, where
/// EXPECT is `ok` (must succeed), `fail:CODE[,CODE…]` (must fail cleanly with one of the codes) or
/// `clean` (either, as long as a failure is clean). Memory errors and C undefined behaviour are
/// AddressSanitizer's and UBSan's to report: the build runs with both, and either stops the run.
public enum SanitizedCheck {
    /// The shipped image profile plus the AVIF rendition at libaom's fastest speed (it encodes pixels
    /// the pipeline made, not input bytes, but runs in the same process as the decoders).
    static let imageProfile = ImageProfile(jpeg: .init(), avif: .init(enabled: true, quality: 50, speed: 10, threads: 1))
    static let videoProfile = VideoProfile(
        tiers: [.init(maxInputBytes: nil, maxWidth: 320, maxHeight: 320, crf: 30, preset: "ultrafast")],
        frameSamples: .init(everySeconds: 1, maxCount: 3, maxSize: 160, quality: 60))
    static let limits = MediaLimits()
    static let audioProfile = AudioProfile()

    public static func main() -> Never {
        let arguments = CommandLine.arguments.dropFirst()
        guard arguments.count == 1, let manifest = try? String(contentsOfFile: arguments.first!, encoding: .utf8) else {
            FileHandle.standardError.write(Data("usage: MediaCheck MANIFEST.tsv\n".utf8))
            exit(2)
        }
        let entries = manifest.split(separator: "\n").compactMap { line -> (String, String)? in
            let fields = line.split(separator: "\t", maxSplits: 1)
            return fields.count == 2 ? (String(fields[0]), String(fields[1])) : nil
        }
        var passed = 0
        var failed = 0
        let work = (NSTemporaryDirectory() as NSString).appendingPathComponent("media-check-\(getpid())")
        defer { try? FileManager.default.removeItem(atPath: work) }
        for (expect, path) in entries {
            let start = ContinuousClock.now
            let (outcome, problem) = check(path, expect: expect, work: work)
            let seconds = (ContinuousClock.now - start).components.seconds
            print("\(problem == nil ? "pass" : "FAIL") \((path as NSString).lastPathComponent): expected \(expect), got \(outcome) (\(seconds) s)\(problem.map { " — \($0)" } ?? "")")
            if problem == nil { passed += 1 } else { failed += 1 }
        }
        print("media check: \(passed) passed, \(failed) failed")
        exit(failed == 0 && passed > 0 ? 0 : 1)
    }

    /// The audio pipeline with the shipped audio profile: its failure, or what is wrong with its outputs.
    static func audio(_ path: String, work: String) -> ((any Error)?, String?) {
        try? FileManager.default.removeItem(atPath: work)
        try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        switch runBlocking({ try await AudioPipeline.process(inputPath: path, workDirectory: work, profile: audioProfile, limits: limits) }) {
        case .success(let result): return (nil, AudioTarget.problem(result, profile: audioProfile))
        case .failure(let error): return (error, nil)
        }
    }

    /// The outcome (`ok` or the failure) and what is wrong with it, if anything.
    static func check(_ path: String, expect: String, work: String) -> (String, String?) {
        guard let data = FileManager.default.contents(atPath: path) else { return ("unreadable", "cannot read \(path)") }
        let bytes = [UInt8](data)
        let type = MediaType.sniff(bytes)
        let failure: (any Error)?
        var problem: String?
        if type?.kind == .video {
            try? FileManager.default.removeItem(atPath: work)
            try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            switch runBlocking({ try await VideoPipeline.process(inputPath: path, workDirectory: work, profile: videoProfile, limits: limits) }) {
            case .success(let result): failure = nil; problem = VideoTarget.problem(result, profile: videoProfile)
            case .failure(let error as MediaError) where error == .audioOnly:  // as the processor routes it
                let routed = audio(path, work: work)
                failure = routed.0
                problem = routed.1
            case .failure(let error): failure = error
            }
        } else if type?.kind == .audio {
            let routed = audio(path, work: work)
            failure = routed.0
            problem = routed.1
        } else if let format = type?.imageFormat {
            switch runBlocking({ try await ImagePipeline.process(bytes, format: format, profile: imageProfile, limits: limits) }) {
            case .success(let result): failure = nil; problem = ImageTarget.problem(result, format: format, profile: imageProfile, limits: limits)
            case .failure(let error): failure = error
            }
        } else {
            // As the daemons do: what the sniffer does not recognise never reaches MediaKit.
            failure = MediaError(.unsupported, "not a supported image, video or audio format")
        }
        let outcome = failure.map { "\($0)" } ?? "ok"
        if let failure {
            if let unclean = Finding.cleanProblem(failure) { return (outcome, unclean) }
            let code = (failure as? MediaError)?.code.rawValue ?? ""
            if expect == "ok" { return (outcome, "a fixture that must be processed failed") }
            if expect.hasPrefix("fail:"), !expect.dropFirst(5).split(separator: ",").contains(Substring(code)) {
                return (outcome, "failed as \(code), not \(expect.dropFirst(5))")
            }
            return (outcome, nil)
        }
        if let problem { return (outcome, problem) }
        if expect.hasPrefix("fail:") { return (outcome, "a fixture that must fail was processed") }
        return (outcome, nil)
    }
}

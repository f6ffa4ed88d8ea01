import Foundation
import Logging
import MediaKit
import QueueKit

/// `processor process`: the pipeline on a local file, isolated as in the daemon.
enum OneShot {
    struct Report: Encodable {
        let input: String
        let outputs: [String: Int]
        let width: Int?
        let height: Int?
        let timings: [String: Double]
        /// The source video (videos only).
        var media: VideoInfo? = nil
        /// The source audio (audio-only files).
        var audio: AudioInfo? = nil
        /// The source image's facts (images).
        var image: ImageFacts? = nil

        var json: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
        }
    }

    /// One input, sniffed, its output directory made.
    struct Prepared: Sendable {
        let input: String
        /// The input's absolute path (what the child opens).
        let path: String
        let type: MediaType
        let directory: String
        /// The directory was there before this run (a failed input does not remove it).
        let existed: Bool
    }

    /// Sniffs `input` and makes `out/<stem>`.
    static func prepare(input: String, out: String) -> Result<Prepared, MediaError> {
        guard let handle = FileHandle(forReadingAtPath: input) else { return .failure(MediaError(.corrupt, "cannot read \(input)")) }
        let head = (try? handle.read(upToCount: MediaType.sniffLength)) ?? Data()
        try? handle.close()
        let stem = ((input as NSString).lastPathComponent as NSString).deletingPathExtension
        let directory = (out as NSString).appendingPathComponent(stem)
        guard let type = MediaType.sniff(head) else { return .failure(MediaError(.unsupported, "not a supported image, video or audio format")) }
        let existed = FileManager.default.fileExists(atPath: directory)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            return .failure(MediaError(.internal, "cannot create \(directory): \(error)"))
        }
        let path = input.hasPrefix("/") ? input : FileManager.default.currentDirectoryPath + "/" + input
        return .success(Prepared(input: input, path: path, type: type, directory: directory, existed: existed))
    }

    static func process(input: String, out: String, profile: ProcessingProfile, runner: MediaRunner) async -> Result<Report, MediaError> {
        switch prepare(input: input, out: out) {
        case .success(let prepared): await process(prepared, profile: profile, runner: runner)
        case .failure(let error): .failure(error)
        }
    }

    static func process(_ prepared: Prepared, profile: ProcessingProfile, runner: MediaRunner) async -> Result<Report, MediaError> {
        do {
            let result = try await runner.run(
                input: prepared.path, type: prepared.type, directory: prepared.directory, profile: profile, logger: Logger(label: "processor.process"))
            return .success(report(prepared, result))
        } catch {
            failed(prepared)
            return .failure(error as? MediaError ?? MediaError(.internal, "\(error)"))
        }
    }

    static func report(_ prepared: Prepared, _ result: MediaReport) -> Report {
        let main = result.outputs.first
        return Report(
            input: prepared.input, outputs: Dictionary(uniqueKeysWithValues: result.outputs.map { ($0.name, $0.bytes) }),
            width: main?.width, height: main?.height, timings: result.timings, media: result.media, audio: result.audio,
            image: result.image)
    }

    /// A failed input leaves nothing behind: the directory goes again if this run made it.
    static func failed(_ prepared: Prepared) {
        if !prepared.existed { try? FileManager.default.removeItem(atPath: prepared.directory) }
    }

    /// The line a failed input gets on standard error.
    static func printFailure(input: String, _ error: MediaError) {
        FileHandle.standardError.write(Data("\(input): \(error.code.rawValue): \(error.reason)\n".utf8))
    }
}

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

    /// Sniffs `input` and makes `out/<stem>`. (main.swift prepares the first input before it forks
    /// the zygote, so that the zygote's first child starts at once.)
    static func prepare(input: String, out: String) -> Result<Prepared, MediaError> {
        guard let handle = FileHandle(forReadingAtPath: input) else { return .failure(MediaError(.corrupt, "cannot read \(input)")) }
        let head = (try? handle.read(upToCount: MediaType.sniffLength)) ?? Data()
        try? handle.close()
        let stem = ((input as NSString).lastPathComponent as NSString).deletingPathExtension
        let directory = (out as NSString).appendingPathComponent(stem)
        guard let type = MediaType.sniff(head) else { return .failure(MediaError(.unsupported, "not a supported image or video format")) }
        if type.kind == .audio { return .failure(MediaError(.unsupported, MediaType.audioRefusal)) }
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
            let main = result.outputs.first
            return .success(
                Report(
                    input: prepared.input, outputs: Dictionary(uniqueKeysWithValues: result.outputs.map { ($0.name, $0.bytes) }),
                    width: main?.width, height: main?.height, timings: result.timings, media: result.media))
        } catch {
            // A failed input leaves nothing behind: the directory goes again if this run made it.
            if !prepared.existed { try? FileManager.default.removeItem(atPath: prepared.directory) }
            return .failure(error as? MediaError ?? MediaError(.internal, "\(error)"))
        }
    }
}

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

    static func process(input: String, out: String, profile: ProcessingProfile, runner: MediaRunner) async -> Result<Report, MediaError> {
        guard let handle = FileHandle(forReadingAtPath: input) else { return .failure(MediaError(.corrupt, "cannot read \(input)")) }
        let head = (try? handle.read(upToCount: MediaType.sniffLength)) ?? Data()
        try? handle.close()
        let stem = ((input as NSString).lastPathComponent as NSString).deletingPathExtension
        let directory = (out as NSString).appendingPathComponent(stem)
        // A failed input leaves nothing behind: the directory goes again if this run made it.
        let existed = FileManager.default.fileExists(atPath: directory)
        do {
            guard let type = MediaType.sniff(head) else { throw MediaError(.unsupported, "not a supported image or video format") }
            if type.kind == .audio { throw MediaError(.unsupported, MediaType.audioRefusal) }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let absolute = input.hasPrefix("/") ? input : FileManager.default.currentDirectoryPath + "/" + input
            let result = try await runner.run(
                input: absolute, type: type, directory: directory, profile: profile, logger: Logger(label: "processor.process"))
            let main = result.outputs.first
            return .success(
                Report(
                    input: input, outputs: Dictionary(uniqueKeysWithValues: result.outputs.map { ($0.name, $0.bytes) }), width: main?.width,
                    height: main?.height, timings: result.timings, media: result.media))
        } catch {
            if !existed { try? FileManager.default.removeItem(atPath: directory) }
            return .failure(error as? MediaError ?? MediaError(.internal, "\(error)"))
        }
    }
}

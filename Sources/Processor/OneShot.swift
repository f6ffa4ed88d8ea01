import Foundation
import MediaKit

/// `processor process`: the pipeline on a local file.
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

    static func process(input: String, out: String, profile: ProcessingProfile) async -> Result<Report, MediaError> {
        guard let handle = FileHandle(forReadingAtPath: input) else { return .failure(MediaError(.corrupt, "cannot read \(input)")) }
        let head = (try? handle.read(upToCount: 64)) ?? Data()
        try? handle.close()
        let stem = ((input as NSString).lastPathComponent as NSString).deletingPathExtension
        let directory = (out as NSString).appendingPathComponent(stem)
        // A failed input leaves nothing behind: the directory goes again if this run made it.
        let existed = FileManager.default.fileExists(atPath: directory)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return .success(try await run(input: input, head: head, directory: directory, profile: profile))
        } catch {
            if !existed { try? FileManager.default.removeItem(atPath: directory) }
            return .failure(error as? MediaError ?? MediaError(.internal, "\(error)"))
        }
    }

    private static func run(input: String, head: Data, directory: String, profile: ProcessingProfile) async throws -> Report {
        if ImageFormat.sniff(head) == nil {
            guard VideoPipeline.sniff(head) else { throw MediaError(.unsupported, "not a supported image or video format") }
            let result = try await VideoPipeline.process(inputPath: input, workDirectory: directory, profile: profile.video, limits: profile.limits)
            let video = result.outputs.first
            return Report(
                input: input, outputs: Dictionary(uniqueKeysWithValues: result.outputs.map { ($0.name, $0.bytes) }), width: video?.width,
                height: video?.height, timings: result.timings, media: result.info)
        }
        guard let data = FileManager.default.contents(atPath: input) else { throw MediaError(.corrupt, "cannot read \(input)") }
        let result = try await ImagePipeline.process(Array(data), profile: profile.image, limits: profile.limits)
        var sizes: [String: Int] = [:]
        for output in result.outputs {
            try Data(output.data).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(output.name)))
            sizes[output.name] = output.data.count
        }
        return Report(input: input, outputs: sizes, width: result.outputs.first?.width, height: result.outputs.first?.height, timings: result.timings)
    }
}

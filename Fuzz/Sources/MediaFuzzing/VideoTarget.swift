import Foundation
import MediaKit

/// The video path end to end (`VideoPipeline.process`: demux → decode → scale/resample → encode →
/// mux, poster, frame samples; an audio-only file then goes on to `AudioTarget`'s checks) on tiny limits and a 64-pixel profile. The input is written to a
/// private temporary directory, as the processor writes a download.
public struct VideoTarget: FuzzTarget {
    let scratch = Scratch("video")

    public init() {}

    public func run(_ input: [UInt8]) {
        let (inputPath, work) = scratch.prepare(input)
        let outcome = runBlocking {
            try await VideoPipeline.process(inputPath: inputPath, workDirectory: work, profile: FuzzSettings.videoProfile, limits: FuzzSettings.imageLimits)
        }
        switch outcome {
        case .failure(let error as MediaError) where error == .audioOnly:
            // An MP4 or Matroska file whose only stream is audio: the processor's route.
            AudioTarget.check(
                inputPath: inputPath, work: work, profile: FuzzSettings.audioProfile, limits: FuzzSettings.imageLimits,
                what: "audio-only video input of \(input.count) bytes")
        case .failure(let error):
            Finding.checkClean(error, "video input of \(input.count) bytes")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []
            guard left.isEmpty else { Finding.report("a failed video left partial outputs: \(left)") }
        case .success(let result):
            if let problem = Self.problem(result, profile: FuzzSettings.videoProfile) { Finding.report(problem) }
        }
    }

    /// A successful run wrote a real MP4 inside the box (even sides), and every output it names exists.
    static func problem(_ result: VideoResult, profile: VideoProfile) -> String? {
        guard let video = result.outputs.first, video.name == "video.mp4" else { return "video result without video.mp4" }
        let box = profile.tiers.map { max($0.maxWidth, $0.maxHeight) }.max() ?? 0
        guard let width = video.width, let height = video.height, (2...box).contains(width), (2...box).contains(height), width % 2 == 0,
            height % 2 == 0
        else { return "video.mp4 is \(video.width ?? -1)×\(video.height ?? -1), outside the \(box)-pixel box or odd" }
        for output in result.outputs {
            let size = ((try? FileManager.default.attributesOfItem(atPath: output.path))?[.size] as? NSNumber)?.intValue ?? -1
            guard size > 0, size == output.bytes else { return "\(output.name): \(size) bytes on disk, \(output.bytes) reported" }
        }
        guard let head = FileHandle(forReadingAtPath: video.path)?.readData(ofLength: 8), head.count == 8, Array(head[4..<8]) == Array("ftyp".utf8)
        else { return "video.mp4 does not start with an ftyp box" }
        return nil
    }
}

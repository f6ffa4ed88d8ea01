import Foundation
import MediaKit

/// The audio path end to end (`AudioPipeline.process`: demux → decode → resample → AAC encode →
/// M4A mux, and the waveform drawn and PNG-encoded) on tiny limits and an 8 kHz mono profile. The
/// input is written to a private temporary directory, as the processor writes a download.
public struct AudioTarget: FuzzTarget {
    let scratch = Scratch("audio")

    public init() {}

    public func run(_ input: [UInt8]) {
        let (inputPath, work) = scratch.prepare(input)
        Self.check(inputPath: inputPath, work: work, profile: FuzzSettings.audioProfile, limits: FuzzSettings.imageLimits, what: "audio input of \(input.count) bytes")
    }

    /// Runs the audio pipeline and reports whatever is wrong with its outcome (the video target
    /// hands it the audio-only MP4 and Matroska files, as the processor does).
    static func check(inputPath: String, work: String, profile: AudioProfile, limits: MediaLimits, what: String) {
        let outcome = runBlocking { try await AudioPipeline.process(inputPath: inputPath, workDirectory: work, profile: profile, limits: limits) }
        switch outcome {
        case .failure(let error):
            Finding.checkClean(error, what)
            let left = (try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []
            guard left.isEmpty else { Finding.report("a failed audio input left partial outputs: \(left)") }
        case .success(let result):
            if let problem = problem(result, profile: profile) { Finding.report(problem) }
        }
    }

    /// A successful run wrote an M4A and a waveform of the profile's size, and every output it names exists.
    static func problem(_ result: AudioResult, profile: AudioProfile) -> String? {
        guard result.outputs.map(\.name) == ["audio.m4a", "waveform.png"] else { return "audio outputs are \(result.outputs.map(\.name))" }
        for output in result.outputs {
            let size = ((try? FileManager.default.attributesOfItem(atPath: output.path))?[.size] as? NSNumber)?.intValue ?? -1
            guard size > 0, size == output.bytes else { return "\(output.name): \(size) bytes on disk, \(output.bytes) reported" }
        }
        let waveform = result.outputs[1]
        guard waveform.width == profile.waveform.width, waveform.height == profile.waveform.height else {
            return "waveform.png is \(waveform.width ?? -1)×\(waveform.height ?? -1), not the profile's \(profile.waveform.width)×\(profile.waveform.height)"
        }
        guard let duration = result.outputs[0].durationSeconds, duration.isFinite, duration >= 0 else { return "audio.m4a has no duration" }
        guard let head = FileHandle(forReadingAtPath: result.outputs[0].path)?.readData(ofLength: 12), head.count == 12,
            Array(head[4..<12]) == Array("ftypM4A ".utf8)
        else { return "audio.m4a does not start with an M4A ftyp box" }
        return nil
    }
}

import Foundation

/// What processing one audio file produced.
public struct AudioResult: Sendable {
    /// `audio.m4a` and `waveform.png`.
    public var outputs: [MediaFile]
    public var info: AudioInfo
    /// Seconds per stage: `probe`, `transcode`, `waveform`.
    public var timings: [String: Double]
}

/// Audio-only uploads (M4A, MP3, ADTS AAC, Ogg Vorbis/Opus/FLAC, WAV, FLAC, and MP4/Matroska files
/// whose only stream is audio) to an AAC-LC M4A with fast start (`audio.m4a`) and a waveform picture
/// (`waveform.png`), under the video limits (streams, duration, job time, probing) and decoder
/// allowlist. Works from a file on disk and writes its outputs into `workDirectory`; memory does
/// not grow with the recording.
public enum AudioPipeline {
    /// Transcodes `inputPath` on NIO's thread pool (codec work never runs on the cooperative pool).
    /// Cancelling the task stops the work between packets and removes partial outputs.
    public static func process(inputPath: String, workDirectory: String, profile: AudioProfile, limits: MediaLimits) async throws -> AudioResult {
        try await CancelFlag.runCancellable { flag in try processBlocking(inputPath: inputPath, workDirectory: workDirectory, profile: profile, limits: limits, cancel: flag) }
    }

    /// The output names (fixed, so a rerun overwrites, never adds).
    static let audioName = "audio.m4a"
    static let waveformName = "waveform.png"

    static func processBlocking(inputPath: String, workDirectory: String, profile: AudioProfile, limits: MediaLimits, cancel: CancelFlag) throws(MediaError)
        -> AudioResult
    {
        if let problem = profile.problem { throw MediaError(.internal, "the audio profile is invalid: \(problem)") }
        let attributes = try? FileManager.default.attributesOfItem(atPath: inputPath)
        guard let inputBytes = (attributes?[.size] as? NSNumber)?.intValue else { throw MediaError(.internal, "cannot read \(inputPath)") }
        guard inputBytes <= limits.maxInputBytes else { throw MediaError(.limit, "the file is over the \(limits.maxInputBytes)-byte limit") }
        let audioPath = (workDirectory as NSString).appendingPathComponent(audioName)
        let waveformPath = (workDirectory as NSString).appendingPathComponent(waveformName)
        do throws(MediaError) {
            let input = try SafeInput(
                path: inputPath, limits: limits.video, formats: SafeInput.allowedAudioFormats,
                accepted: "only M4A/MP4, MP3, AAC, Ogg, WAV, FLAC and Matroska/WebM audio are accepted",
                unrecognised: MediaError(.corrupt, "the audio cannot be read: its bytes are no audio format past the first few"))
            let result = try AudioTranscoder(input: input, outputPath: audioPath, profile: profile, limits: limits.video, clock: JobClock(cancel: cancel, limits: limits.video)).run()
            var clock = Stopwatch()
            let picture = result.waveform.render(height: profile.waveform.height, rgba: profile.waveform.rgba ?? [0, 0, 0, 255])
            let png = try PNGCodec.encode(picture)
            do {
                try Data(png).write(to: URL(fileURLWithPath: waveformPath))
            } catch {
                throw MediaError(.internal, "writing \(waveformPath): \(error)")
            }
            let audioBytes = ((try? FileManager.default.attributesOfItem(atPath: audioPath))?[.size] as? NSNumber)?.intValue ?? 0
            var timings = result.timings
            timings["waveform"] = clock.lap()
            return AudioResult(
                outputs: [
                    MediaFile(name: audioName, contentType: "audio/mp4", path: audioPath, bytes: audioBytes, durationSeconds: result.durationSeconds),
                    MediaFile(
                        name: waveformName, contentType: "image/png", path: waveformPath, bytes: png.count, width: picture.width, height: picture.height),
                ],
                info: result.info, timings: timings)
        } catch {
            for path in [audioPath, waveformPath] { unlink(path) }
            throw error
        }
    }
}

import Foundation
import ZIPFoundation

/// One file the video pipeline wrote into the work directory.
public struct MediaFile: Sendable, Codable, Equatable {
    /// `video.mp4`, `poster.webp`, `storyboard.webp`, `storyboard.vtt`, `frames.zip`, `hls/master.m3u8`:
    /// fixed names, so a rerun overwrites, never adds.
    public var name: String
    public var contentType: String
    public var path: String
    public var bytes: Int
    public var width: Int?
    public var height: Int?
    public var durationSeconds: Double?
    /// The picture's ThumbHash placeholder (image outputs and the poster).
    public var placeholder: ThumbHash.Placeholder?
    /// Files that belong to this output and are uploaded with it, each under its own `name` (relative
    /// to the job, like this one's), but not listed as outputs: the HLS ladder's media playlists,
    /// init segments and segments, whose output is `hls/master.m3u8`. nil for every other output.
    public var companions: [MediaFile]?

    public init(
        name: String, contentType: String, path: String, bytes: Int, width: Int? = nil, height: Int? = nil, durationSeconds: Double? = nil,
        placeholder: ThumbHash.Placeholder? = nil, companions: [MediaFile]? = nil
    ) {
        self.name = name
        self.contentType = contentType
        self.path = path
        self.bytes = bytes
        self.width = width
        self.height = height
        self.durationSeconds = durationSeconds
        self.placeholder = placeholder
        self.companions = companions
    }
}

/// What processing one video produced.
public struct VideoResult: Sendable {
    public var outputs: [MediaFile]
    public var info: VideoInfo
    /// Seconds per stage: `probe`, `transcode`, `stills`, `hls` (the ladder, when on).
    public var timings: [String: Double]
}

/// Videos to web MP4s (H.264 + AAC, fast start), a WebP poster, a scrub-bar storyboard (WebP sheet
/// + WebVTT), optional frame samples and an optional HLS ladder (`hls/`, `HLSLadder`).
/// Works from a file on disk and writes its outputs next to each other in `workDirectory`, so
/// memory does not grow with the video.
public enum VideoPipeline {
    /// Transcodes `inputPath` on NIO's thread pool (codec work never runs on the cooperative pool).
    /// Cancelling the task stops the work between packets and removes partial outputs.
    public static func process(inputPath: String, workDirectory: String, profile: VideoProfile, limits: MediaLimits) async throws -> VideoResult {
        try await CancelFlag.runCancellable { flag in try processBlocking(inputPath: inputPath, workDirectory: workDirectory, profile: profile, limits: limits, cancel: flag) }
    }

    static func processBlocking(inputPath: String, workDirectory: String, profile: VideoProfile, limits: MediaLimits, cancel: CancelFlag) throws(MediaError)
        -> VideoResult
    {
        let attributes = try? FileManager.default.attributesOfItem(atPath: inputPath)
        guard let inputBytes = (attributes?[.size] as? NSNumber)?.intValue else { throw MediaError(.internal, "cannot read \(inputPath)") }
        guard inputBytes <= limits.maxInputBytes else { throw MediaError(.limit, "the file is over the \(limits.maxInputBytes)-byte limit") }
        let videoPath = (workDirectory as NSString).appendingPathComponent("video.mp4")
        let posterPath = (workDirectory as NSString).appendingPathComponent("poster.webp")
        let framesPath = (workDirectory as NSString).appendingPathComponent("frames.zip")
        let sheetPath = (workDirectory as NSString).appendingPathComponent(storyboardSheet)
        let cuesPath = (workDirectory as NSString).appendingPathComponent("storyboard.vtt")
        let ladderPath = (workDirectory as NSString).appendingPathComponent(HLSLadder.directoryName)
        let jobClock = JobClock(cancel: cancel, limits: limits.video)
        do {
            var clock = Stopwatch()
            let input = try SafeInput(path: inputPath, limits: limits.video)
            let result = try Transcoder(
                input: input, inputBytes: inputBytes, outputPath: videoPath, profile: profile, limits: limits.video, clock: jobClock
            ).run()
            _ = clock.lap()
            var outputs = [
                MediaFile(
                    name: "video.mp4", contentType: "video/mp4", path: videoPath, bytes: size(of: videoPath), width: result.width, height: result.height,
                    durationSeconds: result.durationSeconds)
            ]
            if let poster = result.poster {
                let data = try WebPCodec.encode(poster, quality: profile.poster.quality, method: 4)
                try write(data, to: posterPath)
                outputs.append(
                    MediaFile(
                        name: "poster.webp", contentType: "image/webp", path: posterPath, bytes: data.count, width: poster.width, height: poster.height,
                        placeholder: try ThumbHash.placeholder(of: poster)))
            }
            if let storyboard = result.storyboard, !storyboard.thumbnails.isEmpty {
                let layout = storyboard.layout
                let sheet = try WebPCodec.encode(storyboard.sheet(), quality: profile.storyboard.quality, method: 4)
                try write(sheet, to: sheetPath)
                let cues = Array(layout.vtt(interval: storyboard.interval, duration: storyboard.duration, sheet: storyboardSheet).utf8)
                try write(cues, to: cuesPath)
                outputs.append(
                    MediaFile(
                        name: storyboardSheet, contentType: "image/webp", path: sheetPath, bytes: sheet.count, width: layout.sheetWidth,
                        height: layout.sheetHeight))
                outputs.append(
                    MediaFile(
                        name: "storyboard.vtt", contentType: "text/vtt", path: cuesPath, bytes: cues.count, durationSeconds: storyboard.duration))
            }
            if let every = profile.frameSamples, !result.samples.isEmpty {
                let bytes = try writeSamples(result.samples, quality: every.quality, to: framesPath)
                outputs.append(MediaFile(name: "frames.zip", contentType: "application/zip", path: framesPath, bytes: bytes))
            }
            var timings = result.timings
            timings["stills"] = clock.lap()
            if profile.hls.enabled {
                // A second pass over the file: one decode feeding every rung (the MP4 above stays as it is).
                let ladder = try HLSLadder(
                    input: try SafeInput(path: inputPath, limits: limits.video), parent: workDirectory, profile: profile, limits: limits.video,
                    clock: jobClock
                ).run()
                let top = ladder.variants.first
                outputs.append(
                    MediaFile(
                        name: ladder.master.name, contentType: ladder.master.contentType, path: ladder.master.path, bytes: ladder.master.bytes,
                        width: top?.width, height: top?.height, durationSeconds: ladder.durationSeconds,
                        companions: ladder.files.map { MediaFile(name: $0.name, contentType: $0.contentType, path: $0.path, bytes: $0.bytes) }))
                timings["hls"] = clock.lap()
            }
            return VideoResult(outputs: outputs, info: result.info, timings: timings)
        } catch {
            for path in [videoPath, posterPath, sheetPath, cuesPath, framesPath] { unlink(path) }
            try? FileManager.default.removeItem(atPath: ladderPath)
            throw error
        }
    }

    /// The sheet's name, also what the VTT's cues point at (relative: both are uploaded side by side).
    static let storyboardSheet = "storyboard.webp"

    /// `frames.zip`: `frame-0001.webp`, … stored (WebP is compressed already), built in memory (a
    /// few small WebPs; ZIPFoundation's file-backed archive leaks a path per archive) and written
    /// once. Returns its size.
    private static func writeSamples(_ samples: [Pixels], quality: Float, to path: String) throws(MediaError) -> Int {
        let zip: Data
        do {
            let archive = try Archive(accessMode: .create)
            for (index, sample) in samples.enumerated() {
                let data = Data(try WebPCodec.encode(sample, quality: quality, method: 4))
                try archive.addEntry(
                    with: String(format: "frame-%04d.webp", index + 1), type: .file, uncompressedSize: Int64(data.count), compressionMethod: .none
                ) { position, size in data.subdata(in: Int(position)..<Int(position) + size) }
            }
            guard let data = archive.data else { throw MediaError(.internal, "the frames archive has no data") }
            zip = data
        } catch let error as MediaError {
            throw error
        } catch {
            throw MediaError(.internal, "writing \(path): \(error)")
        }
        try write(zip, to: path)
        return zip.count
    }

    private static func size(of path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    private static func write(_ data: [UInt8], to path: String) throws(MediaError) {
        try write(Data(data), to: path)
    }

    private static func write(_ data: Data, to path: String) throws(MediaError) {
        do {
            try data.write(to: URL(fileURLWithPath: path))
        } catch {
            throw MediaError(.internal, "writing \(path): \(error)")
        }
    }
}

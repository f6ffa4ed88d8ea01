internal import CFFmpeg
import Foundation

/// What the source video is (for the status document).
public struct VideoInfo: Sendable, Codable, Equatable {
    public var container: String
    public var durationSeconds: Double?
    public var width: Int
    public var height: Int
    public var videoCodec: String
    public var audioCodec: String?
    /// Bits per second of the whole file, when known.
    public var bitRate: Int?
    public var frameRate: Double?
    /// Clockwise degrees the display matrix asked for (applied to the pixels).
    public var rotation: Int
    /// Video frames decoded (before any frame-rate cap drops some).
    public var frameCount: Int? = nil
    /// Bits per second of each stream (declared, else measured from its packets).
    public var videoBitRate: Int? = nil
    public var audioBitRate: Int? = nil
    public var audioChannels: Int? = nil
    public var audioSampleRate: Int? = nil
    /// The stream's colour matrix (`bt709`, `bt2020nc`, …) when tagged.
    public var colorSpace: String? = nil
    /// The container's `creation_time`, and camera tags (phones write them).
    public var captureTime: String? = nil
    public var cameraMake: String? = nil
    public var cameraModel: String? = nil
    /// True when the container had a location tag (never copied to the outputs).
    public var locationRemoved: Bool? = nil
    /// `pq` or `hlg` when the source is HDR (its frames were tone-mapped to SDR BT.709); nil: SDR.
    public var hdrTransfer: String? = nil
    /// Bits per sample of the decoder's pixel format (8, 10, 12).
    public var bitDepth: Int? = nil
    /// True when frames were tone-mapped from HDR to SDR.
    public var toneMapped: Bool = false

    enum CodingKeys: String, CodingKey {
        case container, durationSeconds, width, height, videoCodec, audioCodec, bitRate, frameRate, rotation
        case frameCount, videoBitRate, audioBitRate, audioChannels, audioSampleRate, colorSpace, captureTime, cameraMake, cameraModel, locationRemoved
        case hdrTransfer, bitDepth, toneMapped
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(container, forKey: .container)
        try c.encodeIfPresent(durationSeconds, forKey: .durationSeconds)
        try c.encode(width, forKey: .width)
        try c.encode(height, forKey: .height)
        try c.encode(videoCodec, forKey: .videoCodec)
        try c.encode(audioCodec, forKey: .audioCodec)  // null: the source has no audio
        try c.encodeIfPresent(bitRate, forKey: .bitRate)
        try c.encodeIfPresent(frameRate, forKey: .frameRate)
        try c.encode(rotation, forKey: .rotation)
        try c.encodeIfPresent(frameCount, forKey: .frameCount)
        try c.encodeIfPresent(videoBitRate, forKey: .videoBitRate)
        try c.encodeIfPresent(audioBitRate, forKey: .audioBitRate)
        try c.encodeIfPresent(audioChannels, forKey: .audioChannels)
        try c.encodeIfPresent(audioSampleRate, forKey: .audioSampleRate)
        try c.encodeIfPresent(colorSpace, forKey: .colorSpace)
        try c.encodeIfPresent(captureTime, forKey: .captureTime)
        try c.encodeIfPresent(cameraMake, forKey: .cameraMake)
        try c.encodeIfPresent(cameraModel, forKey: .cameraModel)
        try c.encodeIfPresent(locationRemoved, forKey: .locationRemoved)
        try c.encode(hdrTransfer, forKey: .hdrTransfer)  // null: SDR
        try c.encodeIfPresent(bitDepth, forKey: .bitDepth)
        try c.encode(toneMapped, forKey: .toneMapped)
    }
}

/// One transcode: demux an untrusted file through `SafeInput`, decode with frame/slice threads,
/// convert to 8-bit BT.709 `yuv420p` at the tier's size, rotate as the display matrix says, cap the
/// frame rate, encode H.264 (libx264) + AAC-LC (resampled with libswresample) into a fast-start MP4,
/// and take the poster and frame samples on the way. Runs on the calling thread; stops between
/// packets when cancelled or past the job's time limit.
final class Transcoder {
    struct Result {
        var info: VideoInfo
        var width: Int
        var height: Int
        var durationSeconds: Double
        var poster: Pixels?
        var samples: [Pixels]
        var storyboard: Storyboard?
        var timings: [String: Double]
    }

    private let input: SafeInput
    private let profile: VideoProfile
    private let limits: VideoLimits
    private let tier: VideoProfile.Tier
    private let outputPath: String

    init(input: SafeInput, inputBytes: Int, outputPath: String, profile: VideoProfile, limits: VideoLimits, clock: JobClock) throws(MediaError) {
        packet = try Owned.packet()
        encoded = try Owned.packet()
        decoder = try FrameDecoder(clock: clock)
        self.input = input
        self.profile = profile
        self.limits = limits
        self.tier = profile.tier(forInputBytes: inputBytes)
        self.outputPath = outputPath
    }

    // MARK: State of the run

    private var output: OutputFile!
    private var video: VideoPath!
    private var audio: AudioPath?
    private let packet: Owned<AVPacket>  // read from the file
    private let encoded: Owned<AVPacket>  // from the encoders
    private let decoder: FrameDecoder
    private var videoEnd = 0.0
    /// The end of the last packet of any stream: the MP4's duration, which players show.
    private var outputEnd = 0.0
    private var lastKept: Double?
    private var keptFrames = 0
    /// Facts for the status: every decoded video frame, and packet bytes per stream.
    private var decodedFrames = 0
    private var videoBytes = 0
    private var audioBytes = 0
    private var posterAt = 0.0
    private var poster: Pixels?
    private var firstFrame: Pixels?
    private var samples: [Pixels] = []
    private var nextSampleAt = 0.0
    private var storyboard: StoryboardCollector?
    private var thumbnails: FrameConverter?

    func run() throws(MediaError) -> Result {
        var clock = Stopwatch()
        let context = input.context
        let selected = try input.selectStreams(limits: limits)
        let videoIndex = selected.videoIndex
        let audioIndex = selected.audioIndex
        let videoStream = selected.video
        let audioStream = selected.audio

        video = try VideoPath(stream: videoStream, context: context, tier: tier, limits: limits, threads: profile.threads)
        if let audioStream {
            audio = try AudioPath(stream: audioStream, profile: profile.audio)
        }
        output = try OutputFile(path: outputPath)
        try video.openEncoder(for: output, tier: tier, threads: profile.threads)
        try audio?.openEncoder(for: output)
        try output.writeHeader()

        let duration = input.durationSeconds
        posterAt = duration.map { $0 * profile.poster.atFraction } ?? profile.poster.fallbackSeconds
        let tile = Storyboard.tileSize(
            width: video.outputWidth, height: video.outputHeight, sampleAspect: video.outputSampleAspect, size: profile.storyboard.thumbnailSize)
        if profile.storyboard.enabled {
            storyboard = StoryboardCollector(settings: profile.storyboard, plannedDuration: duration)
            thumbnails = FrameConverter.rgb(width: tile.width, height: tile.height)
        }
        timingsOpen = clock.lap()

        // Packets in file order until the end (or a read error: what was read is kept).
        while true {
            try decoder.clock.check()
            let status = av_read_frame(context, packet.pointer)
            if status < 0 { break }
            defer { av_packet_unref(packet.pointer) }
            if packet.pointer.pointee.stream_index == videoIndex {
                videoBytes += Int(packet.pointer.pointee.size)
                try decoder.decode(packet.pointer, with: video.decoder.pointer) { (frame) throws(MediaError) in try self.videoFrame(frame) }
            } else if let audio, packet.pointer.pointee.stream_index == audioIndex {
                audioBytes += Int(packet.pointer.pointee.size)
                try decoder.decode(packet.pointer, with: audio.decoder.pointer) { (frame) throws(MediaError) in try self.audioFrame(frame, audio) }
            }
        }
        try decoder.decode(nil, with: video.decoder.pointer) { (frame) throws(MediaError) in try self.videoFrame(frame) }
        if let audio {
            try decoder.decode(nil, with: audio.decoder.pointer) { (frame) throws(MediaError) in try self.audioFrame(frame, audio) }
        }
        guard keptFrames > 0 else {
            throw MediaError(.corrupt, "no decodable video frames (\(decoder.damaged) damaged packets)")
        }
        try encode(nil, with: video.encoder!, stream: video.outputStream!)
        if let audio {
            try audio.finish { (frame) throws(MediaError) in try self.encode(frame, with: audio.encoder!, stream: audio.outputStream!) }
            try encode(nil, with: audio.encoder!, stream: audio.outputStream!)
        }
        try output.finish()
        let transcode = clock.lap()

        var info = VideoInfo(
            container: input.containerName, durationSeconds: duration, width: Int(videoStream.pointee.codecpar.pointee.width),
            height: Int(videoStream.pointee.codecpar.pointee.height), videoCodec: String(cString: avcodec_get_name(videoStream.pointee.codecpar.pointee.codec_id)),
            audioCodec: audioStream.map { String(cString: avcodec_get_name($0.pointee.codecpar.pointee.codec_id)) },
            bitRate: context.pointee.bit_rate > 0 ? Int(context.pointee.bit_rate) : nil, frameRate: video.frameRate, rotation: video.rotation)
        addFacts(to: &info, video: videoStream, audio: audioStream, duration: duration)
        info.hdrTransfer = video.dynamicRange.hdrTransfer?.rawValue
        info.bitDepth = video.dynamicRange.bitDepth
        info.toneMapped = video.dynamicRange.toneMappedFrames > 0
        var timings = ["probe": timingsOpen, "transcode": transcode]
        timings["toneMap"] = video.dynamicRange.seconds  // only when a filter graph was built (HDR)
        return Result(
            info: info, width: video.outputWidth, height: video.outputHeight, durationSeconds: videoEnd, poster: poster ?? firstFrame,
            samples: samples,
            storyboard: storyboard.map {
                Storyboard(
                    thumbnails: $0.thumbnails, interval: $0.interval, duration: max(videoEnd, outputEnd), tileWidth: tile.width, tileHeight: tile.height,
                    columns: profile.storyboard.columns)
            },
            timings: timings)
    }

    private var timingsOpen = 0.0

    // MARK: Decode and encode loops

    /// Sends one frame (nil: flush) and writes every packet that comes out.
    private func encode(_ frame: UnsafeMutablePointer<AVFrame>?, with encoder: Owned<AVCodecContext>, stream: UnsafeMutablePointer<AVStream>) throws(MediaError) {
        let sent = avcodec_send_frame(encoder.pointer, frame)
        if sent < 0, sent != CFFMPEG_AVERROR_EOF {
            throw MediaError(.internal, "\(FFmpegError(code: sent, call: "encoding (\(String(cString: encoder.pointer.pointee.codec.pointee.name)))"))")
        }
        let out = encoded.pointer
        while true {
            let received = avcodec_receive_packet(encoder.pointer, out)
            if received == CFFMPEG_EAGAIN || received == CFFMPEG_AVERROR_EOF { return }
            if received < 0 { throw MediaError(.internal, "\(FFmpegError(code: received, call: "avcodec_receive_packet"))") }
            if out.pointee.duration == 0, stream == video.outputStream, let frameDuration = video.frameDuration {
                out.pointee.duration = frameDuration  // x264 leaves it unset; the last frame needs one
            }
            av_packet_rescale_ts(out, encoder.pointer.pointee.time_base, stream.pointee.time_base)
            out.pointee.stream_index = stream.pointee.index
            let end = Double(out.pointee.pts + out.pointee.duration) * stream.pointee.time_base.seconds
            if stream == video.outputStream { videoEnd = max(videoEnd, end) }
            outputEnd = max(outputEnd, end)
            try output.write(out)
        }
    }

    // MARK: Video

    private func videoFrame(_ frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) {
        decodedFrames += 1
        var timestamp = frame.pointee.best_effort_timestamp
        if timestamp == CFFMPEG_NOPTS_VALUE { timestamp = video.lastTimestamp.map { $0 + 1 } ?? video.startPts }
        video.lastTimestamp = timestamp
        let pts = timestamp - video.startPts
        guard pts >= 0 else { return }  // before the start (pre-roll)
        let seconds = Double(pts) * video.timeBase.seconds
        guard seconds <= limits.maxDurationSeconds else {
            throw MediaError(.limit, "duration limit: the video runs past \(Int(limits.maxDurationSeconds)) s")
        }
        // A frame closer than 1/maxFrameRate to the last kept one is dropped; kept frames keep their
        // timestamps. The tolerance absorbs timestamp rounding (60 fps in milliseconds is 16/17 ms).
        if let lastKept {
            let interval = 1 / profile.maxFrameRate
            let tolerance = min(interval / 4, max(video.timeBase.seconds, 0.001))
            if seconds - lastKept < interval - tolerance { return }
        }
        lastKept = seconds
        // PQ/HLG frames tone-mapped to SDR BT.709 (at their size); SDR frames as they are.
        let picture = try video.picture(from: try video.dynamicRange.standard(frame))
        picture.pointee.pts = pts
        picture.pointee.pict_type = AV_PICTURE_TYPE_NONE
        keptFrames += 1
        try takeStills(picture, seconds: seconds)
        try encode(picture, with: video.encoder!, stream: video.outputStream!)
    }

    private func takeStills(_ picture: UnsafeMutablePointer<AVFrame>, seconds: Double) throws(MediaError) {
        if firstFrame == nil {
            firstFrame = try FrameConverter.pixels(of: picture, width: video.outputWidth, height: video.outputHeight)
        }
        if poster == nil, seconds >= posterAt {
            poster = try FrameConverter.pixels(of: picture, width: video.outputWidth, height: video.outputHeight)
        }
        if let every = profile.frameSamples, samples.count < every.maxCount, seconds >= nextSampleAt {
            let size = VideoProfile.fit(width: video.outputWidth, height: video.outputHeight, box: (every.maxSize, every.maxSize))
            samples.append(try FrameConverter.pixels(of: picture, width: size.width, height: size.height))
            nextSampleAt = ((seconds / every.everySeconds).rounded(.down) + 1) * every.everySeconds
        }
        if let thumbnails, let slots = storyboard?.slots(at: seconds), slots > 0 {
            storyboard?.add(try thumbnails.pixels(of: picture), slots: slots)
        }
    }

    /// The facts beyond the transcode's own (`VideoFacts`), and what this run counted.
    private func addFacts(to info: inout VideoInfo, video: UnsafeMutablePointer<AVStream>, audio: UnsafeMutablePointer<AVStream>?, duration: Double?) {
        let facts = VideoFacts(context: input.context, video: video, audio: audio)
        info.frameCount = decodedFrames
        info.videoBitRate = VideoFacts.bitRate(video, bytes: videoBytes, seconds: duration)
        info.audioBitRate = VideoFacts.bitRate(audio, bytes: audioBytes, seconds: duration)
        info.audioChannels = facts.audioChannels
        info.audioSampleRate = facts.audioSampleRate
        info.colorSpace = facts.colorSpace
        info.captureTime = facts.captureTime
        info.cameraMake = facts.cameraMake
        info.cameraModel = facts.cameraModel
        info.locationRemoved = facts.locationRemoved
    }

    // MARK: Audio

    private func audioFrame(_ frame: UnsafeMutablePointer<AVFrame>, _ audio: AudioPath) throws(MediaError) {
        try audio.push(frame) { (out) throws(MediaError) in try self.encode(out, with: audio.encoder!, stream: audio.outputStream!) }
    }
}


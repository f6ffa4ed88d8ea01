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

    enum CodingKeys: String, CodingKey { case container, durationSeconds, width, height, videoCodec, audioCodec, bitRate, frameRate, rotation }

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
    private let cancel: CancelFlag
    private let deadline: ContinuousClock.Instant
    private let outputPath: String

    init(input: SafeInput, inputBytes: Int, outputPath: String, profile: VideoProfile, limits: VideoLimits, cancel: CancelFlag) throws(MediaError) {
        packet = try Owned.packet()
        encoded = try Owned.packet()
        decoded = try Owned.frame()
        self.input = input
        self.profile = profile
        self.limits = limits
        self.tier = profile.tier(forInputBytes: inputBytes)
        self.cancel = cancel
        self.deadline = .now + .milliseconds(Int64(limits.maxJobSeconds * 1000))
        self.outputPath = outputPath
    }

    // MARK: State of the run

    private var output: OutputFile!
    private var video: VideoPath!
    private var audio: AudioPath?
    private let packet: Owned<AVPacket>  // read from the file
    private let encoded: Owned<AVPacket>  // from the encoders
    private let decoded: Owned<AVFrame>
    private var videoEnd = 0.0
    /// The end of the last packet of any stream: the MP4's duration, which players show.
    private var outputEnd = 0.0
    private var lastKept: Double?
    private var keptFrames = 0
    private var decodeErrors = 0
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
        // What the header declares is checked before any frame is decoded (probing decodes some).
        try checkHeader()
        let probed: Int32 = withProbeOptions(count: Int(context.pointee.nb_streams)) { avformat_find_stream_info(context, $0) }
        guard probed >= 0 else {
            throw MediaError(.corrupt, "the \(input.formatName) file's streams cannot be identified")
        }
        try checkHeader()
        let streams = input.streams
        let videoIndex = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard videoIndex >= 0 else {
            if av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0) >= 0 {
                throw MediaError(.unsupported, "audio-only files are not processed (the file has an audio stream and no video)")
            }
            throw MediaError(.corrupt, "the file has no video stream")
        }
        let audioIndex = av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, videoIndex, nil, 0)
        for stream in streams where stream.pointee.index != videoIndex && stream.pointee.index != audioIndex {
            stream.pointee.discard = AVDISCARD_ALL  // subtitles, data, extra tracks: never read
        }
        let videoStream = streams[Int(videoIndex)]
        let audioStream = audioIndex >= 0 ? streams[Int(audioIndex)] : nil

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
            try checkLimits()
            let status = av_read_frame(context, packet.pointer)
            if status < 0 { break }
            defer { av_packet_unref(packet.pointer) }
            if packet.pointer.pointee.stream_index == videoIndex {
                try decode(packet.pointer, with: video.decoder.pointer) { (frame) throws(MediaError) in try self.videoFrame(frame) }
            } else if let audio, packet.pointer.pointee.stream_index == audioIndex {
                try decode(packet.pointer, with: audio.decoder.pointer) { (frame) throws(MediaError) in try self.audioFrame(frame, audio) }
            }
        }
        try decode(nil, with: video.decoder.pointer) { (frame) throws(MediaError) in try self.videoFrame(frame) }
        if let audio {
            try decode(nil, with: audio.decoder.pointer) { (frame) throws(MediaError) in try self.audioFrame(frame, audio) }
        }
        guard keptFrames > 0 else {
            throw MediaError(.corrupt, "no decodable video frames (\(decodeErrors) damaged packets)")
        }
        try encode(nil, with: video.encoder!, stream: video.outputStream!)
        if let audio {
            try audio.finish { (frame) throws(MediaError) in try self.encode(frame, with: audio.encoder!, stream: audio.outputStream!) }
            try encode(nil, with: audio.encoder!, stream: audio.outputStream!)
        }
        try output.finish()
        let transcode = clock.lap()

        let info = VideoInfo(
            container: input.containerName, durationSeconds: duration, width: Int(videoStream.pointee.codecpar.pointee.width),
            height: Int(videoStream.pointee.codecpar.pointee.height), videoCodec: String(cString: avcodec_get_name(videoStream.pointee.codecpar.pointee.codec_id)),
            audioCodec: audioStream.map { String(cString: avcodec_get_name($0.pointee.codecpar.pointee.codec_id)) },
            bitRate: context.pointee.bit_rate > 0 ? Int(context.pointee.bit_rate) : nil, frameRate: video.frameRate, rotation: video.rotation)
        return Result(
            info: info, width: video.outputWidth, height: video.outputHeight, durationSeconds: videoEnd, poster: poster ?? firstFrame,
            samples: samples,
            storyboard: storyboard.map {
                Storyboard(
                    thumbnails: $0.thumbnails, interval: $0.interval, duration: max(videoEnd, outputEnd), tileWidth: tile.width, tileHeight: tile.height,
                    columns: profile.storyboard.columns)
            },
            timings: ["probe": timingsOpen, "transcode": transcode])
    }

    private var timingsOpen = 0.0

    /// Stream count, duration and frame sizes as declared.
    private func checkHeader() throws(MediaError) {
        let streams = input.streams
        guard streams.count <= limits.maxStreams else {
            throw MediaError(.limit, "stream limit: \(streams.count) streams is over the limit of \(limits.maxStreams)")
        }
        if let duration = input.durationSeconds, duration > limits.maxDurationSeconds {
            throw MediaError(.limit, "duration limit: \(Int(duration)) s is over the limit of \(Int(limits.maxDurationSeconds)) s")
        }
        for stream in streams where stream.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO {
            let width = Int(stream.pointee.codecpar.pointee.width)
            let height = Int(stream.pointee.codecpar.pointee.height)
            let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
            if overflow || pixels > limits.maxPixels {
                throw MediaError(.limit, "pixel limit: \(width)×\(height) frames are over \(limits.maxPixels / 1_000_000) MP")
            }
        }
    }

    /// Per-stream decoder options for probing: the pixel limit and the decoder allowlist.
    private func withProbeOptions<R>(count: Int, _ body: (UnsafeMutablePointer<OpaquePointer?>?) -> R) -> R {
        var dictionaries = [OpaquePointer?](repeating: nil, count: max(1, count))
        for index in dictionaries.indices {
            av_dict_set(&dictionaries[index], "max_pixels", "\(limits.maxPixels)", 0)
            av_dict_set(&dictionaries[index], "codec_whitelist", SafeInput.allowedDecoderNames, 0)
        }
        defer { for index in dictionaries.indices { av_dict_free(&dictionaries[index]) } }
        return dictionaries.withUnsafeMutableBufferPointer { body($0.baseAddress) }
    }

    private func checkLimits() throws(MediaError) {
        try cancel.check()
        if ContinuousClock.now > deadline {
            throw MediaError(.limit, "time limit: the job took longer than \(Int(limits.maxJobSeconds)) s")
        }
    }

    // MARK: Decode and encode loops

    /// Sends one packet (nil: flush) and hands every frame that comes out to `body`. A damaged
    /// packet is counted and skipped, as the ffmpeg command line does.
    private func decode(
        _ packet: UnsafeMutablePointer<AVPacket>?, with decoder: UnsafeMutablePointer<AVCodecContext>,
        _ body: (UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Void
    ) throws(MediaError) {
        let sent = avcodec_send_packet(decoder, packet)
        if sent < 0, sent != CFFMPEG_AVERROR_EOF {
            decodeErrors += 1
            if sent != CFFMPEG_EAGAIN { return }
        }
        while true {
            let received = avcodec_receive_frame(decoder, decoded.pointer)
            if received == CFFMPEG_EAGAIN || received == CFFMPEG_AVERROR_EOF { return }
            if received < 0 {
                decodeErrors += 1
                return
            }
            defer { av_frame_unref(decoded.pointer) }
            try body(decoded.pointer)
            if packet == nil { try checkLimits() }
        }
    }

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
        let picture = try video.picture(from: frame)
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

    // MARK: Audio

    private func audioFrame(_ frame: UnsafeMutablePointer<AVFrame>, _ audio: AudioPath) throws(MediaError) {
        try audio.push(frame) { (out) throws(MediaError) in try self.encode(out, with: audio.encoder!, stream: audio.outputStream!) }
    }
}


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
    private var lastKept: Double?
    private var keptFrames = 0
    private var decodeErrors = 0
    private var posterAt = 0.0
    private var poster: Pixels?
    private var firstFrame: Pixels?
    private var samples: [Pixels] = []
    private var nextSampleAt = 0.0

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
        guard videoIndex >= 0 else { throw MediaError(.corrupt, "the file has no video stream") }
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
            samples: samples, timings: ["probe": timingsOpen, "transcode": transcode])
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
            if stream == video.outputStream {
                let end = Double(out.pointee.pts + out.pointee.duration) * stream.pointee.time_base.seconds
                videoEnd = max(videoEnd, end)
            }
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
    }

    // MARK: Audio

    private func audioFrame(_ frame: UnsafeMutablePointer<AVFrame>, _ audio: AudioPath) throws(MediaError) {
        try audio.push(frame) { (out) throws(MediaError) in try self.encode(out, with: audio.encoder!, stream: audio.outputStream!) }
    }
}

/// The video stream's decoder, picture conversion and encoder.
final class VideoPath {
    let decoder: Owned<AVCodecContext>
    let timeBase: AVRational
    let startPts: Int64
    let rotation: Int
    let frameRate: Double?
    /// One frame at the nominal rate, in the stream's time base.
    var frameDuration: Int64? {
        guard frameRateRational.num > 0, frameRateRational.den > 0 else { return nil }
        let duration = av_rescale_q(1, AVRational(num: frameRateRational.den, den: frameRateRational.num), timeBase)
        return duration > 0 ? duration : nil
    }
    private let frameRateRational: AVRational
    private let sampleAspect: AVRational
    /// Before rotation.
    let scaledWidth: Int
    let scaledHeight: Int
    var outputWidth: Int { rotation == 90 || rotation == 270 ? scaledHeight : scaledWidth }
    var outputHeight: Int { rotation == 90 || rotation == 270 ? scaledWidth : scaledHeight }
    var encoder: Owned<AVCodecContext>?
    var outputStream: UnsafeMutablePointer<AVStream>?
    var lastTimestamp: Int64?
    private let converter: FrameConverter
    private var scaled: Owned<AVFrame>?
    private var rotated: Owned<AVFrame>?

    init(stream: UnsafeMutablePointer<AVStream>, context: UnsafeMutablePointer<AVFormatContext>, tier: VideoProfile.Tier, limits: VideoLimits, threads: Int)
        throws(MediaError)
    {
        let parameters = stream.pointee.codecpar!
        let id = parameters.pointee.codec_id
        let name = String(cString: avcodec_get_name(id))
        guard SafeInput.allowedVideoCodecs.contains(id) else {
            throw MediaError(.unsupported, "the video codec \(name) is not accepted (H.264, HEVC, MPEG-4, ProRes, MJPEG, VP8, VP9, AV1)")
        }
        let width = Int(parameters.pointee.width)
        let height = Int(parameters.pointee.height)
        guard width > 0, height > 0 else { throw MediaError(.corrupt, "the video stream has no picture size") }
        guard width * height <= limits.maxPixels else {
            throw MediaError(.limit, "pixel limit: \(width)×\(height) frames are over \(limits.maxPixels / 1_000_000) MP")
        }
        guard let codec = avcodec_find_decoder(id) else { throw MediaError(.unsupported, "no decoder for \(name) in this build") }
        decoder = try Owned.codec(codec)
        guard avcodec_parameters_to_context(decoder.pointer, parameters) >= 0 else { throw MediaError(.corrupt, "the \(name) stream parameters are invalid") }
        decoder.pointer.pointee.pkt_timebase = stream.pointee.time_base
        decoder.pointer.pointee.thread_count = Int32(threads)
        decoder.pointer.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        var options = Options([("max_pixels", "\(limits.maxPixels)"), ("codec_whitelist", SafeInput.allowedDecoderNames)])
        let opened = avcodec_open2(decoder.pointer, codec, &options.dictionary)
        guard opened >= 0 else { throw MediaError(.corrupt, "the \(name) decoder refused the stream: \(FFmpegError(code: opened, call: "avcodec_open2"))") }

        timeBase = stream.pointee.time_base
        let start = context.pointee.start_time
        startPts = start == CFFMPEG_NOPTS_VALUE ? 0 : av_rescale_q(start, AVRational(num: 1, den: AV_TIME_BASE), timeBase)
        rotation = VideoPath.rotation(of: stream)
        let guessed = av_guess_frame_rate(context, stream, nil)
        frameRateRational = guessed
        frameRate = guessed.num > 0 && guessed.den > 0 ? guessed.seconds : nil
        sampleAspect = parameters.pointee.sample_aspect_ratio
        let fitted = VideoProfile.fit(width: width, height: height, box: (tier.maxWidth, tier.maxHeight))
        scaledWidth = fitted.width
        scaledHeight = fitted.height
        converter = FrameConverter(width: fitted.width, height: fitted.height, format: AV_PIX_FMT_YUV420P)
    }

    /// Clockwise degrees (0, 90, 180, 270) from the stream's display matrix.
    static func rotation(of stream: UnsafeMutablePointer<AVStream>) -> Int {
        guard let matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nil) else { return 0 }
        let counterClockwise = matrix.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
        guard counterClockwise.isFinite else { return 0 }
        let degrees = Int((-counterClockwise).rounded())
        let normalized = ((degrees % 360) + 360) % 360
        return [0, 90, 180, 270].min { abs($0 - normalized) < abs($1 - normalized) } ?? 0
    }

    func openEncoder(for output: OutputFile, tier: VideoProfile.Tier, threads: Int) throws(MediaError) {
        guard let codec = avcodec_find_encoder_by_name("libx264") else { throw MediaError(.internal, "this FFmpeg build has no libx264") }
        let encoder = try Owned.codec(codec)
        let e = encoder.pointer
        e.pointee.width = Int32(outputWidth)
        e.pointee.height = Int32(outputHeight)
        e.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        e.pointee.time_base = timeBase
        if frameRateRational.num > 0, frameRateRational.den > 0 { e.pointee.framerate = frameRateRational }
        if sampleAspect.num > 0, sampleAspect.den > 0 {
            e.pointee.sample_aspect_ratio = rotation == 90 || rotation == 270 ? AVRational(num: sampleAspect.den, den: sampleAspect.num) : sampleAspect
        }
        e.pointee.color_primaries = AVCOL_PRI_BT709
        e.pointee.color_trc = AVCOL_TRC_BT709
        e.pointee.colorspace = AVCOL_SPC_BT709
        e.pointee.color_range = AVCOL_RANGE_MPEG
        e.pointee.thread_count = Int32(threads)
        if output.needsGlobalHeader { e.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        var options = Options([("preset", tier.preset), ("crf", "\(tier.crf)")])
        let opened = avcodec_open2(e, codec, &options.dictionary)
        guard opened >= 0 else { throw MediaError(.internal, "\(FFmpegError(code: opened, call: "opening libx264 (preset \(tier.preset), crf \(tier.crf))"))") }
        self.encoder = encoder
        outputStream = try output.addStream(from: e)
    }

    /// The frame to encode: the decoded one when it already is 8-bit BT.709 `yuv420p` at the output
    /// size, otherwise a converted (and rotated) copy in reused buffers.
    func picture(from frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> UnsafeMutablePointer<AVFrame> {
        var matrix = frame.pointee.colorspace
        if matrix == AVCOL_SPC_UNSPECIFIED || matrix == AVCOL_SPC_RGB {
            // Untagged: HD is BT.709, SD is BT.601 (what players assume).
            matrix = frame.pointee.height >= 720 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M
        }
        let fullRange = frame.pointee.color_range == AVCOL_RANGE_JPEG || frame.pointee.format == AV_PIX_FMT_YUVJ420P.rawValue
            || frame.pointee.format == AV_PIX_FMT_YUVJ422P.rawValue || frame.pointee.format == AV_PIX_FMT_YUVJ444P.rawValue
        var picture = frame
        let ready = frame.pointee.format == AV_PIX_FMT_YUV420P.rawValue && Int(frame.pointee.width) == scaledWidth
            && Int(frame.pointee.height) == scaledHeight && FrameConverter.swsMatrix(matrix) == SWS_CS_ITU709 && !fullRange
        if !ready {
            if scaled == nil { scaled = try FrameConverter.allocate(width: scaledWidth, height: scaledHeight, format: AV_PIX_FMT_YUV420P) }
            let target = scaled!.pointer
            guard av_frame_make_writable(target) >= 0 else { throw MediaError(.internal, "out of memory (frame)") }
            try converter.convert(frame, into: target, sourceMatrix: matrix, sourceFullRange: fullRange)
            picture = target
        }
        if rotation != 0 {
            if rotated == nil { rotated = try FrameConverter.allocate(width: outputWidth, height: outputHeight, format: AV_PIX_FMT_YUV420P) }
            let target = rotated!.pointer
            guard av_frame_make_writable(target) >= 0 else { throw MediaError(.internal, "out of memory (frame)") }
            FrameConverter.rotate(picture, degrees: rotation, into: target)
            picture = target
        }
        if picture != frame {
            picture.pointee.sample_aspect_ratio = encoder?.pointer.pointee.sample_aspect_ratio ?? AVRational(num: 0, den: 1)
        }
        return picture
    }
}

/// The audio stream's decoder, resampler, sample FIFO and AAC encoder.
final class AudioPath {
    let decoder: Owned<AVCodecContext>
    var encoder: Owned<AVCodecContext>?
    var outputStream: UnsafeMutablePointer<AVStream>?
    private let profile: VideoProfile.Audio
    private let timeBase: AVRational
    private let startPts: Int64
    private var resampler: OpaquePointer?
    private var fifo: OpaquePointer?
    private var nextPts: Int64?
    private var frameSize: Int32 = 1024

    init(stream: UnsafeMutablePointer<AVStream>, profile: VideoProfile.Audio) throws(MediaError) {
        let parameters = stream.pointee.codecpar!
        let id = parameters.pointee.codec_id
        let name = String(cString: avcodec_get_name(id))
        guard SafeInput.allowedAudioCodecs.contains(id) else {
            throw MediaError(.unsupported, "the audio codec \(name) is not accepted (AAC, MP3, Opus, Vorbis, AC-3, FLAC, ALAC, PCM)")
        }
        guard let codec = avcodec_find_decoder(id) else { throw MediaError(.unsupported, "no decoder for \(name) in this build") }
        decoder = try Owned.codec(codec)
        guard avcodec_parameters_to_context(decoder.pointer, parameters) >= 0 else { throw MediaError(.corrupt, "the \(name) stream parameters are invalid") }
        decoder.pointer.pointee.pkt_timebase = stream.pointee.time_base
        let opened = avcodec_open2(decoder.pointer, codec, nil)
        guard opened >= 0 else { throw MediaError(.corrupt, "the \(name) decoder refused the stream: \(FFmpegError(code: opened, call: "avcodec_open2"))") }
        self.profile = profile
        timeBase = stream.pointee.time_base
        startPts = stream.pointee.start_time == CFFMPEG_NOPTS_VALUE ? 0 : stream.pointee.start_time
    }

    deinit {
        swr_free(&resampler)
        if let fifo { av_audio_fifo_free(fifo) }
    }

    func openEncoder(for output: OutputFile) throws(MediaError) {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_AAC) else { throw MediaError(.internal, "this FFmpeg build has no AAC encoder") }
        let encoder = try Owned.codec(codec)
        let e = encoder.pointer
        e.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        e.pointee.sample_rate = Int32(profile.sampleRate)
        av_channel_layout_default(&e.pointee.ch_layout, Int32(profile.channels))
        e.pointee.bit_rate = Int64(profile.bitRate)
        e.pointee.time_base = AVRational(num: 1, den: Int32(profile.sampleRate))
        e.pointee.profile = FF_PROFILE_AAC_LOW
        if output.needsGlobalHeader { e.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        let opened = avcodec_open2(e, codec, nil)
        guard opened >= 0 else { throw MediaError(.internal, "\(FFmpegError(code: opened, call: "opening the AAC encoder"))") }
        if e.pointee.frame_size > 0 { frameSize = e.pointee.frame_size }
        guard let fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, Int32(profile.channels), frameSize * 4) else {
            throw MediaError(.internal, "out of memory (audio FIFO)")
        }
        self.fifo = fifo
        self.encoder = encoder
        outputStream = try output.addStream(from: e)
    }

    /// Resamples a decoded frame into the FIFO and encodes every full AAC frame.
    func push(_ frame: UnsafeMutablePointer<AVFrame>, encode: (UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Void) throws(MediaError) {
        guard let encoder else { return }
        if resampler == nil {
            var layout = frame.pointee.ch_layout
            var defaulted = AVChannelLayout()
            if layout.order == AV_CHANNEL_ORDER_UNSPEC || layout.nb_channels == 0 {
                av_channel_layout_default(&defaulted, max(1, layout.nb_channels))
                layout = defaulted
            }
            let status = swr_alloc_set_opts2(
                &resampler, &encoder.pointer.pointee.ch_layout, AV_SAMPLE_FMT_FLTP, encoder.pointer.pointee.sample_rate, &layout,
                AVSampleFormat(frame.pointee.format), frame.pointee.sample_rate, 0, nil)
            guard status >= 0, swr_init(resampler) >= 0 else {
                throw MediaError(.unsupported, "cannot resample \(frame.pointee.sample_rate) Hz \(layout.nb_channels)-channel audio")
            }
            // The first sample's position, so audio stays in step with the video.
            let timestamp = frame.pointee.best_effort_timestamp == CFFMPEG_NOPTS_VALUE ? startPts : frame.pointee.best_effort_timestamp
            let seconds = Double(timestamp - startPts) * timeBase.seconds
            nextPts = max(0, Int64((seconds * Double(profile.sampleRate)).rounded()))
        }
        try convert(input: frame.pointee.extended_data, count: frame.pointee.nb_samples)
        try drain(final: false, encode: encode)
    }

    /// Drains the resampler and encodes what is left (the last frame may be short).
    func finish(encode: (UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Void) throws(MediaError) {
        guard resampler != nil else { return }
        try convert(input: nil, count: 0)
        try drain(final: true, encode: encode)
    }

    private func convert(input: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, count: Int32) throws(MediaError) {
        let capacity = swr_get_out_samples(resampler, count)
        guard capacity > 0 else { return }
        let buffer = try FrameConverter.audioFrame(samples: capacity, like: encoder!.pointer)
        let produced = swr_convert(
            resampler, buffer.pointer.pointee.extended_data, capacity,
            input.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: UnsafePointer<UInt8>?.self) }, count)
        guard produced >= 0 else { throw MediaError(.corrupt, "\(FFmpegError(code: produced, call: "resampling audio"))") }
        if produced > 0 {
            let written = av_audio_fifo_write(
                fifo, UnsafeMutableRawPointer(buffer.pointer.pointee.extended_data).assumingMemoryBound(to: UnsafeMutableRawPointer?.self), produced)
            guard written == produced else { throw MediaError(.internal, "out of memory (audio FIFO)") }
        }
    }

    private func drain(final: Bool, encode: (UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Void) throws(MediaError) {
        while true {
            let available = av_audio_fifo_size(fifo)
            guard available >= frameSize || (final && available > 0) else { return }
            let count = min(available, frameSize)
            let frame = try FrameConverter.audioFrame(samples: count, like: encoder!.pointer)
            av_audio_fifo_read(fifo, UnsafeMutableRawPointer(frame.pointer.pointee.extended_data).assumingMemoryBound(to: UnsafeMutableRawPointer?.self), count)
            frame.pointer.pointee.pts = nextPts ?? 0
            nextPts = (nextPts ?? 0) + Int64(count)
            try encode(frame.pointer)
        }
    }
}

extension FrameConverter {
    /// An audio frame of `samples` in the encoder's format, layout and rate.
    static func audioFrame(samples: Int32, like encoder: UnsafeMutablePointer<AVCodecContext>) throws(MediaError) -> Owned<AVFrame> {
        let frame = try Owned.frame()
        let f = frame.pointer
        f.pointee.nb_samples = samples
        f.pointee.format = encoder.pointee.sample_fmt.rawValue
        f.pointee.sample_rate = encoder.pointee.sample_rate
        guard av_channel_layout_copy(&f.pointee.ch_layout, &encoder.pointee.ch_layout) >= 0, av_frame_get_buffer(f, 0) >= 0 else {
            throw MediaError(.internal, "out of memory (audio frame)")
        }
        return frame
    }
}

/// The MP4 being written: `moov` moved before `mdat` at the end (fast start).
final class OutputFile {
    private var context: UnsafeMutablePointer<AVFormatContext>?
    private var finished = false
    let path: String

    init(path: String) throws(MediaError) {
        self.path = path
        let status = avformat_alloc_output_context2(&context, nil, "mp4", path)
        guard status >= 0, let context else { throw MediaError(.internal, "\(FFmpegError(code: status, call: "creating the MP4 muxer"))") }
        let opened = avio_open(&context.pointee.pb, path, AVIO_FLAG_WRITE)
        guard opened >= 0 else { throw MediaError(.internal, "\(FFmpegError(code: opened, call: "creating \(path)"))") }
    }

    deinit {
        if let context {
            if context.pointee.pb != nil { avio_closep(&context.pointee.pb) }
            avformat_free_context(context)
        }
        if !finished { unlink(path) }
    }

    var needsGlobalHeader: Bool { (context!.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 }

    func addStream(from encoder: UnsafeMutablePointer<AVCodecContext>) throws(MediaError) -> UnsafeMutablePointer<AVStream> {
        guard let stream = avformat_new_stream(context, nil), avcodec_parameters_from_context(stream.pointee.codecpar, encoder) >= 0 else {
            throw MediaError(.internal, "out of memory (output stream)")
        }
        stream.pointee.time_base = encoder.pointee.time_base
        return stream
    }

    func writeHeader() throws(MediaError) {
        var options = Options([("movflags", "+faststart")])
        let status = avformat_write_header(context, &options.dictionary)
        guard status >= 0 else { throw MediaError(.internal, "\(FFmpegError(code: status, call: "writing the MP4 header"))") }
    }

    func write(_ packet: UnsafeMutablePointer<AVPacket>) throws(MediaError) {
        let status = av_interleaved_write_frame(context, packet)
        guard status >= 0 else { throw MediaError(.internal, "\(FFmpegError(code: status, call: "writing the MP4"))") }
    }

    func finish() throws(MediaError) {
        let status = av_write_trailer(context)
        guard status >= 0 else { throw MediaError(.internal, "\(FFmpegError(code: status, call: "finishing the MP4"))") }
        avio_closep(&context!.pointee.pb)
        finished = true
    }
}

internal import CFFmpeg

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
    /// The output's pixel aspect (width / height of one pixel; 1 when the source has none), turned
    /// with the picture.
    var outputSampleAspect: Double {
        guard sampleAspect.num > 0, sampleAspect.den > 0 else { return 1 }
        let aspect = Double(sampleAspect.num) / Double(sampleAspect.den)
        return rotation == 90 || rotation == 270 ? 1 / aspect : aspect
    }
    var encoder: Owned<AVCodecContext>?
    var outputStream: UnsafeMutablePointer<AVStream>?
    var lastTimestamp: Int64?
    private let pictures: PictureConverter
    /// HDR frames to SDR before anything else sees them (`standard(_:)`); SDR frames pass as they are.
    let dynamicRange: DynamicRange

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
        pictures = PictureConverter(scaledWidth: fitted.width, scaledHeight: fitted.height, rotation: rotation)
        dynamicRange = DynamicRange(stream: parameters, threads: threads, maxPixels: limits.maxPixels)
    }

    /// The source's frame rate as a fraction (0/0 when unknown).
    var nominalFrameRate: AVRational { frameRateRational }

    /// The source's pixel aspect, turned with the picture (0/1 when the source has none).
    var turnedSampleAspect: AVRational {
        guard sampleAspect.num > 0, sampleAspect.den > 0 else { return AVRational(num: 0, den: 1) }
        return rotation == 90 || rotation == 270 ? AVRational(num: sampleAspect.den, den: sampleAspect.num) : sampleAspect
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
        let encoder = try Self.openX264(
            width: outputWidth, height: outputHeight, timeBase: timeBase, frameRate: frameRateRational, sampleAspect: turnedSampleAspect,
            threads: threads, globalHeader: output.needsGlobalHeader, options: [("preset", tier.preset), ("crf", "\(tier.crf)")],
            what: "preset \(tier.preset), crf \(tier.crf)")
        self.encoder = encoder
        outputStream = try output.addStream(from: encoder.pointer)
    }

    /// An opened libx264 encoder of 8-bit BT.709 limited-range `yuv420p` pictures at the given size.
    static func openX264(
        width: Int, height: Int, timeBase: AVRational, frameRate: AVRational, sampleAspect: AVRational, threads: Int, globalHeader: Bool,
        options entries: [(String, String)], what: String
    ) throws(MediaError) -> Owned<AVCodecContext> {
        guard let codec = avcodec_find_encoder_by_name("libx264") else { throw MediaError(.internal, "this FFmpeg build has no libx264") }
        let encoder = try Owned.codec(codec)
        let e = encoder.pointer
        e.pointee.width = Int32(width)
        e.pointee.height = Int32(height)
        e.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        e.pointee.time_base = timeBase
        if frameRate.num > 0, frameRate.den > 0 { e.pointee.framerate = frameRate }
        if sampleAspect.num > 0, sampleAspect.den > 0 { e.pointee.sample_aspect_ratio = sampleAspect }
        e.pointee.color_primaries = AVCOL_PRI_BT709
        e.pointee.color_trc = AVCOL_TRC_BT709
        e.pointee.colorspace = AVCOL_SPC_BT709
        e.pointee.color_range = AVCOL_RANGE_MPEG
        e.pointee.thread_count = Int32(threads)
        if globalHeader { e.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        var options = Options(entries)
        let opened = avcodec_open2(e, codec, &options.dictionary)
        guard opened >= 0 else { throw MediaError(.internal, "\(FFmpegError(code: opened, call: "opening libx264 (\(what))"))") }
        return encoder
    }

    /// The frame to encode: the decoded one when it already is 8-bit BT.709 `yuv420p` at the output
    /// size, otherwise a converted (and rotated) copy in reused buffers.
    func picture(from frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> UnsafeMutablePointer<AVFrame> {
        try pictures.picture(from: frame, sampleAspect: encoder?.pointer.pointee.sample_aspect_ratio ?? AVRational(num: 0, den: 1))
    }
}

/// Decoded frames to encoder pictures: 8-bit BT.709 limited-range `yuv420p` at one size, turned as
/// the display matrix says. One per encoder (its buffers are reused from frame to frame).
final class PictureConverter {
    /// Before rotation.
    let scaledWidth: Int
    let scaledHeight: Int
    let rotation: Int
    var outputWidth: Int { rotation == 90 || rotation == 270 ? scaledHeight : scaledWidth }
    var outputHeight: Int { rotation == 90 || rotation == 270 ? scaledWidth : scaledHeight }
    private let converter: FrameConverter
    private var scaled: Owned<AVFrame>?
    private var rotated: Owned<AVFrame>?

    init(scaledWidth: Int, scaledHeight: Int, rotation: Int) {
        self.scaledWidth = scaledWidth
        self.scaledHeight = scaledHeight
        self.rotation = rotation
        converter = FrameConverter(width: scaledWidth, height: scaledHeight, format: AV_PIX_FMT_YUV420P)
    }

    /// The frame to encode: `frame` itself when it already is 8-bit BT.709 `yuv420p` at the output
    /// size, otherwise a converted (and rotated) copy in reused buffers, tagged with `sampleAspect`.
    func picture(from frame: UnsafeMutablePointer<AVFrame>, sampleAspect: AVRational) throws(MediaError) -> UnsafeMutablePointer<AVFrame> {
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
            picture.pointee.sample_aspect_ratio = sampleAspect
        }
        return picture
    }
}


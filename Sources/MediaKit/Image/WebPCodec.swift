internal import CWebP

/// WebP through libwebp: the simple decoder, the advanced encoder, and libwebpdemux/libwebpmux's
/// animation decoder and encoder.
enum WebPCodec {
    struct Header {
        var width: Int
        var height: Int
        var hasAlpha: Bool
        var isAnimated: Bool
        var frameCount: Int
    }

    /// Reads the header (and, for animations, the frame count) without decoding pixels.
    static func header(_ data: [UInt8]) throws(MediaError) -> Header {
        var features = WebPBitstreamFeatures()
        let status = data.withUnsafeBufferPointer { WebPGetFeatures($0.baseAddress, $0.count, &features) }
        guard status == VP8_STATUS_OK else { throw MediaError(.corrupt, "WebP header: status \(status.rawValue)") }
        var header = Header(
            width: Int(features.width), height: Int(features.height), hasAlpha: features.has_alpha != 0,
            isAnimated: features.has_animation != 0, frameCount: 1)
        if header.isAnimated {
            let info: (Int, Int, Int)? = data.withUnsafeBufferPointer { buffer in
                var webpData = WebPData(bytes: buffer.baseAddress, size: buffer.count)
                guard let demux = WebPDemux(&webpData) else { return nil }
                defer { WebPDemuxDelete(demux) }
                return (
                    Int(WebPDemuxGetI(demux, WEBP_FF_CANVAS_WIDTH)), Int(WebPDemuxGetI(demux, WEBP_FF_CANVAS_HEIGHT)),
                    Int(WebPDemuxGetI(demux, WEBP_FF_FRAME_COUNT))
                )
            }
            guard let info else { throw MediaError(.corrupt, "WebP animation header is malformed") }
            (header.width, header.height, header.frameCount) = info
        }
        return header
    }

    static func decode(_ data: [UInt8]) throws(MediaError) -> Pixels {
        let header = try header(data)
        var pixels = Pixels(width: header.width, height: header.height, channels: header.hasAlpha ? 4 : 3)
        let stride = Int32(header.width * pixels.channels)
        let ok = data.withUnsafeBufferPointer { input in
            pixels.bytes.withUnsafeMutableBufferPointer { output in
                header.hasAlpha
                    ? WebPDecodeRGBAInto(input.baseAddress, input.count, output.baseAddress, output.count, stride) != nil
                    : WebPDecodeRGBInto(input.baseAddress, input.count, output.baseAddress, output.count, stride) != nil
            }
        }
        guard ok else { throw MediaError(.corrupt, "WebP: the image data is damaged or truncated") }
        return pixels
    }

    /// A decoded animation: full-canvas RGBA frames with their end timestamps in milliseconds.
    struct Animation {
        var width: Int
        var height: Int
        var frames: [(pixels: Pixels, timestampMs: Int)]
        var loopCount: Int
    }

    static func decodeAnimation(_ data: [UInt8], cancel: CancelFlag) throws(MediaError) -> Animation {
        let result: Result<Animation, MediaError> = data.withUnsafeBufferPointer { buffer in
            var webpData = WebPData(bytes: buffer.baseAddress, size: buffer.count)
            var options = WebPAnimDecoderOptions()
            guard WebPAnimDecoderOptionsInit(&options) != 0 else { return .failure(MediaError(.internal, "WebP animation options")) }
            options.color_mode = MODE_RGBA
            options.use_threads = 0
            guard let decoder = WebPAnimDecoderNew(&webpData, &options) else {
                return .failure(MediaError(.corrupt, "WebP animation is malformed"))
            }
            defer { WebPAnimDecoderDelete(decoder) }
            var info = WebPAnimInfo()
            guard WebPAnimDecoderGetInfo(decoder, &info) != 0 else { return .failure(MediaError(.corrupt, "WebP animation info")) }
            var animation = Animation(width: Int(info.canvas_width), height: Int(info.canvas_height), frames: [], loopCount: Int(info.loop_count))
            let frameBytes = animation.width * animation.height * 4
            while WebPAnimDecoderHasMoreFrames(decoder) != 0 {
                if cancel.isCancelled { return .failure(MediaError(.cancelled, "stopped")) }
                var frame: UnsafeMutablePointer<UInt8>?
                var timestamp: Int32 = 0
                guard WebPAnimDecoderGetNext(decoder, &frame, &timestamp) != 0, let frame else {
                    return .failure(MediaError(.corrupt, "WebP animation frame \(animation.frames.count + 1) is damaged"))
                }
                let pixels = Pixels(
                    width: animation.width, height: animation.height, channels: 4,
                    bytes: Array(UnsafeBufferPointer(start: frame, count: frameBytes)))
                animation.frames.append((pixels, Int(timestamp)))
            }
            return .success(animation)
        }
        return try result.get()
    }

    /// Encodes a still image (RGB or RGBA; alpha kept when present) at `quality` and `method`, libwebp's
    /// defaults for the rest.
    static func encode(_ pixels: Pixels, quality: Float, method: Int) throws(MediaError) -> [UInt8] {
        try encode(pixels, settings: ImageProfile.WebP(quality: quality, method: method))
    }

    /// The `WebPConfig` for `settings` (lossy), validated by libwebp.
    static func makeConfig(_ settings: ImageProfile.WebP) throws(MediaError) -> WebPConfig {
        var config = WebPConfig()
        guard WebPConfigInit(&config) != 0 else { throw MediaError(.internal, "WebP config") }
        config.quality = settings.quality
        config.method = Int32(settings.method)
        config.sns_strength = Int32(settings.sns)
        config.filter_strength = Int32(settings.filterStrength)
        config.filter_sharpness = Int32(settings.filterSharpness)
        config.segments = Int32(settings.segments)
        config.partitions = Int32(settings.partitions)
        config.pass = Int32(settings.pass)
        config.preprocessing = Int32(settings.preprocessing)
        config.use_sharp_yuv = settings.sharpYUV ? 1 : 0
        // 1: a second thread for the analysis pass and alpha; the output bytes are the same.
        config.thread_level = Int32(settings.threadLevel)
        guard WebPValidateConfig(&config) != 0 else { throw MediaError(.internal, "WebP config is invalid (\(settings))") }
        return config
    }

    /// Encodes a still image (RGB or RGBA; alpha kept when present) with the profile's encoder settings.
    static func encode(_ pixels: Pixels, settings: ImageProfile.WebP) throws(MediaError) -> [UInt8] {
        var config = try makeConfig(settings)
        var picture = WebPPicture()
        guard WebPPictureInit(&picture) != 0 else { throw MediaError(.internal, "WebP picture") }
        picture.width = Int32(pixels.width)
        picture.height = Int32(pixels.height)
        // Lossy: import straight into YUV 4:2:0 (no intermediate ARGB copy; the same conversion). Sharp
        // YUV and dithering (preprocessing 4 and 2) happen only in libwebp's ARGB → YUV step inside
        // WebPEncode, so those keep ARGB.
        picture.use_argb = settings.sharpYUV || settings.preprocessing & 6 != 0 ? 1 : 0
        defer { WebPPictureFree(&picture) }
        let imported = pixels.bytes.withUnsafeBufferPointer {
            pixels.channels == 4
                ? WebPPictureImportRGBA(&picture, $0.baseAddress, Int32(pixels.width * 4))
                : WebPPictureImportRGB(&picture, $0.baseAddress, Int32(pixels.width * 3))
        }
        guard imported != 0 else { throw MediaError(.internal, "WebP import (out of memory)") }
        var writer = WebPMemoryWriter()
        WebPMemoryWriterInit(&writer)
        defer { WebPMemoryWriterClear(&writer) }
        picture.writer = WebPMemoryWrite
        try withUnsafeMutablePointer(to: &writer) { (writerPointer) throws(MediaError) in
            picture.custom_ptr = UnsafeMutableRawPointer(writerPointer)
            guard WebPEncode(&config, &picture) != 0 else {
                throw MediaError(.internal, "WebP encode failed (error \(picture.error_code.rawValue))")
            }
        }
        return Array(UnsafeBufferPointer(start: writer.mem, count: writer.size))
    }

    /// Encodes an animation of full-canvas RGBA frames (timestamps: each frame's start in ms).
    static func encodeAnimation(
        frames: [(pixels: Pixels, startMs: Int)], endMs: Int, loopCount: Int, settings: ImageProfile.WebP, cancel: CancelFlag
    ) throws(MediaError) -> [UInt8] {
        guard let first = frames.first else { throw MediaError(.corrupt, "the animation has no frames") }
        var options = WebPAnimEncoderOptions()
        guard WebPAnimEncoderOptionsInit(&options) != 0 else { throw MediaError(.internal, "WebP animation options") }
        options.anim_params.loop_count = Int32(loopCount)
        guard let encoder = WebPAnimEncoderNew(Int32(first.pixels.width), Int32(first.pixels.height), &options) else {
            throw MediaError(.internal, "WebP animation encoder")
        }
        defer { WebPAnimEncoderDelete(encoder) }
        var config = try makeConfig(settings)
        for frame in frames {
            try cancel.check()
            var picture = WebPPicture()
            guard WebPPictureInit(&picture) != 0 else { throw MediaError(.internal, "WebP picture") }
            picture.width = Int32(frame.pixels.width)
            picture.height = Int32(frame.pixels.height)
            picture.use_argb = 1
            defer { WebPPictureFree(&picture) }
            let imported = frame.pixels.bytes.withUnsafeBufferPointer {
                frame.pixels.channels == 4
                    ? WebPPictureImportRGBA(&picture, $0.baseAddress, Int32(frame.pixels.width * 4))
                    : WebPPictureImportRGB(&picture, $0.baseAddress, Int32(frame.pixels.width * 3))
            }
            guard imported != 0, WebPAnimEncoderAdd(encoder, &picture, Int32(frame.startMs), &config) != 0 else {
                throw MediaError(.internal, "WebP animation frame: \(String(cString: WebPAnimEncoderGetError(encoder)))")
            }
        }
        guard WebPAnimEncoderAdd(encoder, nil, Int32(endMs), nil) != 0 else {
            throw MediaError(.internal, "WebP animation end: \(String(cString: WebPAnimEncoderGetError(encoder)))")
        }
        var output = WebPData()
        guard WebPAnimEncoderAssemble(encoder, &output) != 0 else {
            throw MediaError(.internal, "WebP animation assemble: \(String(cString: WebPAnimEncoderGetError(encoder)))")
        }
        defer { WebPDataClear(&output) }
        return Array(UnsafeBufferPointer(start: output.bytes, count: output.size))
    }

    static var version: String {
        let v = Int(WebPGetEncoderVersion())
        return "\(v >> 16).\((v >> 8) & 0xFF).\(v & 0xFF)"
    }
}

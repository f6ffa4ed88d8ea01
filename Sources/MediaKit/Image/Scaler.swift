internal import CFFmpeg

/// High-quality resizing with libswscale: Lanczos, with accurate rounding and full chroma
/// interpolation (swscale's default flags darken JPEG-sourced output by 1–2 levels). Alpha is
/// premultiplied around the resize so transparent pixels do not bleed dark fringes.
enum Scaler {
    static func resize(_ source: Pixels, width: Int, height: Int) throws(MediaError) -> Pixels {
        guard width != source.width || height != source.height else { return source }
        let translucent = source.hasAlpha && !source.isOpaque
        var input = source
        if translucent || !input.isPadded {
            // Our own copy, with padding for swscale's over-reads (Pixels.readPadding): at most one
            // copy, which premultiplying needs anyway.
            input.bytes.reserveCapacity(input.bytes.count + Pixels.readPadding)
        }
        if translucent { premultiply(&input) }
        let format = source.channels == 4 ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24
        let flags = SWS_LANCZOS | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT
        guard let context = sws_getContext(Int32(source.width), Int32(source.height), format, Int32(width), Int32(height), format, flags, nil, nil, nil)
        else { throw MediaError(.internal, "libswscale cannot scale \(source.width)×\(source.height) to \(width)×\(height)") }
        defer { sws_freeContext(context) }
        var output = Pixels(width: width, height: height, channels: source.channels)
        let scaled = input.bytes.withUnsafeBufferPointer { src in
            output.bytes.withUnsafeMutableBufferPointer { dst in
                var srcPlanes: [UnsafePointer<UInt8>?] = [src.baseAddress, nil, nil, nil]
                var srcStrides: [Int32] = [Int32(source.width * source.channels), 0, 0, 0]
                var dstPlanes: [UnsafeMutablePointer<UInt8>?] = [dst.baseAddress, nil, nil, nil]
                var dstStrides: [Int32] = [Int32(width * source.channels), 0, 0, 0]
                return sws_scale(context, &srcPlanes, &srcStrides, 0, Int32(source.height), &dstPlanes, &dstStrides)
            }
        }
        guard scaled == Int32(height) else { throw MediaError(.internal, "libswscale produced \(scaled) of \(height) rows") }
        if translucent { unpremultiply(&output) }
        return output
    }

    static func premultiply(_ pixels: inout Pixels) {
        pixels.bytes.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i < p.count {
                let a = UInt32(p[i + 3])
                if a != 255 {
                    p[i] = UInt8((UInt32(p[i]) * a + 127) / 255)
                    p[i + 1] = UInt8((UInt32(p[i + 1]) * a + 127) / 255)
                    p[i + 2] = UInt8((UInt32(p[i + 2]) * a + 127) / 255)
                }
                i += 4
            }
        }
    }

    static func unpremultiply(_ pixels: inout Pixels) {
        pixels.bytes.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i < p.count {
                let a = UInt32(p[i + 3])
                if a != 255, a != 0 {
                    p[i] = UInt8(min(255, (UInt32(p[i]) * 255 + a / 2) / a))
                    p[i + 1] = UInt8(min(255, (UInt32(p[i + 1]) * 255 + a / 2) / a))
                    p[i + 2] = UInt8(min(255, (UInt32(p[i + 2]) * 255 + a / 2) / a))
                }
                i += 4
            }
        }
    }

    static var version: String { versionString(swscale_version()) }

    /// FFmpeg's libraries as this process loaded them (libavutil: linked; the others: once a job
    /// has loaded them, MediaLibrary).
    static var ffmpegVersions: [String: String] {
        [
            "libavformat": MediaLibrary.avformat.version(
                loaded: { versionString(avformat_version()) },
                headers: "\(LIBAVFORMAT_VERSION_MAJOR).\(LIBAVFORMAT_VERSION_MINOR).\(LIBAVFORMAT_VERSION_MICRO)"),
            "libavcodec": MediaLibrary.avcodec.version(
                loaded: { versionString(avcodec_version()) },
                headers: "\(LIBAVCODEC_VERSION_MAJOR).\(LIBAVCODEC_VERSION_MINOR).\(LIBAVCODEC_VERSION_MICRO)"),
            "libavutil": versionString(avutil_version()),
            "libswresample": MediaLibrary.swresample.version(
                loaded: { versionString(swresample_version()) },
                headers: "\(LIBSWRESAMPLE_VERSION_MAJOR).\(LIBSWRESAMPLE_VERSION_MINOR).\(LIBSWRESAMPLE_VERSION_MICRO)"),
        ]
    }

    private static func versionString(_ packed: UInt32) -> String {
        let v = Int(packed)
        return "\(v >> 16).\((v >> 8) & 0xFF).\(v & 0xFF)"
    }
}

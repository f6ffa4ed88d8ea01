internal import CFFmpeg

/// Frame-level picture work for the transcoder: conversion to 8-bit BT.709 `yuv420p` at the output
/// size (libswscale), rotation by the display matrix, and RGB copies for posters and samples.
final class FrameConverter {
    private var context: OpaquePointer?
    private let width: Int32
    private let height: Int32
    private let format: AVPixelFormat
    private let flags: Int32

    init(width: Int, height: Int, format: AVPixelFormat, flags: Int32 = SWS_BICUBIC) {
        self.width = Int32(width)
        self.height = Int32(height)
        self.format = format
        self.flags = flags
    }

    deinit { sws_freeContext(context) }

    /// `frame` converted into `output` (allocated by the caller with this converter's size and format).
    /// `sourceMatrix` is the source's YUV matrix (BT.601 sources are converted, not just re-tagged).
    func convert(_ frame: UnsafeMutablePointer<AVFrame>, into output: UnsafeMutablePointer<AVFrame>, sourceMatrix: AVColorSpace, sourceFullRange: Bool)
        throws(MediaError)
    {
        let sourceFormat = AVPixelFormat(frame.pointee.format)
        context = sws_getCachedContext(
            context, frame.pointee.width, frame.pointee.height, sourceFormat, width, height, format, flags, nil, nil, nil)
        guard let context else {
            let name = av_get_pix_fmt_name(sourceFormat).map { String(cString: $0) } ?? "unknown"
            throw MediaError(.unsupported, "cannot convert \(name) pictures")
        }
        let targetIsYUV = format == AV_PIX_FMT_YUV420P
        sws_setColorspaceDetails(
            context, sws_getCoefficients(FrameConverter.swsMatrix(sourceMatrix)), sourceFullRange ? 1 : 0,
            sws_getCoefficients(SWS_CS_ITU709), targetIsYUV ? 0 : 1, 0, 1 << 16, 1 << 16)
        let rows = withUnsafePointer(to: &frame.pointee.data) { src in
            withUnsafePointer(to: &frame.pointee.linesize) { srcStride in
                withUnsafePointer(to: &output.pointee.data) { dst in
                    withUnsafePointer(to: &output.pointee.linesize) { dstStride in
                        src.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { s in
                            dst.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { d in
                                srcStride.withMemoryRebound(to: Int32.self, capacity: 8) { ss in
                                    dstStride.withMemoryRebound(to: Int32.self, capacity: 8) { ds in
                                        sws_scale(context, s, ss, 0, frame.pointee.height, d, ds)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        guard rows == height else { throw MediaError(.internal, "libswscale produced \(rows) of \(height) rows") }
    }

    static func swsMatrix(_ space: AVColorSpace) -> Int32 {
        switch space {
        case AVCOL_SPC_BT709: return SWS_CS_ITU709
        case AVCOL_SPC_FCC: return SWS_CS_FCC
        case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M
        case AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020
        default: return SWS_CS_ITU601
        }
    }

    /// A new frame with its own buffers.
    static func allocate(width: Int, height: Int, format: AVPixelFormat) throws(MediaError) -> Owned<AVFrame> {
        let frame = try Owned.frame()
        frame.pointer.pointee.width = Int32(width)
        frame.pointer.pointee.height = Int32(height)
        frame.pointer.pointee.format = format.rawValue
        guard av_frame_get_buffer(frame.pointer, 0) >= 0 else { throw MediaError(.internal, "out of memory (\(width)×\(height) frame)") }
        return frame
    }

    /// A `yuv420p` frame turned clockwise by `degrees` (90, 180 or 270) into `output`.
    static func rotate(_ frame: UnsafeMutablePointer<AVFrame>, degrees: Int, into output: UnsafeMutablePointer<AVFrame>) {
        for plane in 0..<3 {
            let shift = plane == 0 ? 0 : 1
            let w = Int(frame.pointee.width) >> shift
            let h = Int(frame.pointee.height) >> shift
            let (src, srcStride) = planeOf(frame, plane)
            let (dst, dstStride) = planeOf(output, plane)
            switch degrees {
            case 90:  // dst(x, y) = src(y, h-1-x); dst is h wide, w high
                for y in 0..<w {
                    let row = dst + y * dstStride
                    for x in 0..<h { row[x] = src[(h - 1 - x) * srcStride + y] }
                }
            case 270:  // dst(x, y) = src(w-1-y, x)
                for y in 0..<w {
                    let row = dst + y * dstStride
                    let column = w - 1 - y
                    for x in 0..<h { row[x] = src[x * srcStride + column] }
                }
            default:  // 180
                for y in 0..<h {
                    let row = dst + y * dstStride
                    let source = src + (h - 1 - y) * srcStride
                    for x in 0..<w { row[x] = source[w - 1 - x] }
                }
            }
        }
    }

    private static func planeOf(_ frame: UnsafeMutablePointer<AVFrame>, _ index: Int) -> (UnsafeMutablePointer<UInt8>, Int) {
        let data = withUnsafePointer(to: &frame.pointee.data) {
            $0.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { $0[index]! }
        }
        let stride = withUnsafePointer(to: &frame.pointee.linesize) { $0.withMemoryRebound(to: Int32.self, capacity: 8) { Int($0[index]) } }
        return (data, stride)
    }

    /// An RGB copy of a `yuv420p` BT.709 frame at `width`×`height`, for posters and samples.
    static func pixels(of frame: UnsafeMutablePointer<AVFrame>, width: Int, height: Int) throws(MediaError) -> Pixels {
        try rgb(width: width, height: height).pixels(of: frame)
    }

    /// A converter to RGB stills at `width`×`height`, kept by callers that take many (its libswscale
    /// context is reused while the source's size and format stay the same).
    static func rgb(width: Int, height: Int) -> FrameConverter {
        FrameConverter(width: width, height: height, format: AV_PIX_FMT_RGB24, flags: SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT)
    }

    /// An RGB copy of a `yuv420p` BT.709 frame at this converter's size (its format must be RGB24).
    func pixels(of frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Pixels {
        precondition(format == AV_PIX_FMT_RGB24, "pixels(of:) needs an RGB24 converter")
        let width = Int(self.width)
        let height = Int(self.height)
        let rgb = try FrameConverter.allocate(width: width, height: height, format: AV_PIX_FMT_RGB24)
        try convert(frame, into: rgb.pointer, sourceMatrix: AVCOL_SPC_BT709, sourceFullRange: false)
        var pixels = Pixels(width: width, height: height, channels: 3)
        let (data, stride) = FrameConverter.planeOf(rgb.pointer, 0)
        pixels.bytes.withUnsafeMutableBufferPointer { out in
            for y in 0..<height {
                (out.baseAddress! + y * width * 3).update(from: data + y * stride, count: width * 3)
            }
        }
        return pixels
    }
}

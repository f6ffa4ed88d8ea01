internal import CAVIF
import Foundation

/// AVIF through libavif (an encoder only: AVIF is an output, never an input).
///
/// The picture is 8-bit YUV 4:2:0 in full range, tagged with nclx CICP 1/13/1 (BT.709 primaries,
/// sRGB transfer, BT.709 matrix) so browsers convert it back to the sRGB the pipeline produced.
/// 4:2:0 rather than 4:4:4: it is what the WebP beside it uses (lossy WebP is always 4:2:0), so the
/// two renditions carry the same chroma detail and the byte comparison is fair; 4:4:4 costs ~20–40%
/// more bytes for detail photos downscaled to 2048 px do not show.
enum AVIFCodec {
    /// libavif 0.11 takes quantizers (0 best … 63 worst), not libavif 1.x's `quality` field. The
    /// profile's 0–100 quality maps onto one quantizer the way libavif 1.x maps its `quality`:
    /// `round((100 − quality) × 63 / 100)`, used as both the minimum and the maximum (constant
    /// quality: libaom's end usage Q with that cq-level). Quality 100 is lossless quantization.
    static func quantizer(quality: Int) -> Int32 {
        let q = min(max(quality, 0), 100)
        return Int32(((100 - q) * 63 + 50) / 100)
    }

    /// Encodes a still image (RGB or RGBA; alpha kept, at the same quantizer, when present).
    /// `speed`: libaom's 0 (slowest, smallest) … 10 (fastest). `threads`: 0 for one per core.
    static func encode(_ pixels: Pixels, quality: Int, speed: Int, threads: Int) throws(MediaError) -> [UInt8] {
        guard let image = avifImageCreate(UInt32(pixels.width), UInt32(pixels.height), 8, AVIF_PIXEL_FORMAT_YUV420) else {
            throw MediaError(.internal, "AVIF image (out of memory)")
        }
        defer { avifImageDestroy(image) }
        image.pointee.colorPrimaries = UInt16(AVIF_COLOR_PRIMARIES_BT709)
        image.pointee.transferCharacteristics = UInt16(AVIF_TRANSFER_CHARACTERISTICS_SRGB)
        image.pointee.matrixCoefficients = UInt16(AVIF_MATRIX_COEFFICIENTS_BT709)
        image.pointee.yuvRange = AVIF_RANGE_FULL

        var rgb = avifRGBImage()
        avifRGBImageSetDefaults(&rgb, image)
        rgb.depth = 8
        rgb.format = pixels.channels == 4 ? AVIF_RGB_FORMAT_RGBA : AVIF_RGB_FORMAT_RGB
        rgb.rowBytes = UInt32(pixels.width * pixels.channels)
        // libavif only reads the RGB pixels here (the field is not const in its struct).
        let converted = pixels.bytes.withUnsafeBufferPointer { buffer in
            rgb.pixels = UnsafeMutablePointer(mutating: buffer.baseAddress)
            defer { rgb.pixels = nil }
            return avifImageRGBToYUV(image, &rgb)
        }
        try check(converted, "AVIF colour conversion")

        guard let encoder = avifEncoderCreate() else { throw MediaError(.internal, "AVIF encoder (out of memory)") }
        defer { avifEncoderDestroy(encoder) }
        // libaom by name: the same encoder (and the same bytes) whichever other codecs libavif was built with.
        encoder.pointee.codecChoice = AVIF_CODEC_CHOICE_AOM
        encoder.pointee.maxThreads = Int32(threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount)
        encoder.pointee.speed = Int32(min(max(speed, 0), 10))
        let q = quantizer(quality: quality)
        encoder.pointee.minQuantizer = q
        encoder.pointee.maxQuantizer = q
        encoder.pointee.minQuantizerAlpha = q
        encoder.pointee.maxQuantizerAlpha = q
        var output = avifRWData()
        defer { avifRWDataFree(&output) }
        try check(avifEncoderWrite(encoder, image, &output), "AVIF encode")
        return Array(UnsafeBufferPointer(start: output.data, count: output.size))
    }

    private static func check(_ result: avifResult, _ what: String) throws(MediaError) {
        guard result == AVIF_RESULT_OK else {
            throw MediaError(.internal, "\(what): \(String(cString: avifResultToString(result)))")
        }
    }

    /// The libavif version.
    static var version: String {
        MediaLibrary.avif.version(loaded: { String(cString: avifVersion()) }, headers: "\(AVIF_VERSION_MAJOR).\(AVIF_VERSION_MINOR).\(AVIF_VERSION_PATCH)")
    }

    /// The AV1 encoder libavif picks, e.g. `aom`; nil when it was built without one.
    static var encoderName: String? {
        avifCodecName(AVIF_CODEC_CHOICE_AOM, avifCodecFlags(AVIF_CODEC_FLAG_CAN_ENCODE.rawValue)).map { String(cString: $0) }
    }
}

import CAVIF
import Foundation
import Testing

@testable import MediaKit
@testable import Processor

/// The AVIF rendition: libavif encodes the pipeline's pixels; the test decodes them back with
/// libavif's own decoder (dav1d) and checks size, colour tags and pixel error.
@Suite("AVIF rendition")
struct AVIFTests {
    /// A decoded AVIF: its RGB(A) pixels and the container's facts.
    struct Decoded {
        var width: Int
        var height: Int
        var depth: Int
        var yuvFormat: avifPixelFormat
        var cicp: (primaries: Int, transfer: Int, matrix: Int)
        var fullRange: Bool
        var hasAlpha: Bool
        var rgba: [UInt8]
    }

    static func decode(_ data: [UInt8]) throws -> Decoded {
        let decoder = try #require(avifDecoderCreate())
        defer { avifDecoderDestroy(decoder) }
        let image = try #require(avifImageCreateEmpty())
        defer { avifImageDestroy(image) }
        let result = data.withUnsafeBufferPointer { avifDecoderReadMemory(decoder, image, $0.baseAddress, $0.count) }
        #expect(result == AVIF_RESULT_OK, "\(String(cString: avifResultToString(result)))")
        var rgb = avifRGBImage()
        avifRGBImageSetDefaults(&rgb, image)
        rgb.depth = 8
        rgb.format = AVIF_RGB_FORMAT_RGBA
        avifRGBImageAllocatePixels(&rgb)
        defer { avifRGBImageFreePixels(&rgb) }
        #expect(avifImageYUVToRGB(image, &rgb) == AVIF_RESULT_OK)
        var rgba = [UInt8](repeating: 0, count: Int(rgb.width * rgb.height * 4))
        for row in 0..<Int(rgb.height) {
            let source = UnsafeBufferPointer(start: rgb.pixels + row * Int(rgb.rowBytes), count: Int(rgb.width) * 4)
            rgba.replaceSubrange(row * Int(rgb.width) * 4..<(row + 1) * Int(rgb.width) * 4, with: source)
        }
        let i = image.pointee
        return Decoded(
            width: Int(i.width), height: Int(i.height), depth: Int(i.depth), yuvFormat: i.yuvFormat,
            cicp: (Int(i.colorPrimaries), Int(i.transferCharacteristics), Int(i.matrixCoefficients)), fullRange: i.yuvRange == AVIF_RANGE_FULL,
            hasAlpha: i.alphaPlane != nil, rgba: rgba)
    }

    /// Smooth gradients with a soft disc: what a photo downscaled to 2048 px looks like to a codec.
    static func picture(width: Int, height: Int, channels: Int) -> Pixels {
        var pixels = Pixels(width: width, height: height, channels: channels)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * channels
                let dx = Double(x - width / 2), dy = Double(y - height / 2)
                let disc = max(0, 1 - (dx * dx + dy * dy).squareRoot() / Double(min(width, height) / 2))
                pixels.bytes[i] = UInt8(x * 255 / max(1, width - 1))
                pixels.bytes[i + 1] = UInt8(y * 255 / max(1, height - 1))
                pixels.bytes[i + 2] = UInt8(60 + disc * 180)
                if channels == 4 { pixels.bytes[i + 3] = UInt8(40 + disc * 215) }
            }
        }
        return pixels
    }

    /// Mean absolute error over the channels both images have.
    static func meanError(_ pixels: Pixels, _ rgba: [UInt8], channels: Int) -> Double {
        var total = 0
        for p in 0..<(pixels.width * pixels.height) {
            for c in 0..<channels { total += abs(Int(pixels.bytes[p * pixels.channels + c]) - Int(rgba[p * 4 + c])) }
        }
        return Double(total) / Double(pixels.width * pixels.height * channels)
    }

    @Test("an opaque picture round-trips: its size, 8-bit 4:2:0 full range, CICP 1/13/1, no alpha, small error")
    func opaque() throws {
        let pixels = Self.picture(width: 173, height: 97, channels: 3)  // odd sizes: 4:2:0 chroma rounds up
        let data = try AVIFCodec.encode(pixels, quality: 80, speed: 8, threads: 2)
        #expect(Array(data[4..<12]) == Array("ftypavif".utf8))
        let decoded = try Self.decode(data)
        #expect(decoded.width == 173 && decoded.height == 97 && decoded.depth == 8)
        #expect(decoded.yuvFormat == AVIF_PIXEL_FORMAT_YUV420 && decoded.fullRange)
        #expect(decoded.cicp == (1, 13, 1))
        #expect(!decoded.hasAlpha)
        let error = Self.meanError(pixels, decoded.rgba, channels: 3)
        #expect(error < 2.5, "mean absolute error \(error)")
    }

    @Test("alpha is kept when the source has it")
    func alpha() throws {
        let pixels = Self.picture(width: 64, height: 48, channels: 4)
        let decoded = try Self.decode(try AVIFCodec.encode(pixels, quality: 80, speed: 8, threads: 1))
        #expect(decoded.hasAlpha && decoded.width == 64 && decoded.height == 48)
        var alphaError = 0
        for p in 0..<(64 * 48) { alphaError += abs(Int(pixels.bytes[p * 4 + 3]) - Int(decoded.rgba[p * 4 + 3])) }
        #expect(Double(alphaError) / Double(64 * 48) < 2.5)
        #expect(Self.meanError(pixels, decoded.rgba, channels: 3) < 3)
    }

    @Test("quality maps onto libavif 0.11's quantizers as libavif 1.x maps its quality", arguments: [(100, 0), (0, 63), (60, 25), (85, 9), (50, 32)])
    func quantizer(quality: Int, quantizer: Int32) {
        #expect(AVIFCodec.quantizer(quality: quality) == quantizer)
    }

    @Test("lower quality gives fewer bytes")
    func qualityOrder() throws {
        let pixels = Self.picture(width: 128, height: 96, channels: 3)
        let high = try AVIFCodec.encode(pixels, quality: 90, speed: 8, threads: 1)
        let low = try AVIFCodec.encode(pixels, quality: 30, speed: 8, threads: 1)
        #expect(low.count < high.count)
    }

    @Test("the pipeline writes image.avif beside image.webp only when the profile asks for it")
    func pipeline() throws {
        let jpeg = try JPEGCodec.encode(Self.picture(width: 300, height: 200, channels: 3), quality: 90, progressive: false)
        let off = try ImagePipeline.processBlocking(jpeg, format: .jpeg, profile: ImageProfile(), limits: MediaLimits(), cancel: CancelFlag())
        #expect(off.outputs.map(\.name) == ["image.webp", "thumb.webp"])
        var profile = ImageProfile()
        profile.avif = .init(enabled: true, quality: 60, speed: 9, threads: 1)
        let on = try ImagePipeline.processBlocking(jpeg, format: .jpeg, profile: profile, limits: MediaLimits(), cancel: CancelFlag())
        #expect(on.outputs.map(\.name) == ["image.webp", "image.avif", "thumb.webp"])
        let avif = try #require(on.outputs.first { $0.name == "image.avif" })
        #expect(avif.contentType == "image/avif" && avif.width == 300 && avif.height == 200)
        #expect(on.outputs[0].data == off.outputs[0].data, "the WebP does not change")
        let decoded = try Self.decode(avif.data)
        #expect(decoded.width == 300 && decoded.height == 200)
    }

    @Test("profile: off by default, partial sections keep defaults, out-of-range values are refused")
    func profile() throws {
        #expect(ProcessingProfile().image.avif == .init(enabled: false, quality: 60, speed: 6, threads: 0))
        let partial = try JSONDecoder().decode(ImageProfile.self, from: Data(#"{"avif": {"enabled": true, "speed": 4}}"#.utf8))
        #expect(partial.avif == .init(enabled: true, quality: 60, speed: 4, threads: 0))
        for bad in [#"{"quality": 101}"#, #"{"quality": -1}"#, #"{"speed": 11}"#, #"{"threads": -2}"#] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(ImageProfile.self, from: Data(#"{"avif": \#(bad)}"#.utf8)) }
        }
    }
}

import CWebP
import Foundation
import Testing

@testable import MediaKit

/// The WebP encoder's profile knobs (`image.webp`): the defaults give the bytes libwebp's own simple
/// API gives at the same quality (what the encoder wrote before the knobs existed), and each knob
/// that shapes the bitstream reaches libwebp.
@Suite("WebP encoder settings")
struct WebPCodecTests {
    /// Gradients, a soft disc, hard edges and deterministic noise: enough texture that segments,
    /// noise shaping and the loop filter all have something to decide.
    static func picture(width: Int = 160, height: Int = 112, channels: Int) -> Pixels {
        var pixels = Pixels(width: width, height: height, channels: channels)
        var seed: UInt32 = 0x9E37_79B9
        for y in 0..<height {
            for x in 0..<width {
                seed = seed &* 1_664_525 &+ 1_013_904_223
                let noise = Int(seed >> 27) - 16
                let i = (y * width + x) * channels
                let dx = Double(x - width / 2), dy = Double(y - height / 2)
                let disc = max(0, 1 - (dx * dx + dy * dy).squareRoot() / Double(min(width, height) / 2))
                let stripe = (x / 8 + y / 8) % 2 == 0 ? 40 : 0
                pixels.bytes[i] = UInt8(clamping: x * 200 / width + noise + stripe)
                pixels.bytes[i + 1] = UInt8(clamping: y * 200 / height + noise / 2)
                pixels.bytes[i + 2] = UInt8(clamping: Int(40 + disc * 180) + noise)
                if channels == 4 { pixels.bytes[i + 3] = UInt8(60 + disc * 195) }
            }
        }
        return pixels
    }

    /// libwebp's simple API (`WebPEncodeRGB`/`WebPEncodeRGBA`: the default preset at `quality`,
    /// method 4, imported straight into YUV): the encoder call the pipeline made before the knobs.
    static func simpleAPI(_ pixels: Pixels, quality: Float) throws -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        let count = pixels.bytes.withUnsafeBufferPointer {
            pixels.channels == 4
                ? WebPEncodeRGBA($0.baseAddress, Int32(pixels.width), Int32(pixels.height), Int32(pixels.width * 4), quality, &output)
                : WebPEncodeRGB($0.baseAddress, Int32(pixels.width), Int32(pixels.height), Int32(pixels.width * 3), quality, &output)
        }
        defer { WebPFree(output) }
        let bytes = try #require(output)
        #expect(count > 0)
        return Array(UnsafeBufferPointer(start: bytes, count: count))
    }

    @Test("the default settings give libwebp's default-preset bytes, opaque and translucent", arguments: [3, 4])
    func defaultsUnchanged(channels: Int) throws {
        let pixels = Self.picture(channels: channels)
        let reference = try Self.simpleAPI(pixels, quality: 85)
        #expect(try WebPCodec.encode(pixels, settings: ImageProfile.WebP()) == reference)
        #expect(try WebPCodec.encode(pixels, quality: 85, method: 4) == reference)
        #expect(try WebPCodec.encode(pixels, settings: ImageProfile.WebP(quality: 60)) == Self.simpleAPI(pixels, quality: 60))
    }

    @Test(
        "each bitstream knob changes the output",
        arguments: [
            ("quality", ImageProfile.WebP(quality: 70)), ("method", ImageProfile.WebP(method: 2)), ("sns", ImageProfile.WebP(sns: 0)),
            ("filterStrength", ImageProfile.WebP(filterStrength: 10)), ("filterSharpness", ImageProfile.WebP(filterSharpness: 7)),
            ("segments", ImageProfile.WebP(segments: 1)),
            ("preprocessing: segment smoothing", ImageProfile.WebP(preprocessing: 1)),
            ("preprocessing: dithering", ImageProfile.WebP(preprocessing: 2)), ("sharpYUV", ImageProfile.WebP(sharpYUV: true)),
        ])
    func knobChangesOutput(name: String, settings: ImageProfile.WebP) throws {
        let pixels = Self.picture(channels: 3)
        let changed = try WebPCodec.encode(pixels, settings: settings)
        #expect(changed != (try WebPCodec.encode(pixels, settings: ImageProfile.WebP())), "\(name)")
        #expect(try WebPCodec.decode(changed).width == pixels.width, "\(name): a valid WebP")
    }

    @Test(
        "partitions and pass shape the bitstream at methods 0…2; methods 3…6 buffer their tokens (one partition, one statistics pass)",
        arguments: 0...6)
    func partitionsAndPass(method: Int) throws {
        let pixels = Self.picture(channels: 3)
        let standard = try WebPCodec.encode(pixels, settings: .init(method: method))
        let partitions = try WebPCodec.encode(pixels, settings: .init(method: method, partitions: 2))
        let passes = try WebPCodec.encode(pixels, settings: .init(method: method, pass: 4))
        if method <= 2 {
            #expect(partitions != standard && passes != standard)
        } else {
            #expect(partitions == standard && passes == standard)
        }
    }

    @Test("threadLevel moves work between threads, not bytes")
    func threadLevel() throws {
        let pixels = Self.picture(channels: 3)
        #expect(try WebPCodec.encode(pixels, settings: .init(threadLevel: 0)) == WebPCodec.encode(pixels, settings: .init(threadLevel: 1)))
    }

    @Test("the profile's knobs reach image.webp through the pipeline")
    func pipeline() throws {
        let jpeg = try JPEGCodec.encode(Self.picture(width: 300, height: 200, channels: 3), quality: 90, progressive: false)
        let standard = try ImagePipeline.processBlocking(jpeg, format: .jpeg, profile: ImageProfile(), limits: MediaLimits(), cancel: CancelFlag())
        var profile = ImageProfile()
        profile.webp.sns = 0
        profile.webp.segments = 1
        let tuned = try ImagePipeline.processBlocking(jpeg, format: .jpeg, profile: profile, limits: MediaLimits(), cancel: CancelFlag())
        let before = try #require(standard.outputs.first { $0.name == "image.webp" })
        let after = try #require(tuned.outputs.first { $0.name == "image.webp" })
        #expect(before.data != after.data)
        #expect(standard.outputs.first { $0.name == "thumb.webp" }?.data == tuned.outputs.first { $0.name == "thumb.webp" }?.data, "the thumbnail keeps its own settings")
    }
}

import Foundation
import Testing

@testable import MediaKit

/// libswscale reads a few bytes past the last pixel (fuzzing found a SEGV on a 48×6 WebP whose
/// pixels ended at a page boundary): every decoded image carries `Pixels.readPadding` allocated
/// bytes after its pixels, and the scaler pads an input that lacks them.
@Suite("Pixel buffers and libswscale")
struct PixelPaddingTests {
    static let regression = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz-regressions/swscale-overread.webp")

    @Test("the fuzzer's WebP decodes into a padded buffer and scales")
    func regression() throws {
        let data = [UInt8](try Data(contentsOf: Self.regression))
        let pixels = try WebPCodec.decode(data)
        #expect(pixels.isPadded)
        let small = try Scaler.resize(pixels, width: max(1, pixels.width / 2), height: max(1, pixels.height / 2))
        #expect(small.isPadded && small.bytes.count == small.width * small.height * pixels.channels)
    }

    @Test("an unpadded input (opaque and translucent) scales to the same bytes as a padded one", arguments: [3, 4])
    func unpadded(channels: Int) throws {
        var padded = Pixels(width: 37, height: 5, channels: channels)
        for index in padded.bytes.indices { padded.bytes[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) }
        let exact = padded.bytes.map { $0 }  // a copy allocated for its count only
        let unpadded = Pixels(width: 37, height: 5, channels: channels, bytes: exact)
        #expect(padded.isPadded && !unpadded.isPadded)
        let fromPadded = try Scaler.resize(padded, width: 19, height: 3)
        let fromUnpadded = try Scaler.resize(unpadded, width: 19, height: 3)
        #expect(fromPadded.bytes == fromUnpadded.bytes)
        #expect(unpadded.bytes == exact, "the caller's pixels are not changed")
    }
}

import Foundation
import Testing

@testable import MediaKit

/// ThumbHash (issue 17 item 1): the encoder against vectors derived by hand from the published
/// algorithm, and encode → decode round trips that keep colour and layout.
@Suite("ThumbHash placeholders")
struct ThumbHashTests {
    /// `width`×`height` RGBA where `colour(x, y)` gives each pixel.
    static func image(_ width: Int, _ height: Int, _ colour: (Int, Int) -> (UInt8, UInt8, UInt8, UInt8)) -> [UInt8] {
        var rgba: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                let c = colour(x, y)
                rgba += [c.0, c.1, c.2, c.3]
            }
        }
        return rgba
    }

    /// The pixel at (x, y) of decoded RGBA.
    static func pixel(_ decoded: (width: Int, height: Int, rgba: [UInt8]), _ x: Int, _ y: Int) -> [Int] {
        let i = (y * decoded.width + x) * 4
        return decoded.rgba[i..<(i + 4)].map(Int.init)
    }

    /// Pure red, square, opaque: L = 1/3 → 21/63; P = (r+g)/2 − b = 0.5 → round(31.5 + 15.75) = 47;
    /// Q = r − g = 1 → 63; no AC energy (scales quantise to 0); 7 luminance terms across, not landscape.
    /// header24 = 21 | 47<<6 | 63<<12 = 0x03FBD5, header16 = 7.
    @Test("a uniform red square: the hand-derived header bytes, and it decodes to red")
    func uniformVector() throws {
        let rgba = Self.image(8, 8) { _, _ in (255, 0, 0, 255) }
        let (hash, average) = ThumbHash.encode(width: 8, height: 8, rgba: rgba)
        #expect(Array(hash.prefix(5)) == [0xD5, 0xFB, 0x03, 0x07, 0x00])
        #expect(hash.count == 5 + (27 + 5 + 5 + 1) / 2)  // L: 7×7 triangle less DC = 27 terms; P, Q: 5 each
        #expect(average.r == 1 && average.g == 0 && average.b == 0)
        let decoded = try #require(ThumbHash.decode(hash))
        #expect(decoded.width == 32 && decoded.height == 32)
        for (x, y) in [(0, 0), (16, 16), (31, 31)] {
            let p = Self.pixel(decoded, x, y)
            #expect(p[0] >= 250 && p[1] <= 5 && p[2] <= 5 && p[3] == 255, "\(p)")
        }
        let averageRGBA = try #require(ThumbHash.averageRGBA(hash))
        #expect(abs(averageRGBA.r - 1) < 0.01 && averageRGBA.g < 0.01 && averageRGBA.b < 0.01 && averageRGBA.a == 1)
    }

    /// 2×1, left red, right blue, by hand. Across w = 2 the cosines cos(π/2·cx·(x+½)) are ±0.7071 for
    /// odd cx, 0 for cx = 2 and 6, −1 at both pixels for cx = 4; down h = 1, cos(π·cy/2) is 1, 0, −1, 0
    /// for cy = 0…3 (the low frequencies alias on so small a picture, as in the reference).
    /// - L is 1/3 at both pixels: DC 1/3 → 21; AC −1/3 at (4,0) and (0,2), 0 elsewhere → scale 1/3 →
    ///   round(31/3) = 10; those two normalise to 0 (nibble 0).
    /// - P = (r+g)/2 − b: 0.5, −1 → DC −0.25 → round(31.5 − 7.875) = 24; (1,0) = (0.5·0.7071 + 0.7071)/2 =
    ///   0.5303 = the scale → round(63·0.5303) = 33, nibble 15; (0,2) = (−0.5 + 1)/2 = 0.25 →
    ///   0.5 + 0.5·0.25/0.5303 = 0.736 → nibble round(11.04) = 11.
    /// - Q = r − g: 1, 0 → DC 0.5 → round(47.25) = 47; (1,0) = 0.3536, (0,2) = −0.5 = the scale →
    ///   round(31.5) = 32; nibbles round(15·0.8536) = 13 and 0.
    /// - Landscape, ly = round(7·1/2) = 4. header24 = 21 | 24<<6 | 47<<12 | 10<<18 = 0x2AF615;
    ///   header16 = 4 | 33<<3 | 32<<9 | 1<<15 = 0xC10C.
    /// - Terms: L 7×4 → 18 AC ((4,0) is nibble 3, (0,2) nibble 12), P nibbles 18–22 ((1,0) 18,
    ///   (0,2) 22), Q 23–27: 28 nibbles, 14 bytes after the header. Nibble i sits in byte 5 + i/2, low
    ///   when i is even. (The zero terms' nibbles, 7 or 8, hang on the last bit of cos and are not checked.)
    @Test("left red, right blue: the hand-derived vector, and the layout survives decoding")
    func twoColourVector() throws {
        let rgba = Self.image(2, 1) { x, _ in x == 0 ? (255, 0, 0, 255) : (0, 0, 255, 255) }
        let (hash, _) = ThumbHash.encode(width: 2, height: 1, rgba: rgba)
        #expect(Array(hash.prefix(5)) == [0x15, 0xF6, 0x2A, 0x0C, 0xC1])
        #expect(hash.count == 19)
        func nibble(_ i: Int) -> UInt8 { hash[5 + i / 2] >> (i % 2 == 0 ? 0 : 4) & 15 }
        #expect([nibble(3), nibble(12)] == [0, 0])  // L
        #expect([nibble(18), nibble(22)] == [15, 11])  // P
        #expect([nibble(23), nibble(27)] == [13, 0])  // Q
        #expect(ThumbHash.approximateAspectRatio(hash) == 7.0 / 4.0)
        let decoded = try #require(ThumbHash.decode(hash))
        #expect(decoded.width == 32 && decoded.height == 18)
        let left = Self.pixel(decoded, 2, 9), right = Self.pixel(decoded, 29, 9)
        #expect(left[0] > left[2] + 100, "left \(left)")
        #expect(right[2] > right[0] + 100, "right \(right)")
    }

    @Test("round trips: uniform colours come back within tolerance", arguments: [(30, 200, 30), (128, 128, 128), (12, 40, 220), (250, 240, 10)])
    func uniformRoundTrip(colour: (Int, Int, Int)) throws {
        let rgba = Self.image(40, 30) { _, _ in (UInt8(colour.0), UInt8(colour.1), UInt8(colour.2), 255) }
        let (hash, average) = ThumbHash.encode(width: 40, height: 30, rgba: rgba)
        #expect(ThumbHash.hex(average) == String(format: "#%02x%02x%02x", colour.0, colour.1, colour.2))
        let decoded = try #require(ThumbHash.decode(hash))
        #expect(decoded.width == 32 && decoded.height == 23)  // 7/5 landscape: 32 × round(32 / 1.4)
        for (x, y) in [(0, 0), (16, 12), (31, 22)] {
            let p = Self.pixel(decoded, x, y)
            // The DC terms are quantised to 6 bits (L in 1/63, P and Q in 1/31.5 steps): a few levels off.
            for (got, want) in zip(p.prefix(3), [colour.0, colour.1, colour.2]) { #expect(abs(got - want) <= 10, "\(p) for \(colour)") }
        }
    }

    @Test("round trip: quadrants keep their places; transparency survives")
    func layoutAndAlpha() throws {
        // Red, green / blue, yellow (as the interop tests' quadrants()).
        let rgba = Self.image(60, 60) { x, y in
            switch (x < 30, y < 30) {
            case (true, true): (220, 30, 30, 255)
            case (false, true): (30, 200, 30, 255)
            case (true, false): (30, 30, 220, 255)
            case (false, false): (230, 220, 30, 255)
            }
        }
        let decoded = try #require(ThumbHash.decode(ThumbHash.encode(width: 60, height: 60, rgba: rgba).hash))
        let tl = Self.pixel(decoded, 4, 4), tr = Self.pixel(decoded, 27, 4), bl = Self.pixel(decoded, 4, 27), br = Self.pixel(decoded, 27, 27)
        #expect(tl[0] > tl[1] && tl[0] > tl[2], "top left \(tl)")
        #expect(tr[1] > tr[0] && tr[1] > tr[2], "top right \(tr)")
        #expect(bl[2] > bl[0] && bl[2] > bl[1], "bottom left \(bl)")
        #expect(br[0] > br[2] + 60 && br[1] > br[2] + 60, "bottom right \(br)")

        // Left half opaque, right half transparent: alpha is coded, and decodes high left, low right.
        let half = Self.image(40, 40) { x, _ in x < 20 ? (0, 0, 255, 255) : (0, 0, 0, 0) }
        let hash = ThumbHash.encode(width: 40, height: 40, rgba: half).hash
        #expect(hash[2] & 0x80 != 0)
        let alpha = try #require(ThumbHash.decode(hash))
        #expect(Self.pixel(alpha, 3, 16)[3] > 200 && Self.pixel(alpha, 28, 16)[3] < 60)
        #expect(Self.pixel(alpha, 3, 16)[2] > 200)
    }

    @Test("placeholder(of:) scales into 100×100 and reports base64 and #rrggbb")
    func placeholderOfPixels() throws {
        var pixels = Pixels(width: 640, height: 200, channels: 3)
        for i in 0..<(640 * 200) { pixels.bytes[i * 3 + 1] = 200 }  // green
        let placeholder = try ThumbHash.placeholder(of: pixels)
        #expect(["#00c700", "#00c800", "#00c900"].contains(placeholder.averageColor), "\(placeholder.averageColor)")
        let bytes = try #require(Data(base64Encoded: placeholder.hash))
        #expect(bytes.count >= 5 && bytes.count <= 25)
        let ratio = try #require(ThumbHash.approximateAspectRatio([UInt8](bytes)))
        #expect(ratio > 2)  // 640/200 = 3.2 coded as 7/2 or 7/3
    }

    @Test("malformed hashes decode to nil, never trap")
    func malformed() {
        #expect(ThumbHash.decode([]) == nil)
        #expect(ThumbHash.decode([0x15, 0xF6, 0x02]) == nil)
        #expect(ThumbHash.decode([0x15, 0xF6, 0x02, 0x0C, 0xAD, 0x00]) == nil)  // its factors are missing
        #expect(ThumbHash.averageRGBA([1, 2]) == nil)
    }
}

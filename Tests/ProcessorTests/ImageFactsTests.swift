import Foundation
import Testing

@testable import MediaKit

/// The source facts of images (issue 17 item 1): EXIF written here byte by byte (a little-endian
/// TIFF with IFD0, the Exif IFD and a GPS IFD) into JPEGs and PNGs made with the pipeline's own
/// encoders, run through the whole image pipeline.
@Suite("Image facts from headers and EXIF")
struct ImageFactsTests {
    // MARK: A TIFF/EXIF writer

    /// One IFD entry: tag, TIFF type (1 BYTE, 2 ASCII, 3 SHORT, 4 LONG, 5 RATIONAL), count, value bytes (little-endian).
    struct Entry {
        var tag: UInt16, type: UInt16, count: Int, value: [UInt8]
        static func ascii(_ tag: UInt16, _ text: String) -> Entry {
            let bytes = Array(text.utf8) + [0]
            return Entry(tag: tag, type: 2, count: bytes.count, value: bytes)
        }
        static func short(_ tag: UInt16, _ v: UInt16) -> Entry { Entry(tag: tag, type: 3, count: 1, value: le16(v)) }
        static func long(_ tag: UInt16, _ v: Int) -> Entry { Entry(tag: tag, type: 4, count: 1, value: le32(v)) }
        static func rationals(_ tag: UInt16, _ values: [(Int, Int)]) -> Entry {
            Entry(tag: tag, type: 5, count: values.count, value: values.flatMap { le32($0.0) + le32($0.1) })
        }
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }

    static func size(_ entries: [Entry]) -> Int {
        2 + 12 * entries.count + 4 + entries.reduce(0) { $0 + ($1.value.count > 4 ? ($1.value.count + 1) & ~1 : 0) }
    }

    /// An IFD placed at `offset` of the TIFF, its out-of-line values right after it.
    static func ifd(_ entries: [Entry], at offset: Int) -> [UInt8] {
        var table = le16(UInt16(entries.count))
        var extra: [UInt8] = []
        let dataStart = offset + 2 + 12 * entries.count + 4
        for entry in entries.sorted(by: { $0.tag < $1.tag }) {
            table += le16(entry.tag) + le16(entry.type) + le32(entry.count)
            if entry.value.count <= 4 {
                table += entry.value + [UInt8](repeating: 0, count: 4 - entry.value.count)
            } else {
                table += le32(dataStart + extra.count)
                extra += entry.value
                if extra.count % 2 == 1 { extra.append(0) }
            }
        }
        return table + le32(0) + extra
    }

    /// A TIFF block with IFD0 (`main`), an Exif IFD and, when `gps`, a GPS IFD with a position.
    static func tiff(main: [Entry], exif: [Entry], gps: Bool) -> [UInt8] {
        let gpsEntries: [Entry] = [
            Entry(tag: 0x0000, type: 1, count: 4, value: [2, 3, 0, 0]), .ascii(0x0001, "N"),
            .rationals(0x0002, [(48, 1), (51, 1), (2400, 100)]), .ascii(0x0003, "E"), .rationals(0x0004, [(2, 1), (21, 1), (700, 100)]),
        ]
        let pointerCount = 1 + (gps ? 1 : 0)
        let mainSize = size(main + Array(repeating: Entry.long(0, 0), count: pointerCount))
        let exifOffset = 8 + mainSize
        let gpsOffset = exifOffset + size(exif)
        var ifd0 = main + [.long(0x8769, exifOffset)]
        if gps { ifd0.append(.long(0x8825, gpsOffset)) }
        var out: [UInt8] = [0x49, 0x49, 0x2A, 0x00] + le32(8)
        out += ifd(ifd0, at: 8)
        out += ifd(exif, at: exifOffset)
        if gps { out += ifd(gpsEntries, at: gpsOffset) }
        return out
    }

    /// The facts a phone would write: make, model, capture time with offset, orientation, GPS.
    static func phoneEXIF(orientation: UInt16 = 6, gps: Bool = true) -> [UInt8] {
        tiff(
            main: [.ascii(0x010F, "TestMake"), .ascii(0x0110, "Model X 100"), .short(0x0112, orientation)],
            exif: [.ascii(0x9003, "2024:05:01 12:34:56"), .ascii(0x9011, "+02:00")], gps: gps)
    }

    /// A JPEG of `width`×`height` (left half red, right half blue) with `exif` in an APP1 right after SOI.
    static func jpeg(width: Int, height: Int, exif: [UInt8]?) throws -> [UInt8] {
        var pixels = Pixels(width: width, height: height, channels: 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                if x < width / 2 { pixels.bytes[i] = 220 } else { pixels.bytes[i + 2] = 220 }
            }
        }
        let plain = try JPEGCodec.encode(pixels, quality: 90, progressive: false)
        guard let exif else { return plain }
        let payload = Array("Exif".utf8) + [0, 0] + exif
        let length = payload.count + 2
        return [0xFF, 0xD8, 0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload + plain.dropFirst(2)
    }

    /// The JPEG's marker segments before the scan (APPn, DQT, …).
    static func markers(_ jpeg: [UInt8]) -> [UInt8] {
        var found: [UInt8] = []
        var i = 2
        while i + 4 <= jpeg.count, jpeg[i] == 0xFF {
            let marker = jpeg[i + 1]
            found.append(marker)
            if marker == 0xDA { break }
            i += 2 + (Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3]))
        }
        return found
    }

    static func run(_ data: [UInt8], _ format: ImageFormat, profile: ImageProfile = ImageProfile(jpeg: .init())) throws -> ImageResult {
        try ImagePipeline.processBlocking(data, format: format, profile: profile, limits: MediaLimits(), cancel: CancelFlag())
    }

    // MARK: Tests

    @Test("a phone JPEG: make, model, capture time with offset, orientation 6 applied, GPS removed")
    func phoneJPEG() throws {
        let data = try Self.jpeg(width: 64, height: 32, exif: Self.phoneEXIF())
        let result = try Self.run(data, .jpeg)
        let facts = result.facts
        #expect(facts.format == "jpeg")
        #expect((facts.width, facts.height) == (32, 64))  // displayed: turned a quarter
        #expect(facts.orientation == 6 && facts.orientationApplied)
        #expect(facts.cameraMake == "TestMake" && facts.cameraModel == "Model X 100")
        #expect(facts.captureTime == "2024-05-01T12:34:56+02:00")
        #expect(facts.locationRemoved)
        #expect(facts.colorSpace == "sRGB" && !facts.iccConverted && facts.bitDepth == 8 && facts.frameCount == 1)
        #expect(facts.durationSeconds == nil)
        // The outputs carry no metadata at all: no APP1 (EXIF/XMP) in the JPEG, no EXIF/XMP chunk in the WebPs.
        let outputs = Dictionary(uniqueKeysWithValues: result.outputs.map { ($0.name, $0) })
        let jpg = try #require(outputs["image.jpg"])
        #expect(!Self.markers(jpg.data).contains(0xE1), "\(Self.markers(jpg.data))")
        for name in ["image.webp", "thumb.webp"] {
            let webp = try #require(outputs[name]).data
            #expect(EXIF.block(in: webp, format: .webp) == nil)
            #expect(!String(decoding: webp.prefix(64), as: UTF8.self).contains("XMP"))
        }
        #expect((outputs["image.webp"]?.width, outputs["image.webp"]?.height) == (32, 64))
        // Every picture output has the same placeholder; its layout is the turned picture's (portrait).
        let placeholder = try #require(outputs["image.webp"]?.placeholder)
        #expect(outputs["image.jpg"]?.placeholder == placeholder && outputs["thumb.webp"]?.placeholder == placeholder)
        let hash = [UInt8](try #require(Data(base64Encoded: placeholder.hash)))
        #expect(try #require(ThumbHash.approximateAspectRatio(hash)) < 1)
    }

    @Test("without EXIF: orientation 1 not applied, no capture facts, nothing removed")
    func plainJPEG() throws {
        let facts = try Self.run(try Self.jpeg(width: 48, height: 32, exif: nil), .jpeg).facts
        #expect(facts == ImageFacts(format: "jpeg", width: 48, height: 32))
    }

    @Test("EXIF without GPS, orientation 1: facts kept, locationRemoved false")
    func noGPS() throws {
        let facts = try Self.run(try Self.jpeg(width: 48, height: 32, exif: Self.phoneEXIF(orientation: 1, gps: false)), .jpeg).facts
        #expect(!facts.locationRemoved && facts.orientation == 1 && !facts.orientationApplied)
        #expect((facts.width, facts.height) == (48, 32) && facts.cameraMake == "TestMake")
    }

    @Test("a PNG's eXIf chunk is read too")
    func pngEXIF() throws {
        var pixels = Pixels(width: 20, height: 10, channels: 3)
        for i in 0..<(20 * 10 * 3) { pixels.bytes[i] = 90 }
        let png = try PNGCodec.encode(pixels)
        // eXIf before IEND (the last 12 bytes), with its CRC.
        let exif = Self.phoneEXIF()
        let body = Array("eXIf".utf8) + exif
        let chunk = Self.be32(exif.count) + body + Self.be32(Int(Self.crc32(body)))
        let data = Array(png.dropLast(12)) + chunk + Array(png.suffix(12))
        let facts = try Self.run(data, .png).facts
        #expect(facts.format == "png" && facts.bitDepth == 8)
        #expect(facts.cameraModel == "Model X 100" && facts.locationRemoved && facts.captureTime == "2024-05-01T12:34:56+02:00")
        // The pipeline turns only JPEG pixels for EXIF: reported, not applied.
        #expect(facts.orientation == 6 && !facts.orientationApplied && (facts.width, facts.height) == (20, 10))
    }

    @Test("capture times: ISO 8601, blank or zero dates dropped, bad offsets ignored")
    func captureTimes() {
        #expect(EXIF.captureTime("2024:05:01 12:34:56", offset: nil) == "2024-05-01T12:34:56")
        #expect(EXIF.captureTime("2024:05:01 12:34:56", offset: "-07:30") == "2024-05-01T12:34:56-07:30")
        #expect(EXIF.captureTime("2024:05:01 12:34:56", offset: "junk!!") == "2024-05-01T12:34:56")
        #expect(EXIF.captureTime("0000:00:00 00:00:00", offset: nil) == nil)
        #expect(EXIF.captureTime("    :  :     :  :  ", offset: nil) == nil)
        #expect(EXIF.captureTime("2024-05-01", offset: nil) == nil)
    }

    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

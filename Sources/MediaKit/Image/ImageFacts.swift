internal import CMediaShims
import Foundation

/// What a source image is, for the status document's `media`: read from its header and EXIF while the
/// pipeline runs. GPS values are never read; only whether the source had any (the outputs never carry
/// metadata, so such a location is always removed).
public struct ImageFacts: Sendable, Codable, Equatable {
    /// `jpeg`, `png`, `webp`, `gif` or `heif`.
    public var format: String
    /// The displayed size (after the EXIF orientation).
    public var width: Int
    public var height: Int
    /// The EXIF orientation (1…8; 1 when the source has none). Reported for every format.
    public var orientation: Int
    /// True when the pixels were turned or mirrored for it (JPEG: orientation 2…8; HEIF: libheif applies
    /// the container's rotation and mirroring, which the EXIF orientation mirrors).
    public var orientationApplied: Bool
    /// The embedded ICC profile's description (JPEG and HEIF), or `sRGB` when there is none.
    public var colorSpace: String
    /// True when the pixels were converted from that profile to sRGB.
    public var iccConverted: Bool
    /// Bits per sample of the source (PNG 1…16, HEIF's luma depth, 8 for JPEG, WebP and GIF).
    public var bitDepth: Int
    /// Frames (1 for a still; animated GIF and WebP count theirs).
    public var frameCount: Int
    /// Seconds, for animations.
    public var durationSeconds: Double?
    /// EXIF DateTimeOriginal as ISO 8601 local time (`2024-05-01T12:34:56`), with OffsetTimeOriginal
    /// appended when the source has it (`…+02:00`).
    public var captureTime: String?
    public var cameraMake: String?
    public var cameraModel: String?
    /// True when the source carried GPS tags (the outputs carry none).
    public var locationRemoved: Bool

    public init(
        format: String, width: Int, height: Int, orientation: Int = 1, orientationApplied: Bool = false, colorSpace: String = "sRGB",
        iccConverted: Bool = false, bitDepth: Int = 8, frameCount: Int = 1, durationSeconds: Double? = nil, captureTime: String? = nil,
        cameraMake: String? = nil, cameraModel: String? = nil, locationRemoved: Bool = false
    ) {
        self.format = format
        self.width = width
        self.height = height
        self.orientation = orientation
        self.orientationApplied = orientationApplied
        self.colorSpace = colorSpace
        self.iccConverted = iccConverted
        self.bitDepth = bitDepth
        self.frameCount = frameCount
        self.durationSeconds = durationSeconds
        self.captureTime = captureTime
        self.cameraMake = cameraMake
        self.cameraModel = cameraModel
        self.locationRemoved = locationRemoved
    }

    /// Copies the EXIF facts in.
    mutating func apply(_ exif: EXIF.Facts) {
        orientation = exif.orientation  // only JPEG pixels are turned for it (`orientationApplied`)
        captureTime = exif.captureTime
        cameraMake = exif.make
        cameraModel = exif.model
        locationRemoved = exif.hasGPS
    }
}

extension EXIF {
    /// What the status reports from EXIF.
    struct Facts: Equatable {
        var orientation = 1
        var captureTime: String?
        var make: String?
        var model: String?
        var hasGPS = false
    }

    /// The facts in JPEG data (APP1) or an EXIF block (with or without its `Exif\0\0` header).
    static func facts(_ data: [UInt8]) -> Facts {
        var block = data
        let header: [UInt8] = Array("Exif".utf8) + [0, 0]
        let isTIFF = data.starts(with: [0x49, 0x49, 0x2A, 0x00]) || data.starts(with: [0x4D, 0x4D, 0x00, 0x2A])
        if isTIFF { block = header + data }
        var raw = mp_exif_facts()
        _ = block.withUnsafeBufferPointer { mp_exif_read_facts($0.baseAddress, $0.count, &raw) }
        var facts = Facts()
        facts.orientation = Int(raw.orientation)
        facts.hasGPS = raw.has_gps != 0
        facts.make = text(raw.make)
        facts.model = text(raw.model)
        facts.captureTime = captureTime(text(raw.date_time_original), offset: text(raw.offset_time_original))
        return facts
    }

    /// A C string field as trimmed printable ASCII, nil when empty.
    static func text<T>(_ field: T) -> String? {
        var copy = field
        let bytes = withUnsafeBytes(of: &copy) { Array($0.prefix { $0 != 0 }) }
        let printable = String(decoding: bytes.filter { $0 >= 0x20 && $0 < 0x7F }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        return printable.isEmpty ? nil : printable
    }

    /// `YYYY:MM:DD HH:MM:SS` (+ `±HH:MM`) as ISO 8601; nil when it is not a real date (EXIF writers
    /// fill unknown dates with zeros or blanks).
    static func captureTime(_ value: String?, offset: String?) -> String? {
        guard let value else { return nil }
        let digits = Array(value.utf8)
        guard digits.count >= 19 else { return nil }
        let shape = Array("dddd:dd:dd dd:dd:dd".utf8)
        for (c, s) in zip(digits.prefix(19), shape) {
            if s == UInt8(ascii: "d") ? !(0x30...0x39).contains(c) : c != s { return nil }
        }
        let s = String(decoding: digits.prefix(19), as: UTF8.self)
        let fields = s.split(whereSeparator: { $0 == ":" || $0 == " " }).compactMap { Int($0) }
        guard fields.count == 6, fields[0] > 0, (1...12).contains(fields[1]), (1...31).contains(fields[2]), fields[3] < 24, fields[4] < 60,
            fields[5] < 61
        else { return nil }
        var iso = String(s.prefix(10)).replacingOccurrences(of: ":", with: "-") + "T" + s.suffix(8)
        if let offset, offset.utf8.count == 6, let sign = offset.first, sign == "+" || sign == "-",
            offset.dropFirst().enumerated().allSatisfy({ $0.offset == 2 ? $0.element == ":" : $0.element.isASCII && $0.element.isNumber })
        {
            iso += offset
        }
        return iso
    }

    /// The EXIF block of a PNG (`eXIf` chunk) or WebP (`EXIF` chunk), walking chunk headers only.
    static func block(in data: [UInt8], format: ImageFormat) -> [UInt8]? {
        switch format {
        case .png:
            var offset = 8
            while offset + 12 <= data.count {
                let length = Int(data[offset]) << 24 | Int(data[offset + 1]) << 16 | Int(data[offset + 2]) << 8 | Int(data[offset + 3])
                let type = String(decoding: data[(offset + 4)..<(offset + 8)], as: UTF8.self)
                let start = offset + 8
                guard length >= 0, length <= data.count - start else { return nil }
                if type == "eXIf" { return Array(data[start..<(start + length)]) }
                if type == "IEND" { return nil }
                offset = start + length + 4
            }
            return nil
        case .webp:
            var offset = 12
            while offset + 8 <= data.count {
                let type = String(decoding: data[offset..<(offset + 4)], as: UTF8.self)
                let length = Int(data[offset + 4]) | Int(data[offset + 5]) << 8 | Int(data[offset + 6]) << 16 | Int(data[offset + 7]) << 24
                let start = offset + 8
                guard length <= data.count - start else { return nil }
                if type == "EXIF" { return Array(data[start..<(start + length)]) }
                offset = start + length + (length & 1)
            }
            return nil
        case .jpeg, .gif, .heif:
            return nil
        }
    }
}

/// A media type the pipeline accepts, decided from the first bytes of the content (never from the
/// declared `Content-Type` or the file name).
struct MediaType: Sendable, Equatable {
    /// The kind of processing the file gets.
    enum Kind: String, Sendable { case image, video }

    /// `image/jpeg`, `video/mp4`, …: stored as the blob's `Content-Type` and in the job.
    let mime: String
    /// The extension of the generated blob name.
    let fileExtension: String
    let kind: Kind

    static let jpeg = MediaType(mime: "image/jpeg", fileExtension: "jpg", kind: .image)
    static let png = MediaType(mime: "image/png", fileExtension: "png", kind: .image)
    static let webp = MediaType(mime: "image/webp", fileExtension: "webp", kind: .image)
    static let gif = MediaType(mime: "image/gif", fileExtension: "gif", kind: .image)
    static let heic = MediaType(mime: "image/heic", fileExtension: "heic", kind: .image)
    static let heif = MediaType(mime: "image/heif", fileExtension: "heif", kind: .image)
    static let mp4 = MediaType(mime: "video/mp4", fileExtension: "mp4", kind: .video)
    static let m4v = MediaType(mime: "video/x-m4v", fileExtension: "m4v", kind: .video)
    static let quicktime = MediaType(mime: "video/quicktime", fileExtension: "mov", kind: .video)
    static let webm = MediaType(mime: "video/webm", fileExtension: "webm", kind: .video)
    static let matroska = MediaType(mime: "video/x-matroska", fileExtension: "mkv", kind: .video)
    static let avi = MediaType(mime: "video/x-msvideo", fileExtension: "avi", kind: .video)

    /// Bytes `sniff` wants to see (fewer is fine when the whole content is shorter).
    static let sniffLength = 64

    /// Decides the type from the first bytes, or nil when it is none the pipeline accepts.
    ///
    /// Signatures: JPEG `FF D8 FF`; PNG's 8-byte signature; `RIFF….WEBP` and `RIFF….AVI `; `GIF87a`
    /// / `GIF89a`; ISO BMFF `….ftyp` with the major brand (and, for unknown major brands, the
    /// compatible brands) deciding HEIC/HEIF/AVIF, QuickTime, M4V or MP4; EBML `1A 45 DF A3` with the
    /// DocType element deciding WebM or Matroska.
    static func sniff(_ bytes: some Collection<UInt8>) -> MediaType? {
        let b = Array(bytes.prefix(sniffLength))
        func starts(_ signature: [UInt8], at offset: Int = 0) -> Bool {
            b.count >= offset + signature.count && Array(b[offset..<offset + signature.count]) == signature
        }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("RIFF".utf8)) {
            if starts(Array("WEBPVP8".utf8), at: 8) { return .webp }
            if starts(Array("AVI ".utf8), at: 8) { return .avi }
            return nil
        }
        if starts(Array("ftyp".utf8), at: 4) { return isoMedia(b) }
        if starts([0x1A, 0x45, 0xDF, 0xA3]) { return ebml(b) }
        return nil
    }

    /// ISO base media (`ftyp` box): the brands say which family the file belongs to.
    private static func isoMedia(_ b: [UInt8]) -> MediaType? {
        guard b.count >= 12 else { return nil }
        let boxSize = Int(b[0]) << 24 | Int(b[1]) << 16 | Int(b[2]) << 8 | Int(b[3])
        func brand(at offset: Int) -> String? {
            guard offset + 4 <= b.count else { return nil }
            return String(decoding: b[offset..<offset + 4], as: UTF8.self)
        }
        var brands: [String] = []
        if let major = brand(at: 8) { brands.append(major) }
        var offset = 16  // after major brand and minor version
        while offset + 4 <= min(b.count, max(boxSize, 16)) {
            if let compatible = brand(at: offset) { brands.append(compatible) }
            offset += 4
        }
        // HEIC's brands win wherever they are listed (iPhones write `mif1` first, then `heic`).
        if brands.contains(where: { ["heic", "heix", "heim", "heis", "hevc", "hevx"].contains($0) }) { return .heic }
        for brand in brands {
            switch brand {
            // AVIF shares HEIF's container but is not on the allowlist.
            case "avif", "avis": return nil
            case "mif1", "msf1", "heif": return brands.contains("avif") || brands.contains("avis") ? nil : .heif
            case "qt  ": return .quicktime
            case "M4V ", "M4VH", "M4VP": return .m4v
            case "isom", "iso2", "iso3", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "dash", "MSNV", "3gp4", "3gp5", "3gp6", "3g2a", "f4v ", "mmp4":
                return .mp4
            default: continue
            }
        }
        return nil
    }

    /// EBML (Matroska family): find the DocType element (ID `42 82`) in the header.
    private static func ebml(_ b: [UInt8]) -> MediaType? {
        var i = 4
        while i + 2 < b.count {
            if b[i] == 0x42, b[i + 1] == 0x82 {
                // One-byte size VINT (0x80 | length) is what every muxer writes for the DocType.
                let sizeByte = b[i + 2]
                guard sizeByte & 0x80 != 0 else { return nil }
                let length = Int(sizeByte & 0x7F)
                let start = i + 3
                guard start + length <= b.count else { return nil }
                switch String(decoding: b[start..<start + length], as: UTF8.self) {
                case "webm": return .webm
                case "matroska": return .matroska
                default: return nil
                }
            }
            i += 1
        }
        return nil
    }
}

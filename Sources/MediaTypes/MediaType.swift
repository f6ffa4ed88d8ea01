/// A media type, decided from the first bytes of the content (never from the declared
/// `Content-Type` or the file name). The one sniffer of the pipeline: the uploader refuses what it
/// does not accept and the processor decides the decoder with it, so the two never disagree.
public struct MediaType: Sendable, Equatable, CustomStringConvertible {
    /// The kind of processing the file gets: the image pipeline, the video pipeline (which hands an
    /// MP4 or Matroska file with no video stream to the audio pipeline) or the audio pipeline.
    public enum Kind: String, Sendable { case image, video, audio }

    /// `image/jpeg`, `video/mp4`, …: stored as the blob's `Content-Type` and in the job.
    public let mime: String
    /// The extension of the generated blob name.
    public let fileExtension: String
    public let kind: Kind

    public var description: String { mime }

    public static let jpeg = MediaType(mime: "image/jpeg", fileExtension: "jpg", kind: .image)
    public static let png = MediaType(mime: "image/png", fileExtension: "png", kind: .image)
    public static let webp = MediaType(mime: "image/webp", fileExtension: "webp", kind: .image)
    public static let gif = MediaType(mime: "image/gif", fileExtension: "gif", kind: .image)
    public static let heic = MediaType(mime: "image/heic", fileExtension: "heic", kind: .image)
    public static let heif = MediaType(mime: "image/heif", fileExtension: "heif", kind: .image)
    public static let mp4 = MediaType(mime: "video/mp4", fileExtension: "mp4", kind: .video)
    public static let m4v = MediaType(mime: "video/x-m4v", fileExtension: "m4v", kind: .video)
    public static let quicktime = MediaType(mime: "video/quicktime", fileExtension: "mov", kind: .video)
    public static let webm = MediaType(mime: "video/webm", fileExtension: "webm", kind: .video)
    public static let matroska = MediaType(mime: "video/x-matroska", fileExtension: "mkv", kind: .video)
    public static let avi = MediaType(mime: "video/x-msvideo", fileExtension: "avi", kind: .video)
    public static let mp3 = MediaType(mime: "audio/mpeg", fileExtension: "mp3", kind: .audio)
    public static let aac = MediaType(mime: "audio/aac", fileExtension: "aac", kind: .audio)
    public static let m4a = MediaType(mime: "audio/mp4", fileExtension: "m4a", kind: .audio)
    public static let ogg = MediaType(mime: "audio/ogg", fileExtension: "ogg", kind: .audio)
    public static let wav = MediaType(mime: "audio/wav", fileExtension: "wav", kind: .audio)
    public static let flac = MediaType(mime: "audio/flac", fileExtension: "flac", kind: .audio)

    /// What the pipeline takes, for people (both daemons' refusals name it).
    public static let acceptedFormats = "JPEG, PNG, WebP, GIF, HEIC/HEIF, MP4/MOV/M4V, WebM/MKV, AVI, M4A, MP3, AAC, Ogg (Vorbis, Opus, FLAC), WAV, FLAC"

    /// Every type `sniff` can return.
    public static let all: [MediaType] = [
        .jpeg, .png, .webp, .gif, .heic, .heif, .mp4, .m4v, .quicktime, .webm, .matroska, .avi, .mp3, .aac, .m4a, .ogg, .wav, .flac,
    ]

    /// The type with this MIME type, if `sniff` can return it.
    public static func known(mime: String) -> MediaType? { all.first { $0.mime == mime } }

    /// Bytes `sniff` wants to see (fewer is fine when the whole content is shorter).
    public static let sniffLength = 64

    /// Decides the type from the first bytes, or nil when it is none the pipeline knows.
    ///
    /// Signatures: JPEG `FF D8 FF`; PNG's 8-byte signature; `RIFF….WEBP` and `RIFF….AVI `; `GIF87a`
    /// / `GIF89a`; ISO BMFF `….ftyp` with the major brand (and, for unknown major brands, the
    /// compatible brands) deciding HEIC/HEIF/AVIF, QuickTime, M4V or MP4; EBML `1A 45 DF A3` with the
    /// DocType element deciding WebM or Matroska. Audio: `ID3` or an MPEG audio frame header (MP3),
    /// an ADTS header (AAC), `ftyp` brands `M4A `/`M4B `/`M4P `, `OggS` with a Vorbis, Opus, FLAC or
    /// Speex first packet (Ogg Theora is not accepted), `RIFF….WAVE`, `fLaC`. An MP4 or Matroska file
    /// whose only track is audio carries a video brand: the processor tells it apart from the streams.
    public static func sniff(_ bytes: some Collection<UInt8>) -> MediaType? {
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
            if starts(Array("WAVE".utf8), at: 8) { return .wav }
            return nil
        }
        if starts(Array("ftyp".utf8), at: 4) { return isoMedia(b) }
        if starts([0x1A, 0x45, 0xDF, 0xA3]) { return ebml(b) }
        if starts(Array("ID3".utf8)) { return .mp3 }
        if starts(Array("fLaC".utf8)) { return .flac }
        if starts(Array("OggS".utf8)) { return ogg(b) }
        if b.count >= 4, b[0] == 0xFF { return mpegAudio(b) }
        return nil
    }

    /// An MPEG audio frame header (11 sync bits, a valid version, layer, bit rate and sample rate
    /// index) or an ADTS header (12 sync bits, layer 0): a raw MP3 or AAC stream.
    private static func mpegAudio(_ b: [UInt8]) -> MediaType? {
        guard b[1] & 0xE0 == 0xE0 else { return nil }
        let version = (b[1] >> 3) & 0x03
        let layer = (b[1] >> 1) & 0x03
        if b[1] & 0xF6 == 0xF0 { return (b[2] >> 2) & 0x0F < 13 ? .aac : nil }  // ADTS: layer 00, sampling index 0–12
        guard version != 0x01, layer != 0, (b[2] >> 4) != 0x0F, (b[2] >> 2) & 0x03 != 0x03 else { return nil }
        return .mp3
    }

    /// The first Ogg page's packet says which codec the stream carries.
    private static func ogg(_ b: [UInt8]) -> MediaType? {
        guard b.count > 27 else { return nil }
        let segments = Int(b[26])
        let start = 27 + segments
        guard start < b.count else { return nil }
        let packet = Array(b[start...])
        let audio: [[UInt8]] = [[0x01] + Array("vorbis".utf8), Array("OpusHead".utf8), [0x7F] + Array("FLAC".utf8), Array("Speex   ".utf8)]
        return audio.contains { packet.starts(with: $0) } ? .ogg : nil
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
            case "M4A ", "M4B ", "M4P ": return .m4a
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

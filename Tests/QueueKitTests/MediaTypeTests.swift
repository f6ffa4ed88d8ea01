import Testing

@testable import QueueKit

/// The pipeline's one sniffer (the uploader refuses with it, the processor decodes by it).
@Suite("Type sniffing")
struct MediaTypeTests {
    static func ftyp(_ major: String, _ compatible: [String] = []) -> [UInt8] {
        let size = 16 + 4 * compatible.count
        return [0, 0, 0, UInt8(size)] + Array("ftyp".utf8) + Array(major.utf8) + [0, 0, 2, 0] + compatible.flatMap { Array($0.utf8) }
    }

    @Test("magic bytes decide the type", arguments: [
        ([0xFF, 0xD8, 0xFF, 0xE1, 0, 0], "image/jpeg"),
        ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0], "image/png"),
        (Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8L".utf8), "image/webp"),
        (Array("RIFF\u{0}\u{0}\u{0}\u{0}AVI LIST".utf8), "video/x-msvideo"),
        (Array("GIF89a\u{1}\u{0}".utf8), "image/gif"),
        (ftyp("heic", ["mif1", "heic"]), "image/heic"),
        (ftyp("mif1", ["heic"]), "image/heic"),
        (ftyp("mif1", ["mif1"]), "image/heif"),
        (ftyp("qt  "), "video/quicktime"),
        (ftyp("isom", ["isom", "avc1"]), "video/mp4"),
        (ftyp("mp42"), "video/mp4"),
        (ftyp("M4V ", ["M4V ", "mp42"]), "video/x-m4v"),
        ([0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84] + Array("webm".utf8), "video/webm"),
        ([0x1A, 0x45, 0xDF, 0xA3, 0xA3, 0x42, 0x82, 0x88] + Array("matroska".utf8), "video/x-matroska"),
    ] as [([UInt8], String)])
    func sniff(bytes: [UInt8], mime: String) {
        #expect(MediaType.sniff(bytes)?.mime == mime)
    }

    @Test("anything else is refused", arguments: [
        Array("<!doctype html>".utf8), Array("<svg xmlns=".utf8), Array("%PDF-1.7".utf8), Array("PK\u{3}\u{4}".utf8),
        ftyp("avif", ["avif", "mif1"]), ftyp("mif1", ["avif"]), ftyp("crx "),
        [0x1A, 0x45, 0xDF, 0xA3, 0x42, 0x82, 0x84] + Array("weird".utf8), [0xFF, 0xD8], [],
        // Ogg Theora (a video codec the pipeline does not accept), MPEG audio with reserved bits
        Array("OggS".utf8) + [0, 2] + [UInt8](repeating: 0, count: 20) + [1, 30, 0x80] + Array("theora".utf8),
        [0xFF, 0xEB, 0x90, 0x00], [0xFF, 0xFA, 0xF0, 0x00], [0xFF, 0xFA, 0x9C, 0x00],

    ])
    func refuse(bytes: [UInt8]) {
        #expect(MediaType.sniff(bytes) == nil)
    }

    static func ogg(_ packet: [UInt8]) -> [UInt8] {
        Array("OggS".utf8) + [0, 2] + [UInt8](repeating: 0, count: 20) + [1, UInt8(packet.count)] + packet
    }

    @Test("audio is recognised as audio (the audio pipeline's)", arguments: [
        (Array("ID3\u{4}\u{0}".utf8), "audio/mpeg"),
        ([0xFF, 0xFB, 0x90, 0x64], "audio/mpeg"),  // MPEG-1 layer III, 128 kbit/s, 44.1 kHz
        ([0xFF, 0xF3, 0x48, 0xC4], "audio/mpeg"),  // MPEG-2 layer III
        ([0xFF, 0xF1, 0x50, 0x80], "audio/aac"),  // ADTS, AAC LC, 44.1 kHz
        (ftyp("M4A ", ["M4A ", "mp42", "isom"]), "audio/mp4"),
        (ogg([0x01] + Array("vorbis".utf8)), "audio/ogg"),
        (ogg(Array("OpusHead".utf8)), "audio/ogg"),
        (Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVEfmt ".utf8), "audio/wav"),
        (Array("fLaC\u{0}\u{0}\u{0}\u{22}".utf8), "audio/flac"),
    ] as [([UInt8], String)])
    func audio(bytes: [UInt8], mime: String) {
        let type = MediaType.sniff(bytes)
        #expect(type?.mime == mime)
        #expect(type?.kind == .audio)
    }

    @Test("every type sniff returns is known by its MIME type")
    func known() {
        for type in MediaType.all { #expect(MediaType.known(mime: type.mime) == type) }
        #expect(MediaType.known(mime: "text/html") == nil)
    }
}

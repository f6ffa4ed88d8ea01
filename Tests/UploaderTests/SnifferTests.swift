import Foundation
import Testing

@testable import Uploader

@Suite("Type sniffing, file names, API keys")
struct UnitTests {
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
        Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVEfmt ".utf8), ftyp("avif", ["avif", "mif1"]), ftyp("mif1", ["avif"]), ftyp("crx "),
        [0x1A, 0x45, 0xDF, 0xA3, 0x42, 0x82, 0x84] + Array("weird".utf8), [0xFF, 0xD8], [],
    ])
    func refuse(bytes: [UInt8]) {
        #expect(MediaType.sniff(bytes) == nil)
    }

    @Test("hostile file names keep only a safe, capped last component", arguments: [
        ("../../etc/passwd", "passwd"),
        ("..%2f..%2fetc", "2f..2fetc"),
        (#"C:\..\x.jpg"#, "x.jpg"),
        ("a.jpg\u{0}.php", "a.jpg"),
        ("photo\u{202E}gpj.exe", "photogpj.exe"),
        ("x.jpg.php", "x.jpg.php"),
        ("line\r\nX-Injected: 1.jpg", "lineX-Injected 1.jpg"),
        ("..", nil),
        ("", nil),
        ("naïve café.jpg", "na_ve caf_.jpg"),
    ] as [(String, String?)])
    func fileNames(raw: String, expected: String?) {
        #expect(FileNameSanitizer.sanitize(raw) == expected)
    }

    @Test func longNamesAreCapped() throws {
        let name = try #require(FileNameSanitizer.sanitize(String(repeating: "a", count: 10_000) + ".jpg"))
        #expect(name.count == FileNameSanitizer.maxLength)
        #expect(name.hasSuffix(".jpg"))
    }

    @Test("keys are compared by hash; ids never reveal the key")
    func keys() {
        let keys = APIKeys(keys: ["alpha-key", "beta-key"])
        let alpha = keys.authenticate("alpha-key")
        #expect(alpha != nil)
        #expect(keys.authenticate("beta-key") != nil)
        #expect(keys.authenticate("beta-key") != alpha)
        #expect(keys.authenticate("alpha-kex") == nil)
        #expect(keys.authenticate("") == nil)
        #expect(alpha?.contains("alpha") == false)
        #expect(APIKeys.parse("a, b\n# comment\n\nc\r\n") == ["a", "b", "c"])
        #expect(APIKeys.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!APIKeys.constantTimeEqual([1, 2, 3], [1, 2, 4]))
    }

    @Test("Content-Disposition parameters, quoted and RFC 5987")
    func disposition() {
        let parameters = MultipartReader.Part.parameters(#"form-data; name="file"; filename="a \"b\"; c.jpg""#)
        #expect(parameters["name"] == "file")
        #expect(parameters["filename"] == #"a "b"; c.jpg"#)
        #expect(MultipartReader.Part.decodeExtValue("UTF-8''na%C3%AFve.jpg") == "naïve.jpg")
        #expect(MultipartReader.boundary(contentType: "multipart/form-data; boundary=----x") == "----x")
        #expect(MultipartReader.boundary(contentType: #"multipart/form-data; boundary="q b""#) == "q b")
        #expect(MultipartReader.boundary(contentType: "image/jpeg") == nil)
    }

    @Test("blob names are generated from the date and the job id")
    func blobNames() {
        let date = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18
        #expect(Ingest.blobName(jobId: "abc", fileExtension: "jpg", date: date) == "2026/11/18/abc.jpg")
    }

    @Test("the rate limiter refills at its rate")
    func rateLimiter() {
        let limiter = RateLimiter(ratePerSecond: 1, burst: 2)
        let start = ContinuousClock.now
        #expect(limiter.acquire("k", now: start) == nil)
        #expect(limiter.acquire("k", now: start) == nil)
        #expect(limiter.acquire("k", now: start) == 1)
        #expect(limiter.acquire("other", now: start) == nil)
        #expect(limiter.acquire("k", now: start + .seconds(1)) == nil)
    }
}

import Foundation
import Testing

@testable import Uploader

@Suite("File names, API keys")
struct UnitTests {
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
        #expect(alpha?.keyID.contains("alpha") == false)
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

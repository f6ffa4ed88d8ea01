import AsyncHTTPClient
import DevStorageKit
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import NIOFoundationCompat
import QueueKit
import StorageKit
import TestSupport
import Testing

@testable import Uploader

@Suite("Uploads over real sockets into devstorage")
struct UploadTests {
    @Test("multipart with real photos: byte-identical blobs, right MD5, one message per file")
    func multipartPhotos() async throws {
        let photos = try Photos.smallest(2)
        try await UploaderHarness.run { h in
            let body = UploaderHarness.multipart(files: photos.map { ("file", $0.name, "image/jpeg", $0.data) })
            let response = try await h.client.execute(uri: "/upload", method: .post, headers: UploaderHarness.multipartHeaders(), body: body)
            #expect(response.status == .accepted)
            let jobs = try #require(response.json["jobs"] as? [[String: Any]])
            #expect(jobs.count == 2)
            let queued = try await h.queuedJobs()
            #expect(queued.count == 2)
            for (photo, job) in zip(photos, jobs) {
                let jobId = try #require(job["jobId"] as? String)
                #expect(job["status"] as? String == "queued")
                #expect(job["statusUrl"] as? String == "/jobs/\(jobId)")
                let input = try #require(job["input"] as? [String: Any])
                let blob = try #require(input["blob"] as? String)
                #expect(input["container"] as? String == "rawfiles")
                #expect(input["bytes"] as? Int == photo.data.count)
                #expect(input["mediaType"] as? String == "image/jpeg")
                #expect(input["md5"] as? String == UploaderHarness.md5Base64(photo.data))
                #expect(blob.hasSuffix("/\(jobId).jpg"))
                let stored = try await h.blobs.downloadData("rawfiles", blob)
                #expect(Data(buffer: stored) == photo.data)
                let properties = try await h.blobs.properties("rawfiles", blob)
                #expect(properties.metadata["originalname"] == photo.name)
                #expect(properties.contentType == "image/jpeg")
                #expect(queued.filter { $0.jobId == jobId }.count == 1)
                #expect(queued.first { $0.jobId == jobId }?.input.md5 == UploaderHarness.md5Base64(photo.data))
                // The queued status document exists before the message.
                let status = try await h.client.execute(uri: "/jobs/\(jobId)", method: .get, headers: h.keyHeader)
                #expect(status.status == .ok)
                #expect(status.json["status"] as? String == "queued")
                #expect(status.json["error"] is NSNull)
            }
        }
    }

    @Test("a raw body with X-File-Name: stored as sniffed, whatever the declared type")
    func rawBody() async throws {
        let photo = try #require(Photos.smallest(1).first)
        try await UploaderHarness.run { h in
            var headers = h.keyHeader
            headers[.contentType] = "application/octet-stream"
            headers[UploadController.fileNameHeader] = "../../etc/holiday.jpg"
            let response = try await h.client.execute(uri: "/upload", method: .post, headers: headers, body: ByteBuffer(data: photo.data))
            #expect(response.status == .accepted)
            #expect(response.headers[.location] == "/jobs/\(response.json["jobId"] as? String ?? "")")
            let input = try #require(response.json["input"] as? [String: Any])
            #expect(input["mediaType"] as? String == "image/jpeg")
            let blob = try #require(input["blob"] as? String)
            #expect(Data(buffer: try await h.blobs.downloadData("rawfiles", blob)) == photo.data)
            #expect(try await h.blobs.properties("rawfiles", blob).metadata["originalname"] == "holiday.jpg")
            #expect(try await h.queuedJobs().count == 1)
        }
    }

    @Test("every failed key check gets the same 401; both header forms work")
    func apiKeys() async throws {
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) + Data(repeating: 7, count: 100)
        try await UploaderHarness.run { h in
            var bodies: [String] = []
            for headers: HTTPFields in [[:], [APIKeyMiddleware.apiKeyHeader: "wrong"], [.authorization: "Bearer wrong"], [.authorization: "Basic dGVzdA=="]] {
                let response = try await h.client.execute(uri: "/upload", method: .post, headers: headers, body: ByteBuffer(data: png))
                #expect(response.status == .unauthorized)
                bodies.append(String(buffer: response.body))
            }
            #expect(Set(bodies).count == 1, "\(bodies)")
            let jobs = try await h.client.execute(uri: "/jobs/00000000-0000-0000-0000-000000000000", method: .get)
            #expect(jobs.status == .unauthorized)
            let bearer = try await h.client.execute(
                uri: "/upload", method: .post, headers: [.authorization: "Bearer \(UploaderHarness.otherKey)"], body: ByteBuffer(data: png))
            #expect(bearer.status == .accepted)
            #expect(try await h.rawBlobs().count == 1)
        }
    }

    @Test("audio-only files are accepted by their first bytes (not the declared type) and queued as audio jobs")
    func audioOnly() async throws {
        try await UploaderHarness.run { h in
            let cases: [(declared: String, data: Data, sniffed: String, fileExtension: String)] = [
                ("application/octet-stream", Data("ID3\u{4}\u{0}\u{0}".utf8) + Data(count: 64), "audio/mpeg", "mp3"),
                ("image/png", Data("RIFF\u{24}\u{0}\u{0}\u{0}WAVEfmt ".utf8) + Data(count: 64), "audio/wav", "wav"),
                ("video/mp4", Data([0, 0, 0, 24]) + Data("ftypM4A \u{0}\u{0}\u{0}\u{0}M4A mp42".utf8) + Data(count: 64), "audio/mp4", "m4a"),
                ("audio/flac", Data("fLaC\u{0}\u{0}\u{0}\u{22}".utf8) + Data(count: 64), "audio/flac", "flac"),
            ]
            for (declared, data, _, _) in cases {
                let body = UploaderHarness.multipart(files: [("file", "x.bin", declared, data)])
                let response = try await h.client.execute(uri: "/upload", method: .post, headers: UploaderHarness.multipartHeaders(), body: body)
                #expect(response.status == .accepted, "\(declared): \(response.errorMessage ?? "")")
            }
            let jobs = try await h.queuedJobs()
            #expect(jobs.map(\.input.mediaType).sorted() == cases.map(\.sniffed).sorted())
            #expect(Set(jobs.map { ($0.input.blob as NSString).pathExtension }) == Set(cases.map(\.fileExtension)))
            #expect(try await h.rawBlobs().count == cases.count)
        }
    }

    @Test("unsupported content is refused with 415 before anything is stored")
    func unsupported() async throws {
        try await UploaderHarness.run { h in
            let cases: [(String, Data)] = [
                ("image/png", Data("<!doctype html><script>alert(1)</script>".utf8)),
                ("image/png", Data(#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.utf8)),
                ("text/plain", Data("just some text".utf8)),
                ("image/jpeg", Data("PK\u{3}\u{4}zip".utf8)),
            ]
            for (type, data) in cases {
                let body = UploaderHarness.multipart(files: [("file", "x.png", type, data)])
                let response = try await h.client.execute(uri: "/upload", method: .post, headers: UploaderHarness.multipartHeaders(), body: body)
                #expect(response.status == .unsupportedMediaType)
                #expect(response.errorCode == "UnsupportedMediaType")
            }
            #expect(try await h.rawBlobs().isEmpty)
            #expect(try await h.queuedJobs().isEmpty)
        }
    }

    @Test("empty files, missing files and broken multipart bodies are 400")
    func badRequests() async throws {
        try await UploaderHarness.run { h in
            let empty = UploaderHarness.multipart(files: [("file", "empty.jpg", "image/jpeg", Data())])
            var response = try await h.client.execute(uri: "/upload", method: .post, headers: UploaderHarness.multipartHeaders(), body: empty)
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "EmptyFile")

            let noFile = ByteBuffer(string: "------mediapipeline-test\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n------mediapipeline-test--\r\n")
            response = try await h.client.execute(uri: "/upload", method: .post, headers: UploaderHarness.multipartHeaders(), body: noFile)
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "NoFile")

            // A body cut before its closing boundary is never a shorter file.
            var cut = UploaderHarness.multipart(files: [("file", "a.jpg", "image/jpeg", Data([0xFF, 0xD8, 0xFF, 0xE0]) + Data(repeating: 1, count: 5000))])
            cut = cut.getSlice(at: 0, length: cut.readableBytes - 40)!
            response = try await h.client.execute(uri: "/upload", method: .post, headers: UploaderHarness.multipartHeaders(), body: cut)
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "IncompleteBody")

            let garbage = ByteBuffer(string: "------mediapipeline-test\r\nthis is not a header line\r\n\r\n")
            response = try await h.client.execute(uri: "/upload", method: .post, headers: UploaderHarness.multipartHeaders(), body: garbage)
            #expect(response.status == .badRequest)

            let empty2 = ByteBuffer()
            response = try await h.client.execute(uri: "/upload", method: .post, headers: h.keyHeader, body: empty2)
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "EmptyFile")

            #expect(try await h.rawBlobs().isEmpty)
            #expect(try await h.queuedJobs().isEmpty)
        }
    }

    @Test("oversized uploads are 413 from Content-Length, part headers over the limits are 431, too many parts 400")
    func limits() async throws {
        try await UploaderHarness.run(configure: { $0.maxUploadBytes = 64 << 10; $0.maxFiles = 3 }) { h in
            let big = Data([0xFF, 0xD8, 0xFF, 0xE0]) + Data(repeating: 1, count: 70 << 10)
            var answer = try await h.send("/upload", headers: h.keyHeader, body: ByteBuffer(data: big))
            #expect(answer.status == 413)
            #expect(answer.body.contains("PayloadTooLarge"))

            let longHeader = "------mediapipeline-test\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\nX-Long: \(String(repeating: "a", count: 20_000))\r\n\r\n\u{FF}\r\n------mediapipeline-test--\r\n"
            answer = try await h.send("/upload", headers: UploaderHarness.multipartHeaders(), body: ByteBuffer(string: longHeader))
            #expect(answer.status == 431)

            let manyLines = "------mediapipeline-test\r\n" + (0..<100).map { "X-H\($0): v\r\n" }.joined() + "\r\nabc\r\n------mediapipeline-test--\r\n"
            answer = try await h.send("/upload", headers: UploaderHarness.multipartHeaders(), body: ByteBuffer(string: manyLines))
            #expect(answer.status == 431)

            let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0]) + Data(repeating: 2, count: 100)
            let four = UploaderHarness.multipart(files: (0..<4).map { ("file", "\($0).jpg", "image/jpeg", jpeg) })
            let response = try await h.client.execute(uri: "/upload", method: .post, headers: UploaderHarness.multipartHeaders(), body: four)
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "TooManyParts")

            #expect(try await h.rawBlobs().isEmpty)
            #expect(try await h.queuedJobs().isEmpty)
        }
    }

    @Test("a key over its rate gets 429 with Retry-After; another key is unaffected")
    func rateLimit() async throws {
        let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0]) + Data(repeating: 3, count: 100)
        try await UploaderHarness.run(configure: { $0.ratePerSecond = 0.01; $0.rateBurst = 2 }) { h in
            for _ in 0..<2 {
                let ok = try await h.client.execute(uri: "/upload", method: .post, headers: h.keyHeader, body: ByteBuffer(data: jpeg))
                #expect(ok.status == .accepted)
            }
            let limited = try await h.client.execute(uri: "/upload", method: .post, headers: h.keyHeader, body: ByteBuffer(data: jpeg))
            #expect(limited.status == .tooManyRequests)
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            let other = try await h.client.execute(
                uri: "/upload", method: .post, headers: [APIKeyMiddleware.apiKeyHeader: UploaderHarness.otherKey], body: ByteBuffer(data: jpeg))
            #expect(other.status == .accepted)
            #expect(try await h.queuedJobs().count == 3)
        }
    }

    @Test("if the enqueue still fails after retries: 503 with Retry-After, no message, no status document")
    func enqueueFailure() async throws {
        let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0]) + Data(repeating: 4, count: 100)
        try await UploaderHarness.run { h in
            h.storage.faults.failNext(10, status: 503, operation: .putMessage)
            let response = try await h.client.execute(uri: "/upload", method: .post, headers: h.keyHeader, body: ByteBuffer(data: jpeg))
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] != nil)
            #expect(response.errorCode == "StorageUnavailable")
            h.storage.faults.reset()
            #expect(try await h.queuedJobs().isEmpty)
            #expect(try await h.blobs.listAllBlobs("jobstatus").isEmpty)
            #expect(try await h.rawBlobs().isEmpty)
        }
    }

    @Test("transient storage errors are retried: the upload still succeeds once")
    func transientStorageErrors() async throws {
        let photo = try #require(Photos.smallest(1).first)
        try await UploaderHarness.run(configure: { $0.staging.blockSize = 64 << 10 }) { h in
            h.storage.faults.failNext(2, status: 503, operation: .putBlock)
            h.storage.faults.failNext(1, status: 500, operation: .putMessage)
            let response = try await h.client.execute(uri: "/upload", method: .post, headers: h.keyHeader, body: ByteBuffer(data: photo.data))
            #expect(response.status == .accepted)
            let blob = try #require((response.json["input"] as? [String: Any])?["blob"] as? String)
            #expect(Data(buffer: try await h.blobs.downloadData("rawfiles", blob)) == photo.data)
            #expect(try await h.queuedJobs().count == 1)
        }
    }

    @Test("the status API: 404 for unknown ids, output links as SAS URLs or streamed through the uploader")
    func statusAPI() async throws {
        for links in [UploaderConfiguration.Links.sas, .proxy] {
            try await UploaderHarness.run(configure: { $0.links = links }) { h in
                let unknown = try await h.client.execute(uri: "/jobs/\(UUID().uuidString.lowercased())", method: .get, headers: h.keyHeader)
                #expect(unknown.status == .notFound)
                let invalid = try await h.client.execute(uri: "/jobs/..%2F..%2Fetc", method: .get, headers: h.keyHeader)
                #expect(invalid.status == .notFound)

                let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0]) + Data(repeating: 5, count: 100)
                let accepted = try await h.client.execute(uri: "/upload", method: .post, headers: h.keyHeader, body: ByteBuffer(data: jpeg))
                let jobId = try #require(accepted.json["jobId"] as? String)

                // Play the processor: write an output and a succeeded status document.
                let output = try await h.completeAsProcessor(jobId)

                let status = try await h.client.execute(uri: "/jobs/\(jobId)", method: .get, headers: h.keyHeader)
                #expect(status.json["status"] as? String == "succeeded")
                let outputs = try #require(status.json["outputs"] as? [[String: Any]])
                let url = try #require(outputs.first?["url"] as? String)
                #expect(outputs.first?["blob"] == nil)
                switch links {
                case .sas:
                    #expect(url.contains("sig="))
                    let download = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
                    #expect(download.status.code == 200)
                    #expect(Data(buffer: try await download.body.collect(upTo: 1 << 20)) == output)
                case .proxy:
                    // A signed link: it opens without the key (as a browser's <a>/<img> does), only
                    // for its own path, and the key is never in it.
                    #expect(url.hasPrefix("/jobs/\(jobId)/outputs/image.webp?tenant="))
                    #expect(url.contains("&signature=") && !url.contains(UploaderHarness.key))
                    let streamed = try await h.client.execute(uri: url, method: .get, headers: [:])
                    #expect(streamed.status == .ok)
                    #expect(Data(buffer: streamed.body) == output)
                    #expect(streamed.headers[.contentType] == "image/webp")
                    let withKey = try await h.client.execute(uri: "/jobs/\(jobId)/outputs/image.webp", method: .get, headers: h.keyHeader)
                    #expect(withKey.status == .ok)
                    let unsigned = try await h.client.execute(uri: "/jobs/\(jobId)/outputs/image.webp", method: .get, headers: [:])
                    #expect(unsigned.status == .unauthorized)
                    let tampered = try await h.client.execute(uri: url.replacingOccurrences(of: "signature=", with: "signature=A"), method: .get, headers: [:])
                    #expect(tampered.status == .unauthorized)
                    let query = String(url[url.firstIndex(of: "?")!...])
                    let elsewhere = try await h.client.execute(uri: "/jobs/\(jobId)\(query)", method: .get, headers: [:])
                    #expect(elsewhere.status == .unauthorized)
                    let missing = try await h.client.execute(uri: "/jobs/\(jobId)/outputs/nope.webp", method: .get, headers: h.keyHeader)
                    #expect(missing.status == .notFound)
                }
            }
        }
    }

    @Test("health, readiness, the page and the API description need no key")
    func operations() async throws {
        try await UploaderHarness.run { h in
            #expect(try await h.client.execute(uri: "/healthz", method: .get).status == .ok)
            let ready = try await h.client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            #expect(ready.json["status"] as? String == "ready")
            let page = try await h.client.execute(uri: "/", method: .get)
            #expect(page.status == .ok)
            #expect(String(buffer: page.body).contains("<html"))
            let spec = try await h.client.execute(uri: "/openapi.yaml", method: .get)
            #expect(String(buffer: spec.body).hasPrefix("openapi: 3"))
        }
    }

    @Test("readiness reports storage that does not answer: at once with a zero window, `degraded` (200) within the window")
    func notReady() async throws {
        var account: StorageAccount?
        try await withDevStorage { account = $0.account }  // devstorage is gone after this
        let gone = try #require(account)
        var configuration = UploaderConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.apiKeys = [UploaderHarness.key]
        configuration.createStorage = false
        for (window, status, state) in [(0, HTTPResponse.Status.serviceUnavailable, "unavailable"), (30, .ok, "degraded")] {
            configuration.readyFailureWindowSeconds = window
            let app = try await buildApplication(configuration: configuration, account: gone, retryPolicy: .fast, logger: Logger(label: "t"))
            try await app.test(.live) { client in
                let ready = try await client.execute(uri: "/readyz", method: .get)
                #expect(ready.status == status)
                #expect(ready.json["status"] as? String == state)
            }
        }
    }
}

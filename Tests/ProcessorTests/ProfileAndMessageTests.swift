import AsyncHTTPClient
import Foundation
import MediaKit
import QueueKit
import Testing

@testable import Processor

@Suite("Processing profile and queue messages")
struct ProfileAndMessageTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("profiles/default.json is the built-in profile")
    func defaultProfile() throws {
        let loaded = try ProcessingProfile.load(path: Self.root.appendingPathComponent("profiles/default.json").path)
        #expect(loaded == ProcessingProfile())
    }

    @Test("a YAML profile names only what it changes")
    func yamlProfile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("profile-\(UUID().uuidString).yaml").path
        try "image:\n  maxWidth: 1024\n  webp:\n    quality: 70\n  thumbnailSize: null\nlimits:\n  maxPixels: 1000000\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let profile = try ProcessingProfile.load(path: path)
        #expect(profile.image.maxWidth == 1024 && profile.image.maxHeight == 2048)
        #expect(profile.image.webp.quality == 70 && profile.image.webp.method == 4)
        #expect(profile.image.thumbnailSize == nil)
        #expect(profile.limits.maxPixels == 1_000_000 && profile.limits.maxFrames == 1000)
    }

    @Test("webp: every encoder knob is optional, libwebp's defaults when absent, and survives a round trip")
    func webpKnobs() throws {
        let standard = ImageProfile.WebP()
        #expect(standard == .init(quality: 85, method: 4, sns: 50, filterStrength: 60, filterSharpness: 0, segments: 4, partitions: 0, pass: 1, preprocessing: 0, sharpYUV: false, threadLevel: 1))
        #expect(try JSONDecoder().decode(ImageProfile.self, from: Data(#"{"webp": {}}"#.utf8)).webp == standard)
        let partial = try JSONDecoder().decode(ImageProfile.self, from: Data(#"{"webp": {"method": 2, "sns": 25}}"#.utf8)).webp
        #expect(partial == .init(method: 2, sns: 25))
        let all = #"{"webp": {"quality": 80.5, "method": 6, "sns": 0, "filterStrength": 100, "filterSharpness": 7, "segments": 1, "partitions": 3, "pass": 10, "preprocessing": 7, "sharpYUV": true, "threadLevel": 0}}"#
        let full = try JSONDecoder().decode(ImageProfile.self, from: Data(all.utf8)).webp
        #expect(full == .init(quality: 80.5, method: 6, sns: 0, filterStrength: 100, filterSharpness: 7, segments: 1, partitions: 3, pass: 10, preprocessing: 7, sharpYUV: true, threadLevel: 0))
        // The isolated child gets the profile as JSON: every knob must survive the trip.
        #expect(try JSONDecoder().decode(ImageProfile.WebP.self, from: JSONEncoder().encode(full)) == full)
    }

    @Test(
        "webp: out-of-range knobs are refused when the profile is read, naming the key",
        arguments: [
            ("quality", "101"), ("quality", "-1"), ("method", "7"), ("method", "-1"), ("sns", "101"), ("sns", "-1"),
            ("filterStrength", "101"), ("filterSharpness", "8"), ("segments", "0"), ("segments", "5"), ("partitions", "4"),
            ("pass", "0"), ("pass", "11"), ("preprocessing", "8"), ("threadLevel", "2"), ("threadLevel", "-1"),
        ])
    func webpRanges(key: String, value: String) {
        let error = #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ImageProfile.self, from: Data(#"{"webp": {"\#(key)": \#(value)}}"#.utf8))
        }
        guard case .dataCorrupted(let context)? = error else {
            Issue.record("expected dataCorrupted, got \(String(describing: error))")
            return
        }
        #expect(context.debugDescription.contains("webp.\(key) must be"), "\(context.debugDescription)")
        #expect(context.codingPath.last?.stringValue == key)
    }

    @Test("size tiers: larger inputs get stronger downscaling")
    func tiers() {
        let image = ProcessingProfile().image
        #expect(image.box(forInputBytes: 1 << 20) == (2048, 2048))
        #expect(image.box(forInputBytes: 12 << 20) == (1600, 1600))
        #expect(image.box(forInputBytes: 40 << 20) == (1280, 1280))
        #expect(ImageProfile.fit(width: 4000, height: 3000, box: (2048, 2048)) == (2048, 1536))
        #expect(ImageProfile.fit(width: 800, height: 600, box: (2048, 2048)) == (800, 600))
    }

    @Test("video tiers reproduce the original design; boxes are orientation-free and even")
    func videoTiers() throws {
        let video = ProcessingProfile().video
        #expect(video.tier(forInputBytes: 5 << 20) == .init(maxInputBytes: 10 << 20, maxWidth: 1920, maxHeight: 1080, crf: 23, preset: "medium"))
        #expect(video.tier(forInputBytes: 30 << 20).crf == 25 && video.tier(forInputBytes: 30 << 20).maxWidth == 854)
        #expect(video.tier(forInputBytes: 500 << 20).preset == "fast" && video.tier(forInputBytes: 500 << 20).maxHeight == 720)
        #expect(VideoProfile.fit(width: 3840, height: 2160, box: (1920, 1080)) == (1920, 1080))
        #expect(VideoProfile.fit(width: 1080, height: 1920, box: (854, 480)) == (480, 852))  // portrait fits the turned box, even
        #expect(VideoProfile.fit(width: 175, height: 143, box: (1920, 1080)) == (174, 142))  // never enlarged, even
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("profile-\(UUID().uuidString).yaml").path
        try "video:\n  frameSamples:\n    everySeconds: 5\nlimits:\n  video:\n    maxStreams: 4\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let profile = try ProcessingProfile.load(path: path)
        #expect(profile.video.frameSamples == .init(everySeconds: 5, maxCount: 30, maxSize: 640, quality: 75))
        #expect(profile.video.tiers == VideoProfile.standardTiers)
        #expect(profile.limits.video.maxStreams == 4 && profile.limits.video.maxDurationSeconds == 14_400)
    }

    @Test("limits are checked from the header")
    func limits() {
        let limits = MediaLimits()
        #expect(throws: MediaError.self) { try limits.check(width: 20_000, height: 20_000) }
        #expect(throws: MediaError.self) { try limits.check(width: 1000, height: 1000, frames: 60) }
        #expect(throws: MediaError.self) { try limits.check(width: Int.max / 2, height: 4) }
        #expect(throws: Never.self) { try limits.check(width: 8000, height: 6000) }
    }

    @Test("uploader jobs, plain or base64, and Event Grid BlobCreated events")
    func messages() throws {
        let job = MediaJob(input: BlobReference(container: "rawfiles", blob: "2026/11/23/x.jpg", bytes: 10, mediaType: "image/jpeg", md5: "abc"))
        #expect(try JobMessage.job(from: job.messageText(), rawContainer: "rawfiles") == job)
        let event = #"{"eventType":"Microsoft.Storage.BlobCreated","eventTime":"2026-11-23T10:00:00Z","data":{"url":"https://acct.blob.core.windows.net/rawfiles/a/b%20c.jpg","contentType":"image/jpeg","contentLength":42,"eTag":"0x8D"}}"#
        let fromEvent = try JobMessage.job(from: Data(event.utf8).base64EncodedString(), rawContainer: "rawfiles")
        #expect(fromEvent.input.blob == "a/b c.jpg" && fromEvent.input.bytes == 42 && fromEvent.input.md5.isEmpty)
        #expect(try JobMessage.job(from: event, rawContainer: "rawfiles").jobId == fromEvent.jobId)  // redelivery: same job
        let cloudEvent = #"{"type":"Microsoft.Storage.BlobCreated","time":"2026-11-23T10:00:00Z","data":{"url":"http://127.0.0.1:10000/devstoreaccount1/rawfiles/x.png"}}"#
        #expect(try JobMessage.job(from: cloudEvent, rawContainer: "rawfiles").input.blob == "x.png")
        #expect(throws: JobMessage.Malformed.self) { try JobMessage.job(from: #"{"eventType":"Microsoft.Storage.BlobDeleted","data":{}}"#, rawContainer: "rawfiles") }
        #expect(throws: JobMessage.Malformed.self) { try JobMessage.job(from: "hello", rawContainer: "rawfiles") }
        #expect(throws: JobMessage.Malformed.self) {
            try JobMessage.job(from: #"{"eventType":"Microsoft.Storage.BlobCreated","data":{"url":"https://a.blob.core.windows.net/other/x.jpg"}}"#, rawContainer: "rawfiles")
        }
    }

    @Test("webhook signatures are HMAC-SHA256 over the body")
    func webhookSignature() {
        // Python: hmac.new(b"key", b"body", hashlib.sha256).hexdigest()
        #expect(Webhook.signature(body: Data("body".utf8), secret: "key") == "sha256=515aae133b435d4000956731f68ae5cf5eb85d4f0dc6a546d2bfcd3595ec1ae1")
    }

    @Test("a tenant's jobs go to its own webhook; others (and jobs without a tenant) to the deployment's; bad files are refused")
    func tenantWebhooks() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("webhooks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func file(_ text: String) throws -> String {
            let path = directory.appendingPathComponent("\(UUID().uuidString).yaml").path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        let targets = try Webhooks.load(path: try file("alpha:\n  url: https://alpha.example/hook\n  secret: s1\nbeta: {url: 'http://beta.example/x'}\n"))
        #expect(targets == ["alpha": .init(url: "https://alpha.example/hook", secret: "s1"), "beta": .init(url: "http://beta.example/x", secret: nil)])
        let client = HTTPClient.shared
        let hooks = Webhooks(
            fallback: Webhook(url: "https://platform.example/all", secret: nil, client: client),
            byTenant: targets.mapValues { Webhook(url: $0.url, secret: $0.secret, client: client) })
        #expect(hooks.target(for: "alpha")?.url == "https://alpha.example/hook")
        #expect(hooks.target(for: "beta")?.secret == nil)
        #expect(hooks.target(for: "gamma")?.url == "https://platform.example/all")
        #expect(hooks.target(for: nil)?.url == "https://platform.example/all")
        #expect(Webhooks.none.target(for: "alpha") == nil)
        for bad in ["alpha: https://x", "not/a/tenant:\n  url: https://x\n", "alpha:\n  url: ftp://x\n", "alpha:\n  url: nothing\n"] {
            #expect(throws: Webhooks.WebhookFileError.self) { try Webhooks.load(path: try file(bad)) }
        }
        #expect(throws: Webhooks.WebhookFileError.self) { try Webhooks.load(path: directory.appendingPathComponent("missing").path) }
    }
}

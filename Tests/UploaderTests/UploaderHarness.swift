import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import NIOFoundationCompat
import QueueKit
import StorageKit
import TestSupport

@testable import Uploader

/// An uploader built by `buildApplication` on a free port, in front of an in-process devstorage.
struct UploaderHarness: Sendable {
    static let key = "test-key-0123456789"
    static let otherKey = "other-key-9876543210"

    let client: any TestClientProtocol
    let storage: RunningDevStorage
    let blobs: BlobClient
    let queues: QueueClient

    var keyHeader: HTTPFields { [APIKeyMiddleware.apiKeyHeader: Self.key] }

    /// Runs `body` against a fresh devstorage and uploader (configured by `configure`; its storage
    /// account made by `account`, the development key by default). The harness's own `blobs` and
    /// `queues` always use the key.
    static func run(
        configure: (inout UploaderConfiguration) -> Void = { _ in },
        account: (RunningDevStorage) throws -> StorageAccount = { $0.account },
        _ body: @escaping @Sendable (UploaderHarness) async throws -> Void
    ) async throws {
        try await withDevStorage { storage in
            var configuration = UploaderConfiguration()
            configuration.host = "127.0.0.1"
            configuration.port = 0
            configuration.apiKeys = [key, otherKey]
            configure(&configuration)
            var logger = Logger(label: "uploader.test")
            logger.logLevel = .warning
            let app = try await buildApplication(
                configuration: configuration, account: try account(storage), retryPolicy: .fast, logger: logger)
            let blobs = BlobClient(account: storage.account, retryPolicy: .fast)
            let queues = QueueClient(account: storage.account, retryPolicy: .fast)
            try await app.test(.live) { client in
                try await body(UploaderHarness(client: client, storage: storage, blobs: blobs, queues: queues))
            }
        }
    }

    /// A request on its own connection (AsyncHTTPClient): for answers that close the connection.
    func send(_ path: String, method: HTTPRequest.Method = .post, headers: HTTPFields, body: ByteBuffer) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(client.port!)\(path)")
        request.method = .init(rawValue: method.rawValue)
        for field in headers { request.headers.add(name: field.name.rawName, value: field.value) }
        request.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    /// Every blob in `rawfiles`.
    func rawBlobs() async throws -> [BlobItem] {
        try await blobs.listAllBlobs(PipelineNames.rawContainer, includeMetadata: true)
    }

    /// Every job message on `jobqueue` (peeked, so they stay).
    func queuedJobs() async throws -> [MediaJob] {
        try await queues.peek(PipelineNames.jobQueue, count: 32).map { try MediaJob.decode(messageText: $0.text) }
    }

    /// A `multipart/form-data` body with the given files (and optional extra raw part text).
    static func multipart(boundary: String = "----mediapipeline-test", files: [(field: String, name: String, type: String, data: Data)]) -> ByteBuffer {
        var body = Data()
        for file in files {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(file.name)\"\r\nContent-Type: \(file.type)\r\n\r\n".utf8))
            body.append(file.data)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return ByteBuffer(data: body)
    }

    static func multipartHeaders(boundary: String = "----mediapipeline-test", key: String? = UploaderHarness.key) -> HTTPFields {
        var headers: HTTPFields = [.contentType: "multipart/form-data; boundary=\(boundary)"]
        if let key { headers[APIKeyMiddleware.apiKeyHeader] = key }
        return headers
    }

    static func md5Base64(_ data: Data) -> String { Data(Insecure.MD5.hash(data: data)).base64EncodedString() }
}

/// Real photographs from Debian's `mate-backgrounds` (installed by `make test`).
enum Photos {
    static let directory = "/usr/share/backgrounds/mate/nature"

    static func all() throws -> [URL] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".jpg") }.sorted()
        return names.map { URL(fileURLWithPath: "\(directory)/\($0)") }
    }

    /// The `count` smallest photos (keeps the tests quick).
    static func smallest(_ count: Int) throws -> [(name: String, data: Data)] {
        let urls = try all().sorted {
            let a = (try? FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int) ?? 0
            let b = (try? FileManager.default.attributesOfItem(atPath: $1.path)[.size] as? Int) ?? 0
            return a < b
        }
        return try urls.prefix(count).map { ($0.lastPathComponent, try Data(contentsOf: $0)) }
    }
}

extension TestResponse {
    var json: [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else { return [:] }
        return object
    }

    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
}

extension UploaderHarness {
    /// Plays the processor for an accepted job: writes `image.webp` to `processed` and a
    /// `succeeded` status document naming it. Returns the output's bytes.
    @discardableResult
    func completeAsProcessor(_ jobId: String, tenant: String? = nil) async throws -> Data {
        let output = Data("RIFF....WEBPVP8 processed".utf8)
        _ = try await blobs.putBlob("processed", "\(jobId)/image.webp", body: ByteBuffer(data: output))
        let name = JobStatus.documentName(jobId: jobId, tenant: tenant ?? APIKeys(keys: [Self.key]).authenticate(Self.key)?.tenant)
        let queued = try JobStatus.decode(Data(buffer: try await blobs.downloadData("jobstatus", name)))
        let done = queued.succeeded(
            outputs: [.init(name: "image.webp", contentType: "image/webp", bytes: output.count, width: 10, height: 10, container: "processed", blob: "\(jobId)/image.webp")],
            timings: ["totalSeconds": 0.1])
        _ = try await blobs.putBlob("jobstatus", name, body: ByteBuffer(data: try done.json()), options: done.uploadOptions())
        return output
    }
}

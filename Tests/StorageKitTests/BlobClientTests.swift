import Crypto
import DevStorageKit
import Foundation
import NIOCore
import StorageKit
import TestSupport
import Testing

/// Chunks of random bytes, like a request body arriving on a socket (length unknown up front).
struct RandomChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let data: [UInt8]
    let chunkSize: Int
    var failAfter: Int? = nil


    struct AsyncIterator: AsyncIteratorProtocol {
        let source: RandomChunks
        var offset = 0
        mutating func next() async throws -> ByteBuffer? {
            if let failAfter = source.failAfter, offset >= failAfter { throw InputFailure() }
            guard offset < source.data.count else { return nil }
            let end = Swift.min(offset + source.chunkSize, source.data.count)
            defer { offset = end }
            return ByteBuffer(bytes: source.data[offset..<end])
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }
}

/// The error a deliberately failing input throws.
struct InputFailure: Error {}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

@Suite("Blob client against devstorage over real sockets")
struct BlobClientTests {
    @Test("staged upload of a stream of unknown length: blocks, MD5, byte-identical download")
    func stagedUpload() async throws {
        try await withDevStorage { devstorage in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            #expect(try await blobs.createContainer("media"))
            #expect(try await blobs.createContainer("media") == false)
            let data = randomBytes(5 * 1024 * 1024 + 123)
            let result = try await blobs.upload(
                "media", "uploads/clip 01.mp4", from: RandomChunks(data: data, chunkSize: 100_000),
                options: .init(contentType: "video/mp4", metadata: ["origin": "test"]), staging: .init(blockSize: 1 << 20, maxConcurrency: 3))
            #expect(result.blockCount == 6)
            #expect(result.bytes == data.count)
            #expect(result.md5 == Data(Insecure.MD5.hash(data: data)))
            let properties = try await blobs.properties("media", "uploads/clip 01.mp4")
            #expect(properties.contentLength == data.count)
            #expect(properties.contentType == "video/mp4")
            #expect(properties.contentMD5 == result.md5Base64)
            #expect(properties.metadata == ["origin": "test"])
            let downloaded = try await blobs.downloadData("media", "uploads/clip 01.mp4")
            #expect(Array(downloaded.readableBytesView) == data)
            let range = try await blobs.downloadData("media", "uploads/clip 01.mp4", range: (offset: 1_000_000, count: 4096))
            #expect(Array(range.readableBytesView) == Array(data[1_000_000..<1_004_096]))
        }
    }

    @Test("a small stream goes as one Put Blob; an empty one too")
    func smallUpload() async throws {
        try await withDevStorage { devstorage in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            try await blobs.createContainer("media")
            let small = try await blobs.upload("media", "a.txt", from: RandomChunks(data: Array("hello".utf8), chunkSize: 2))
            #expect(small.blockCount == 0)
            #expect(String(buffer: try await blobs.downloadData("media", "a.txt")) == "hello")
            let empty = try await blobs.upload("media", "empty", from: RandomChunks(data: [], chunkSize: 2))
            #expect(empty.bytes == 0)
            #expect(try await blobs.properties("media", "empty").contentLength == 0)
        }
    }

    @Test("a failing input stream commits nothing, and staged blocks stay invisible")
    func failedUploadCommitsNothing() async throws {
        try await withDevStorage { devstorage in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            try await blobs.createContainer("media")
            let data = randomBytes(3 << 20)
            await #expect(throws: InputFailure.self) {
                try await blobs.upload("media", "broken.bin", from: RandomChunks(data: data, chunkSize: 65_536, failAfter: 2 << 20), staging: .init(blockSize: 512 << 10))
            }
            #expect(try await blobs.exists("media", "broken.bin") == false)
            #expect(try await blobs.listAllBlobs("media").isEmpty)
        }
    }

    @Test("listing pages with markers, prefixes and delimiters")
    func listing() async throws {
        try await withDevStorage { devstorage in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            try await blobs.createContainer("media")
            for index in 0..<12 { try await blobs.putBlob("media", "2026/11/\(index < 10 ? "0" : "")\(index).jpg", body: ByteBuffer(string: "\(index)")) }
            try await blobs.putBlob("media", "other.txt", body: ByteBuffer(string: "x"), options: .init(metadata: ["k": "v"]))
            var names: [String] = []
            var marker: String?
            var pages = 0
            repeat {
                let page = try await blobs.listBlobs("media", prefix: "2026/", marker: marker, maxResults: 5)
                names += page.blobs.map(\.name)
                marker = page.nextMarker
                pages += 1
            } while marker != nil
            #expect(pages == 3)
            #expect(names == (0..<12).map { "2026/11/\($0 < 10 ? "0" : "")\($0).jpg" })
            let top = try await blobs.listBlobs("media", delimiter: "/", includeMetadata: true)
            #expect(top.prefixes == ["2026/"])
            #expect(top.blobs.map(\.name) == ["other.txt"])
            #expect(top.blobs.first?.properties.metadata == ["k": "v"])
        }
    }

    @Test("conditional requests: create-only, If-Match, If-None-Match on reads")
    func conditions() async throws {
        try await withDevStorage { devstorage in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            try await blobs.createContainer("media")
            let first = try await blobs.putBlob("media", "a", body: ByteBuffer(string: "1"), options: .init(conditions: .createOnly))
            let again = await #expect(throws: StorageError.self) {
                try await blobs.putBlob("media", "a", body: ByteBuffer(string: "2"), options: .init(conditions: .createOnly))
            }
            #expect(again?.code == .blobAlreadyExists)
            let stale = await #expect(throws: StorageError.self) {
                try await blobs.setMetadata("media", "a", ["x": "y"], conditions: .init(ifMatch: "\"0xdead\""))
            }
            #expect(stale?.code == .conditionNotMet)
            let newETag = try await blobs.setMetadata("media", "a", ["x": "y"], conditions: .init(ifMatch: first.etag))
            #expect(newETag != first.etag)
            let notModified = await #expect(throws: StorageError.self) {
                try await blobs.download("media", "a", conditions: .init(ifNoneMatch: newETag))
            }
            #expect(notModified?.status == 304)
            #expect(try await blobs.delete("media", "a"))
            #expect(try await blobs.delete("media", "a") == false)
            let missing = await #expect(throws: StorageError.self) { try await blobs.properties("media", "a") }
            #expect(missing?.isNotFound == true)
        }
    }

    @Test("retries under injected 503 ServerBusy succeed; exhausted retries surface the error")
    func retriesUnderFaults() async throws {
        try await withDevStorage { devstorage in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            try await blobs.createContainer("media")
            devstorage.faults.failNext(2, operation: "PutBlock")
            devstorage.faults.failNext(1, operation: "PutBlockList")
            let data = randomBytes(3 << 20)
            _ = try await blobs.upload("media", "flaky.bin", from: RandomChunks(data: data, chunkSize: 1 << 20), staging: .init(blockSize: 1 << 20, maxConcurrency: 2))
            #expect(devstorage.faults.injectedFailures == 3)
            #expect(Array(try await blobs.downloadData("media", "flaky.bin").readableBytesView) == data)
            devstorage.faults.failNext(10, operation: "GetBlobProperties")
            let error = await #expect(throws: StorageError.self) { try await blobs.properties("media", "flaky.bin") }
            #expect(error?.code == .serverBusy)
        }
    }

    @Test("a read SAS URL downloads without other credentials and expires")
    func sasURL() async throws {
        try await withDevStorage { devstorage in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            try await blobs.createContainer("processed")
            try await blobs.putBlob("processed", "out/photo 1.webp", body: ByteBuffer(string: "webp bytes"))
            let url = try await blobs.sasURL("processed", "out/photo 1.webp", expiresIn: .seconds(600), contentType: "image/webp")
            let anonymous = StorageAccount(
                name: "devstoreaccount1", blobEndpoint: devstorage.account.blobEndpoint, queueEndpoint: devstorage.account.queueEndpoint,
                credential: .sharedAccessSignature(url.query(percentEncoded: true)!))
            let viaSAS = BlobClient(account: anonymous, retryPolicy: .fast)
            let download = try await viaSAS.download("processed", "out/photo 1.webp")
            #expect(download.properties.contentType == "image/webp")
            #expect(String(buffer: try await download.body.collect(upTo: 1024)) == "webp bytes")
            let denied = await #expect(throws: StorageError.self) { try await viaSAS.putBlob("processed", "out/photo 1.webp", body: ByteBuffer(string: "x")) }
            #expect(denied?.status == 403)
            let expired = try await blobs.sasURL("processed", "out/photo 1.webp", expiresIn: .seconds(60), now: Date().addingTimeInterval(-3600))
            let old = BlobClient(account: StorageAccount(name: "devstoreaccount1", blobEndpoint: devstorage.account.blobEndpoint, queueEndpoint: devstorage.account.queueEndpoint, credential: .sharedAccessSignature(expired.query(percentEncoded: true)!)), retryPolicy: .fast)
            let refused = await #expect(throws: StorageError.self) { try await old.downloadData("processed", "out/photo 1.webp") }
            #expect(refused?.code == .authenticationFailed)
        }
    }

    @Test("restarting devstorage between an upload and a download loses nothing")
    func restart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("devstorage-restart-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = randomBytes(2 << 20)
        try await runDevStorage(dataDirectory: directory) { (devstorage: RunningDevStorage) async throws in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            try await blobs.createContainer("rawfiles")
            _ = try await blobs.upload("rawfiles", "keep.bin", from: RandomChunks(data: data, chunkSize: 300_000), options: .init(metadata: ["a": "b"]), staging: .init(blockSize: 1 << 20))
        }
        try await runDevStorage(dataDirectory: directory) { (devstorage: RunningDevStorage) async throws in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            #expect(Array(try await blobs.downloadData("rawfiles", "keep.bin").readableBytesView) == data)
            #expect(try await blobs.properties("rawfiles", "keep.bin").metadata == ["a": "b"])
        }
    }

    @Test("download to a file streams every byte")
    func downloadToFile() async throws {
        try await withDevStorage { devstorage in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            try await blobs.createContainer("media")
            let data = randomBytes(1_500_000)
            try await blobs.putBlob("media", "f.bin", body: ByteBuffer(bytes: data))
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("dl-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect(try await blobs.download("media", "f.bin", toFile: path) == data.count)
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == data)
        }
    }
}

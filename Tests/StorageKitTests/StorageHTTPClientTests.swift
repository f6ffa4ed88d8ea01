import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import NIOCore
import StorageKit
import TestSupport
import Testing

/// A gzip member holding `data` in stored (uncompressed) deflate blocks: valid gzip that any
/// decompressor would inflate back to `data`.
func gzipStored(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]
    var offset = 0
    repeat {
        let count = min(65_535, data.count - offset)
        let final: UInt8 = offset + count == data.count ? 1 : 0
        out += [final, UInt8(count & 0xff), UInt8(count >> 8), UInt8(~count & 0xff), UInt8((~count >> 8) & 0xff)]
        out += data[offset..<offset + count]
        offset += count
    } while offset < data.count
    func littleEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xff) } }
    return out + littleEndian(crc32(data)) + littleEndian(UInt32(truncatingIfNeeded: data.count))
}

/// CRC-32 (IEEE 802.3), as gzip's trailer needs it.
func crc32(_ data: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xffff_ffff
    for byte in data {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
    }
    return ~crc
}

@Suite("StorageKit's own HTTP client: no decompression, no redirects")
struct StorageHTTPClientTests {
    @Test("a blob stored with Content-Encoding: gzip downloads exactly as stored and matches its Content-MD5")
    func gzipBlobDownloadsAsStored() async throws {
        try await withDevStorage { devstorage in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)  // the default transport
            try await blobs.createContainer("media")
            let stored = gzipStored(Array(String(repeating: "<p>hello, storage</p>\n", count: 200).utf8))
            let upload = try await blobs.putBlob("media", "page.html", body: ByteBuffer(bytes: stored), options: .init(contentType: "text/html"))
            try await blobs.setHTTPHeaders("media", "page.html", .init(contentType: "text/html", contentEncoding: "gzip", contentMD5: upload.md5))
            let download = try await blobs.download("media", "page.html")
            #expect(download.properties.contentEncoding == "gzip")
            let body = try await download.body.collect(upTo: 1 << 20)
            #expect(Array(body.readableBytesView) == stored)
            #expect(Data(Insecure.MD5.hash(data: Array(body.readableBytesView))).base64EncodedString() == download.properties.contentMD5)
            #expect(Array(try await blobs.downloadData("media", "page.html").readableBytesView) == stored)
        }
    }

    @Test("a 3xx is reported as an error, not followed")
    func redirectNotFollowed() async throws {
        let followed = NIOLockedValueBox(0)
        let router = Router()
        router.get("/media/moved") { _, _ in Response(status: .found, headers: [.location: "/media/elsewhere"]) }
        router.get("/media/elsewhere") { _, _ in
            followed.withLockedValue { $0 += 1 }
            return "somewhere else"
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let endpoint = try #require(URL(string: "http://127.0.0.1:\(port)"))
            let account = StorageAccount(name: "acct", blobEndpoint: endpoint, queueEndpoint: endpoint, credential: .anonymous)
            for blobs in [BlobClient(account: account, retryPolicy: .fast), BlobClient(account: account, transport: StorageHTTPClient(), retryPolicy: .fast)] {
                let error = await #expect(throws: StorageError.self) { try await blobs.downloadData("media", "moved") }
                #expect(error?.status == 302)
                if let transport = blobs.client.transport as? StorageHTTPClient { try await transport.shutdown() }
            }
            #expect(followed.withLockedValue { $0 } == 0)
        }
    }

    @Test("the configuration: pool sized for staged uploads, own timeouts")
    func configuration() {
        let staged = StorageHTTPClient.Configuration.stagedUploads(concurrentUploads: 32, blocksPerUpload: 4)
        #expect(staged.maxConnectionsPerHost == 136)
        #expect(StorageHTTPClient.Configuration.stagedUploads(concurrentUploads: 1, blocksPerUpload: 1).maxConnectionsPerHost == 16)
        let configuration = StorageHTTPClient.Configuration().httpClientConfiguration
        #expect(configuration.timeout.connect == .seconds(5))
        #expect(configuration.timeout.read == .seconds(60))
        #expect(StorageHTTPClient.shared.configuration.maxConnectionsPerHost == 16)
    }
}

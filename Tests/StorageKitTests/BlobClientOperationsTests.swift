import DevStorageKit
import Foundation
import NIOCore
import StorageKit
import TestSupport
import Testing

@Suite("Blob client: copy, block list, HTTP headers against devstorage", .serialized)
struct BlobClientOperationsTests {
    @Test("copyBlob within the account: success, copy id, identical bytes; abortCopy of a finished copy is NoPendingCopyOperation")
    func copy() async throws {
        try await withDevStorage { devstorage in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            try await blobs.createContainer("media")
            try await blobs.createContainer("processed")
            let data = ByteBuffer(bytes: randomBytes(300_000))
            try await blobs.putBlob("media", "in/clip 100%+ü.mp4", body: data, options: .init(contentType: "video/mp4", metadata: ["origin": "upload"]))
            let result = try await blobs.copyBlob(from: "media", "in/clip 100%+ü.mp4", to: "processed", "out/clip.mp4")
            #expect(result.status == "success")
            #expect(!result.copyID.isEmpty)
            #expect(try await blobs.downloadData("processed", "out/clip.mp4") == data)
            let properties = try await blobs.properties("processed", "out/clip.mp4")
            #expect(properties.copyID == result.copyID)
            #expect(properties.copyStatus == "success")
            #expect(properties.metadata == ["origin": "upload"])
            #expect(properties.contentType == "video/mp4")
            let renamed = try await blobs.copyBlob(from: "media", "in/clip 100%+ü.mp4", to: "processed", "out/clip.mp4", metadata: ["step": "2"])
            #expect(renamed.etag != result.etag)
            #expect(try await blobs.properties("processed", "out/clip.mp4").metadata == ["step": "2"])
            let error = await #expect(throws: StorageError.self) {
                try await blobs.abortCopy("processed", "out/clip.mp4", copyID: renamed.copyID)
            }
            #expect(error?.status == 409)
            #expect(error?.code.rawValue == "NoPendingCopyOperation")
            let exists = await #expect(throws: StorageError.self) {
                try await blobs.copyBlob(from: "media", "in/clip 100%+ü.mp4", to: "processed", "out/clip.mp4", conditions: .createOnly)
            }
            #expect(exists?.code == .blobAlreadyExists)
        }
    }

    @Test("blockList: committed, uncommitted and all")
    func blockList() async throws {
        try await withDevStorage { devstorage in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            try await blobs.createContainer("media")
            let ids = ["MDAw", "MDAx", "MDAy"]
            for (index, id) in ids.enumerated() {
                try await blobs.putBlock("media", "staged", blockID: id, body: ByteBuffer(bytes: [UInt8](repeating: UInt8(index), count: 100 + index)))
            }
            #expect(try await blobs.blockList("media", "staged", type: .uncommitted).uncommitted.map(\.id) == ids)
            try await blobs.putBlockList("media", "staged", blockIDs: Array(ids.prefix(2)))
            try await blobs.putBlock("media", "staged", blockID: "MDAz", body: ByteBuffer(string: "x"))
            let all = try await blobs.blockList("media", "staged")
            #expect(all.committed.map(\.id) == ["MDAw", "MDAx"])
            #expect(all.committed.map(\.size) == [100, 101])
            #expect(all.uncommitted.map(\.id) == ["MDAz"])
            #expect(all.uncommitted.map(\.size) == [1])
            let committed = try await blobs.blockList("media", "staged", type: .committed)
            #expect(committed.uncommitted.isEmpty)
            #expect(committed.committed.count == 2)
        }
    }

    @Test("setHTTPHeaders: stored and served verbatim; headers not given are cleared")
    func httpHeaders() async throws {
        try await withDevStorage { devstorage in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            try await blobs.createContainer("media")
            let put = try await blobs.putBlob("media", "page.html", body: ByteBuffer(string: "<p>"), options: .init(contentType: "text/html", cacheControl: "no-cache"))
            let headers = BlobHTTPHeaders(
                contentType: "text/html; charset=utf-8", contentEncoding: "identity", contentLanguage: "fr-CH",
                contentDisposition: "inline; filename=\"page.html\"", cacheControl: "public, max-age=600", contentMD5: put.md5)
            let etag = try await blobs.setHTTPHeaders("media", "page.html", headers)
            #expect(etag != put.etag)
            let properties = try await blobs.properties("media", "page.html")
            #expect(properties.contentType == "text/html; charset=utf-8")
            #expect(properties.contentEncoding == "identity")
            #expect(properties.contentLanguage == "fr-CH")
            #expect(properties.contentDisposition == "inline; filename=\"page.html\"")
            #expect(properties.cacheControl == "public, max-age=600")
            #expect(properties.contentMD5 == put.md5Base64)
            try await blobs.setHTTPHeaders("media", "page.html", BlobHTTPHeaders(contentType: "text/plain"))
            let cleared = try await blobs.properties("media", "page.html")
            #expect(cleared.contentType == "text/plain")
            #expect(cleared.cacheControl == nil)
            #expect(cleared.contentMD5 == nil)
            let stale = await #expect(throws: StorageError.self) {
                try await blobs.setHTTPHeaders("media", "page.html", headers, conditions: BlobConditions(ifMatch: etag))
            }
            #expect(stale?.status == 412)
        }
    }
}

import Crypto
import DevStorageKit
import Foundation
import NIOHTTP1
import StorageKit
import Testing
import TestSupport

/// Azure's documented behaviour, one case a test (issue 14, item 3).
@Suite("Conformance with Azure's documented behaviour", .serialized, .timeLimit(.minutes(2)))
struct ConformanceTests {
    @Test("Content-MD5 that is base64 but not 16 bytes is 400 InvalidMd5; a wrong digest 400 Md5Mismatch")
    func md5Shapes() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            for value in ["AAAA", Data(repeating: 1, count: 15).base64EncodedString(), Data(repeating: 1, count: 17).base64EncodedString()] {
                let response = try await client.putBlob("media", "a", Data("x".utf8), headers: [("Content-MD5", value)])
                #expect(response.status == 400)
                #expect(response.errorCode == "InvalidMd5")
            }
            let wrong = try await client.putBlob("media", "a", Data("x".utf8), headers: [("Content-MD5", Data(repeating: 0, count: 16).base64EncodedString())])
            #expect(wrong.status == 400)
            #expect(wrong.errorCode == "Md5Mismatch")
        }
    }

    @Test("a range starting past the end is 416 InvalidRange with Content-Range: bytes */N")
    func rangePastEnd() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            try await client.putBlob("media", "ten", Data("0123456789".utf8))
            for range in ["bytes=10-20", "bytes=10-", "bytes=500-600"] {
                let response = try await client.send(.GET, "/media/ten", headers: [("x-ms-range", range)])
                #expect(response.status == 416)
                #expect(response.errorCode == "InvalidRange")
                #expect(response.header("Content-Range") == "bytes */10")
            }
        }
    }

    @Test("x-ms-range-get-content-md5: the range's MD5 in Content-MD5, the blob's in x-ms-blob-content-md5; over 4 MiB is 400")
    func rangeMD5() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            // 5 MiB built from a 4099-byte pattern (cheap in a debug build: no per-byte closure).
            let pattern = Data((0..<4099).map { UInt8(truncatingIfNeeded: $0 &* 13) })
            var data = Data(capacity: 5 << 20)
            while data.count < 5 << 20 { data.append(pattern) }
            try await client.putBlob("media", "big", data)
            let response = try await client.send(.GET, "/media/big", headers: [("x-ms-range", "bytes=100-199"), ("x-ms-range-get-content-md5", "true")])
            #expect(response.status == 206)
            #expect(response.body == data[100...199])
            #expect(response.header("Content-MD5") == Data(Insecure.MD5.hash(data: data[100...199])).base64EncodedString())
            #expect(response.header("x-ms-blob-content-md5") == Data(Insecure.MD5.hash(data: data)).base64EncodedString())
            let tooLong = try await client.send(.GET, "/media/big", headers: [("x-ms-range", "bytes=0-4194304"), ("x-ms-range-get-content-md5", "true")])
            #expect(tooLong.status == 400)
        }
    }

    @Test("If-None-Match with the current ETag: GET and HEAD answer 304; If-None-Match: * on an existing blob for writes is 409")
    func ifNoneMatch() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            let put = try await client.putBlob("media", "a", Data("x".utf8))
            let etag = try #require(put.header("ETag"))
            for method in [HTTPMethod.GET, .HEAD] {
                let response = try await client.send(method, "/media/a", headers: [("If-None-Match", etag)])
                #expect(response.status == 304)
                #expect(response.body.isEmpty)
            }
            #expect(try await client.send(.GET, "/media/a", headers: [("If-None-Match", "\"0x0\"")]).status == 200)
            let overwrite = try await client.putBlob("media", "a", Data("y".utf8), headers: [("If-None-Match", "*")])
            #expect(overwrite.status == 409)
            #expect(overwrite.errorCode == "BlobAlreadyExists")
        }
    }

    @Test("If-Modified-Since / If-Unmodified-Since at equality with Last-Modified: not modified since (304 / passes)")
    func datesAtEquality() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            let put = try await client.putBlob("media", "a", Data("x".utf8))
            let lastModified = try #require(put.header("Last-Modified"))
            #expect(try await client.send(.GET, "/media/a", headers: [("If-Modified-Since", lastModified)]).status == 304)
            #expect(try await client.send(.GET, "/media/a", headers: [("If-Unmodified-Since", lastModified)]).status == 200)
            let earlier = HTTPDate.format(try #require(HTTPDate.parse(lastModified)).addingTimeInterval(-1))
            #expect(try await client.send(.GET, "/media/a", headers: [("If-Modified-Since", earlier)]).status == 200)
            #expect(try await client.send(.GET, "/media/a", headers: [("If-Unmodified-Since", earlier)]).status == 412)
            // Writes: at equality If-Unmodified-Since passes and If-Modified-Since fails.
            #expect(try await client.putBlob("media", "a", Data("y".utf8), headers: [("If-Modified-Since", lastModified)]).status == 412)
            #expect(try await client.send(.PUT, "/media/a", query: [("comp", "metadata")], headers: [("If-Unmodified-Since", lastModified)]).status == 200)
        }
    }

    @Test("the ETag wins over dates: If-None-Match with another ETag lets a read through although If-Modified-Since fails")
    func etagWins() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            let put = try await client.putBlob("media", "a", Data("x".utf8))
            let etag = try #require(put.header("ETag"))
            let future = HTTPDate.format(Date().addingTimeInterval(3600))
            let past = HTTPDate.format(Date().addingTimeInterval(-3600))
            #expect(try await client.send(.GET, "/media/a", headers: [("If-None-Match", "\"0x0\""), ("If-Modified-Since", future)]).status == 200)
            #expect(try await client.send(.GET, "/media/a", headers: [("If-None-Match", etag), ("If-Modified-Since", future)]).status == 304)
            #expect(try await client.send(.GET, "/media/a", headers: [("If-None-Match", etag), ("If-Modified-Since", past)]).status == 200)
            #expect(try await client.send(.GET, "/media/a", headers: [("If-Match", etag), ("If-Unmodified-Since", past)]).status == 412)
        }
    }

    @Test("block ids of different lengths in one blob are 400; a committed list naming an unknown block is 400 InvalidBlockList")
    func blockIDs() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            try await client.putBlock("media", "b", id: "QUFB", Data("a".utf8))
            let longer = try await client.putBlock("media", "b", id: "QUFBQUFB", Data("b".utf8))
            #expect(longer.status == 400)
            #expect(longer.errorCode == "InvalidBlobOrBlock")
            let unknown = try await client.putBlockList("media", "b", latest: ["QUFB", "QkJC"])
            #expect(unknown.status == 400)
            #expect(unknown.errorCode == "InvalidBlockList")
            let xml = #"<?xml version="1.0" encoding="utf-8"?><BlockList><Committed>QUFB</Committed></BlockList>"#
            let notCommitted = try await client.send(.PUT, "/media/b", query: [("comp", "blocklist")], body: Data(xml.utf8))
            #expect(notCommitted.errorCode == "InvalidBlockList")
        }
    }

    @Test("re-committing a subset of the committed blocks keeps only that subset")
    func recommitSubset() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            for index in 0..<4 { try await client.putBlock("media", "b", id: blockID(index), Data(repeating: UInt8(65 + index), count: 10)) }
            try await client.putBlockList("media", "b", latest: (0..<4).map(blockID))
            let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Committed>\(blockID(2))</Committed><Committed>\(blockID(0))</Committed></BlockList>"
            #expect(try await client.send(.PUT, "/media/b", query: [("comp", "blocklist")], body: Data(xml.utf8)).status == 201)
            #expect(try await client.send(.GET, "/media/b").body == Data(repeating: 67, count: 10) + Data(repeating: 65, count: 10))
            let list = try await client.send(.GET, "/media/b", query: [("comp", "blocklist"), ("blocklisttype", "all")])
            #expect(list.elements("Name") == [blockID(2), blockID(0)])
            let again = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Committed>\(blockID(1))</Committed></BlockList>"
            #expect(try await client.send(.PUT, "/media/b", query: [("comp", "blocklist")], body: Data(again.utf8)).errorCode == "InvalidBlockList")
        }
    }
}

import AsyncHTTPClient
import Crypto
import DevStorageKit
import Foundation
import NIOHTTP1
import NIOCore
import StorageKit
import Testing
import TestSupport

@Suite("Blob service", .timeLimit(.minutes(2)))
struct BlobTests {
    @Test("containers: create 201, again 409, bad names 400, properties, delete 202")
    func containers() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            let created = try await client.send(.PUT, "/media", query: [("restype", "container")], headers: [("x-ms-meta-Team", "video")])
            #expect(created.status == 201)
            #expect(created.header("ETag") != nil)
            #expect(try await client.createContainer("media").errorCode == "ContainerAlreadyExists")
            #expect(try await client.createContainer("Bad_Name").errorCode == "InvalidResourceName")
            #expect(try await client.createContainer("a--b").errorCode == "InvalidResourceName")
            #expect(try await client.createContainer("ab").errorCode == "OutOfRangeInput")
            let properties = try await client.send(.HEAD, "/media", query: [("restype", "container")])
            #expect(properties.status == 200)
            #expect(properties.header("x-ms-meta-Team") == "video")
            #expect(try await client.send(.DELETE, "/media", query: [("restype", "container")]).status == 202)
            let gone = try await client.send(.HEAD, "/media", query: [("restype", "container")])
            #expect(gone.status == 404)
            #expect(gone.errorCode == "ContainerNotFound")
            #expect(gone.body.isEmpty)
            #expect(try await client.putBlob("media", "x", Data()).errorCode == "ContainerNotFound")
        }
    }

    @Test("Content-MD5 mismatch is 400 Md5Mismatch and stores nothing")
    func md5Mismatch() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            let response = try await client.putBlob(
                "media", "a.txt", Data("hello".utf8), headers: [("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww==")])
            #expect(response.status == 400)
            #expect(response.errorCode == "Md5Mismatch")
            #expect(try await client.send(.GET, "/media/a.txt").errorCode == "BlobNotFound")
            let invalid = try await client.putBlob("media", "a.txt", Data("hello".utf8), headers: [("Content-MD5", "nope")])
            #expect(invalid.errorCode == "InvalidMd5")
        }
    }

    @Test("Put Blob without Content-Length (chunked) is 411")
    func chunkedUpload() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            var canonical = CanonicalRequest(
                method: "PUT", encodedPath: "/devstoreaccount1/media/chunked", headers: [
                    ("x-ms-version", StorageDefaults.serviceVersion), ("x-ms-blob-type", "BlockBlob"),
                ])
            try SharedKeySigner(accountName: storage.accountName, accountKey: storage.accountKey).sign(&canonical)
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(storage.blobPort)/devstoreaccount1/media/chunked")
            request.method = .PUT
            for (name, value) in canonical.headers { request.headers.add(name: name, value: value) }
            let (chunks, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
            continuation.yield(ByteBuffer(string: "abc"))
            continuation.yield(ByteBuffer(string: "def"))
            continuation.finish()
            request.body = .stream(chunks, length: .unknown)
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status.code == 411)
            #expect(response.headers.first(name: "x-ms-error-code") == "MissingContentLengthHeader")
        }
    }

    @Test("ranges: x-ms-range wins over Range; 206 with Content-Range; end clipped; 416 past the end and on empty blobs")
    func ranges() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            try await client.putBlob("media", "digits", Data("0123456789".utf8))
            try await client.putBlob("media", "empty", Data())
            let ranged = try await client.send(.GET, "/media/digits", headers: [("x-ms-range", "bytes=2-4"), ("Range", "bytes=0-0")])
            #expect(ranged.status == 206)
            #expect(ranged.text == "234")
            #expect(ranged.header("Content-Range") == "bytes 2-4/10")
            #expect(ranged.header("x-ms-blob-content-md5") != nil)
            let standard = try await client.send(.GET, "/media/digits", headers: [("Range", "bytes=7-")])
            #expect(standard.text == "789")
            let clipped = try await client.send(.GET, "/media/digits", headers: [("x-ms-range", "bytes=8-100")])
            #expect(clipped.text == "89")
            #expect(clipped.header("Content-Range") == "bytes 8-9/10")
            let md5 = try await client.send(
                .GET, "/media/digits", headers: [("x-ms-range", "bytes=0-2"), ("x-ms-range-get-content-md5", "true")])
            #expect(md5.header("Content-MD5") == Data(Insecure.MD5.hash(data: Data("012".utf8))).base64EncodedString())
            let past = try await client.send(.GET, "/media/digits", headers: [("x-ms-range", "bytes=10-")])
            #expect(past.status == 416)
            #expect(past.errorCode == "InvalidRange")
            #expect(past.header("Content-Range") == "bytes */10")
            let empty = try await client.send(.GET, "/media/empty", headers: [("x-ms-range", "bytes=0-")])
            #expect(empty.status == 416)
            let whole = try await client.send(.GET, "/media/empty")
            #expect(whole.status == 200)
            #expect(whole.body.isEmpty)
        }
    }

    @Test("If-None-Match: * on an existing blob is 409 BlobAlreadyExists (Put Blob and Put Block List)")
    func createOnly() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            #expect(try await client.putBlob("media", "a", Data("1".utf8), headers: [("If-None-Match", "*")]).status == 201)
            let again = try await client.putBlob("media", "a", Data("2".utf8), headers: [("If-None-Match", "*")])
            #expect(again.status == 409)
            #expect(again.errorCode == "BlobAlreadyExists")
            try await client.putBlock("media", "a", id: blockID(0), Data("3".utf8))
            let list = try await client.putBlockList("media", "a", latest: [blockID(0)], headers: [("If-None-Match", "*")])
            #expect(list.errorCode == "BlobAlreadyExists")
            #expect(try await client.send(.GET, "/media/a").text == "1")
        }
    }

    @Test("conditional reads give 304 (empty body) or 412; conditional writes 412")
    func conditionals() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            let put = try await client.putBlob("media", "a", Data("1".utf8))
            let etag = try #require(put.header("ETag"))
            let lastModified = try #require(put.header("Last-Modified"))
            let notModified = try await client.send(.GET, "/media/a", headers: [("If-None-Match", etag)])
            #expect(notModified.status == 304)
            #expect(notModified.body.isEmpty)
            let since = try await client.send(.GET, "/media/a", headers: [("If-Modified-Since", lastModified)])
            #expect(since.status == 304)
            let match = try await client.send(.GET, "/media/a", headers: [("If-Match", etag)])
            #expect(match.status == 200)
            let mismatch = try await client.send(.GET, "/media/a", headers: [("If-Match", "\"0x1\"")])
            #expect(mismatch.status == 412)
            #expect(mismatch.errorCode == "ConditionNotMet")
            let unmodified = try await client.send(
                .GET, "/media/a", headers: [("If-Unmodified-Since", HTTPDate.format(Date().addingTimeInterval(-3600)))])
            #expect(unmodified.status == 412)
            let overwrite = try await client.putBlob("media", "a", Data("2".utf8), headers: [("If-Match", "\"0x1\"")])
            #expect(overwrite.status == 412)
            let missing = try await client.putBlob("media", "new", Data("2".utf8), headers: [("If-Match", etag)])
            #expect(missing.status == 412)
            let twoTags = try await client.send(.GET, "/media/a", headers: [("If-Match", "\(etag), \"0x2\"")])
            #expect(twoTags.errorCode == "MultipleConditionHeadersNotSupported")
            let ok = try await client.putBlob("media", "a", Data("2".utf8), headers: [("If-Match", etag)])
            #expect(ok.status == 201)
            #expect(ok.header("ETag") != etag)
        }
    }

    @Test("metadata: set replaces the set, changes the ETag, names keep their case")
    func metadata() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            let put = try await client.putBlob("media", "a", Data("1".utf8), headers: [("x-ms-meta-Origin", "up")])
            let set = try await client.send(
                .PUT, "/media/a", query: [("comp", "metadata")], headers: [("x-ms-meta-Step_2", "b"), ("x-ms-meta-step2", "c")])
            #expect(set.status == 200)
            #expect(set.header("ETag") != put.header("ETag"))
            let get = try await client.send(.GET, "/media/a", query: [("comp", "metadata")])
            #expect(get.header("x-ms-meta-Step_2") == "b")
            #expect(get.header("x-ms-meta-step2") == "c")
            #expect(get.header("x-ms-meta-Origin") == nil)
            #expect(get.header("ETag") == set.header("ETag"))
            let invalid = try await client.send(.PUT, "/media/a", query: [("comp", "metadata")], headers: [("x-ms-meta-1abc", "x")])
            #expect(invalid.errorCode == "InvalidMetadata")
            #expect(try await client.send(.DELETE, "/media/a").status == 202)
            #expect(try await client.send(.DELETE, "/media/a").errorCode == "BlobNotFound")
        }
    }

    @Test("staged upload: Put Block ×N then Put Block List, ranged read; uncommitted blocks are invisible")
    func stagedUpload() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            let parts = (0..<5).map { index in Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) }) }
            for (index, part) in parts.enumerated() {
                let md5 = Data(Insecure.MD5.hash(data: part)).base64EncodedString()
                let response = try await client.putBlock("media", "big.bin", id: blockID(index), part, headers: [("Content-MD5", md5)])
                #expect(response.status == 201)
                #expect(response.header("Content-MD5") == md5)
            }
            // Staged but uncommitted: not readable, not listed.
            #expect(try await client.send(.GET, "/media/big.bin").errorCode == "BlobNotFound")
            let listing = try await client.send(.GET, "/media", query: [("restype", "container"), ("comp", "list")])
            #expect(listing.elements("Name").isEmpty)
            // Block id lengths must agree; unknown ids fail the commit.
            let other = Data("other-length-id".utf8).base64EncodedString()
            #expect(try await client.putBlock("media", "big.bin", id: other, Data("x".utf8)).errorCode == "InvalidBlobOrBlock")
            #expect(try await client.putBlockList("media", "big.bin", latest: [blockID(9)]).errorCode == "InvalidBlockList")
            let bad = try await client.putBlock("media", "big.bin", id: blockID(0), Data("x".utf8), headers: [("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww==")])
            #expect(bad.errorCode == "Md5Mismatch")

            let order = [3, 0, 1, 2, 4]
            let commit = try await client.putBlockList(
                "media", "big.bin", latest: order.map(blockID), headers: [("x-ms-blob-content-type", "application/x-test"), ("x-ms-meta-Kind", "staged")])
            #expect(commit.status == 201)
            let expected = order.reduce(Data()) { $0 + parts[$1] }
            let whole = try await client.send(.GET, "/media/big.bin")
            #expect(whole.body == expected)
            #expect(whole.header("Content-Type") == "application/x-test")
            #expect(whole.header("Content-MD5") == nil)
            #expect(whole.header("x-ms-meta-Kind") == "staged")
            let ranged = try await client.send(.GET, "/media/big.bin", headers: [("x-ms-range", "bytes=999-2000")])
            #expect(ranged.status == 206)
            #expect(ranged.body == expected[999...2000])

            // Re-commit a subset of committed blocks plus a new one; other staged blocks are discarded.
            try await client.putBlock("media", "big.bin", id: blockID(7), Data("seven".utf8))
            try await client.putBlock("media", "big.bin", id: blockID(8), Data("eight".utf8))
            let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Committed>\(blockID(4))</Committed><Uncommitted>\(blockID(7))</Uncommitted><Latest>\(blockID(0))</Latest></BlockList>"
            let recommit = try await client.send(.PUT, "/media/big.bin", query: [("comp", "blocklist")], body: Data(xml.utf8))
            #expect(recommit.status == 201)
            #expect(try await client.send(.GET, "/media/big.bin").body == parts[4] + Data("seven".utf8) + parts[0])
            let blocks = try await client.send(.GET, "/media/big.bin", query: [("comp", "blocklist"), ("blocklisttype", "all")])
            #expect(blocks.elements("Name") == [blockID(4), blockID(7), blockID(0)])
            #expect(try await client.putBlockList("media", "big.bin", latest: [blockID(8)]).errorCode == "InvalidBlockList")
        }
    }

    @Test("list blobs: byte order, prefix, delimiter, paging with an opaque marker, include=metadata")
    func listing() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            let names = ["b.txt", "a/1.txt", "a/2.txt", "a/sub/3.txt", "Z.txt", "c%C3%A9.txt", "a-b.txt"]
            for name in names { try await client.putBlob("media", name, Data(name.utf8), headers: [("x-ms-meta-Name", "n")]) }
            let all = try await client.send(.GET, "/media", query: [("restype", "container"), ("comp", "list")])
            #expect(all.elements("Name") == ["Z.txt", "a-b.txt", "a/1.txt", "a/2.txt", "a/sub/3.txt", "b.txt", "cé.txt"])
            #expect(all.text.contains("<NextMarker />"))
            #expect(!all.text.contains("<Metadata>"))

            var seen: [String] = []
            var marker: String? = nil
            var pages = 0
            repeat {
                var query = [("restype", "container"), ("comp", "list"), ("maxresults", "2"), ("include", "metadata")]
                if let marker { query.append(("marker", marker)) }
                let page = try await client.send(.GET, "/media", query: query)
                #expect(page.status == 200)
                #expect(page.element("MaxResults") == "2")
                #expect(page.text.contains("<Metadata><Name>n</Name></Metadata>"))
                seen += page.elements("Name").filter { $0 != "n" }
                marker = page.element("NextMarker").flatMap { $0.isEmpty ? nil : $0 }
                pages += 1
                #expect(pages < 10)
            } while marker != nil && pages < 10
            #expect(pages == 4)
            #expect(seen == all.elements("Name"))

            let grouped = try await client.send(
                .GET, "/media", query: [("restype", "container"), ("comp", "list"), ("delimiter", "/"), ("prefix", "a")])
            #expect(grouped.text.contains("<Prefix>a</Prefix>"))
            #expect(grouped.elements("Name") == ["a-b.txt", "a/"])
            #expect(grouped.text.contains("<BlobPrefix><Name>a/</Name></BlobPrefix>"))
            let nested = try await client.send(
                .GET, "/media", query: [("restype", "container"), ("comp", "list"), ("delimiter", "/"), ("prefix", "a/")])
            #expect(nested.elements("Name") == ["a/1.txt", "a/2.txt", "a/sub/"])
            let tooMany = try await client.send(.GET, "/media", query: [("restype", "container"), ("comp", "list"), ("maxresults", "5001")])
            #expect(tooMany.errorCode == "OutOfRangeQueryParameterValue")
        }
    }

    @Test("a 4 MiB upload streams through and reads back intact")
    func largeBody() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            let data = Data((0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) })
            let put = try await client.putBlob("media", "big", data)
            #expect(put.header("Content-MD5") == Data(Insecure.MD5.hash(data: data)).base64EncodedString())
            let get = try await client.send(.GET, "/media/big")
            #expect(get.body == data)
        }
    }
}

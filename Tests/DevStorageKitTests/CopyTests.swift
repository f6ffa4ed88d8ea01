import Crypto
import DevStorageKit
import Foundation
import NIOHTTP1
import StorageKit
import Testing
import TestSupport

@Suite("Copy Blob, Put Blob/Block From URL, Set Blob Properties and Tier", .serialized, .timeLimit(.minutes(2)))
struct CopyTests {
    func sourceURL(_ storage: RunningDevStorage, _ path: String) -> String {
        "http://127.0.0.1:\(storage.blobPort)/\(storage.accountName)\(path)"
    }

    @Test("Copy Blob: 202, x-ms-copy-status success, copy id; content, headers, MD5, metadata and block list copied")
    func copyBlob() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            try await client.createContainer("other")
            for index in 0..<3 { try await client.putBlock("media", "src", id: blockID(index), Data(repeating: UInt8(index), count: 1000)) }
            try await client.putBlockList(
                "media", "src", latest: (0..<3).map(blockID), headers: [("x-ms-blob-content-type", "video/mp4"), ("x-ms-meta-Origin", "src")])
            let copied = try await client.send(.PUT, "/other/d%C3%BCst%20100%25.bin", headers: [("x-ms-copy-source", sourceURL(storage, "/media/src"))])
            #expect(copied.status == 202)
            #expect(copied.header("x-ms-copy-status") == "success")
            let copyID = try #require(copied.header("x-ms-copy-id"))
            let read = try await client.send(.GET, "/other/d%C3%BCst%20100%25.bin")
            #expect(read.body == Data(repeating: 0, count: 1000) + Data(repeating: 1, count: 1000) + Data(repeating: 2, count: 1000))
            #expect(read.header("Content-Type") == "video/mp4")
            #expect(read.header("x-ms-meta-Origin") == "src")
            #expect(read.header("x-ms-copy-id") == copyID)
            #expect(read.header("x-ms-copy-status") == "success")
            #expect(read.header("x-ms-copy-progress") == "3000/3000")
            let blocks = try await client.send(.GET, "/other/d%C3%BCst%20100%25.bin", query: [("comp", "blocklist")])
            #expect(blocks.elements("Name") == (0..<3).map(blockID))
            // Deleting the source leaves the copy whole: it has its own links to the data.
            #expect(try await client.send(.DELETE, "/media/src").status == 202)
            #expect(try await client.send(.GET, "/other/d%C3%BCst%20100%25.bin").body.count == 3000)
        }
    }

    @Test("Copy Blob conditions: If-None-Match * on an existing destination is 409; source conditions 412; missing source 404")
    func copyConditions() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            let source = try await client.putBlob("media", "a", Data("a".utf8))
            try await client.putBlob("media", "b", Data("b".utf8))
            let url = sourceURL(storage, "/media/a")
            #expect(try await client.send(.PUT, "/media/b", headers: [("x-ms-copy-source", url), ("If-None-Match", "*")]).errorCode == "BlobAlreadyExists")
            let stale = try await client.send(.PUT, "/media/c", headers: [("x-ms-copy-source", url), ("x-ms-source-if-match", "\"0x1\"")])
            #expect(stale.status == 412)
            #expect(stale.errorCode == "SourceConditionNotMet")
            let matched = try await client.send(
                .PUT, "/media/c", headers: [("x-ms-copy-source", url), ("x-ms-source-if-match", source.header("ETag") ?? "")])
            #expect(matched.status == 202)
            let missing = try await client.send(.PUT, "/media/d", headers: [("x-ms-copy-source", sourceURL(storage, "/media/nope"))])
            #expect(missing.status == 404)
            #expect(missing.errorCode == "CannotVerifyCopySource")
            let foreign = try await client.send(.PUT, "/media/d", headers: [("x-ms-copy-source", "http://example.com/acct/c/b")])
            #expect(foreign.errorCode == "CannotVerifyCopySource")
            #expect(try await client.send(.PUT, "/media/d", headers: [("x-ms-copy-source", "not a url")]).errorCode == "InvalidHeaderValue")
        }
    }

    @Test("Abort Copy: a finished copy is 409 NoPendingCopyOperation, another id 409 CopyIdMismatch")
    func abortCopy() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            try await client.putBlob("media", "a", Data("a".utf8))
            let copied = try await client.send(.PUT, "/media/b", headers: [("x-ms-copy-source", sourceURL(storage, "/media/a"))])
            let copyID = try #require(copied.header("x-ms-copy-id"))
            let abort = try await client.send(
                .PUT, "/media/b", query: [("comp", "copy"), ("copyid", copyID)], headers: [("x-ms-copy-action", "abort")])
            #expect(abort.status == 409)
            #expect(abort.errorCode == "NoPendingCopyOperation")
            let other = try await client.send(
                .PUT, "/media/b", query: [("comp", "copy"), ("copyid", UUID().uuidString)], headers: [("x-ms-copy-action", "abort")])
            #expect(other.errorCode == "CopyIdMismatch")
            #expect(try await client.send(.PUT, "/media/b", query: [("comp", "copy"), ("copyid", copyID)]).errorCode == "MissingRequiredHeader")
        }
    }

    @Test("Put Block From URL stages a source range; Put Blob From URL writes a whole blob")
    func fromURL() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            let data = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            try await client.putBlob("media", "src", data)
            let url = sourceURL(storage, "/media/src")
            let first = try await client.send(
                .PUT, "/media/dst", query: [("comp", "block"), ("blockid", blockID(0))],
                headers: [("x-ms-copy-source", url), ("x-ms-source-range", "bytes=1000-2999")])
            #expect(first.status == 201)
            #expect(first.header("Content-MD5") == Data(Insecure.MD5.hash(data: data[1000...2999])).base64EncodedString())
            try await client.send(.PUT, "/media/dst", query: [("comp", "block"), ("blockid", blockID(1))], headers: [("x-ms-copy-source", url)])
            let badMD5 = try await client.send(
                .PUT, "/media/dst", query: [("comp", "block"), ("blockid", blockID(2))],
                headers: [("x-ms-copy-source", url), ("x-ms-source-content-md5", "XrY7u+Ae7tCTyyK7j1rNww==")])
            #expect(badMD5.errorCode == "Md5Mismatch")
            let past = try await client.send(
                .PUT, "/media/dst", query: [("comp", "block"), ("blockid", blockID(2))],
                headers: [("x-ms-copy-source", url), ("x-ms-source-range", "bytes=6000-6999")])
            #expect(past.status == 416)
            try await client.putBlockList("media", "dst", latest: [blockID(0), blockID(1)])
            #expect(try await client.send(.GET, "/media/dst").body == data[1000...2999] + data)
            let whole = try await client.send(.PUT, "/media/whole", headers: [("x-ms-copy-source", url), ("x-ms-blob-type", "BlockBlob")])
            #expect(whole.status == 201)
            #expect(whole.header("x-ms-copy-id") == nil)
            #expect(try await client.send(.GET, "/media/whole").body == data)
        }
    }

    @Test("Set Blob Properties replaces every content header and clears the ones not sent; Set Blob Tier keeps the ETag")
    func propertiesAndTier() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            let put = try await client.putBlob(
                "media", "a.gz", Data("x".utf8),
                headers: [("x-ms-blob-content-encoding", "br"), ("x-ms-blob-content-language", "de-CH"), ("x-ms-blob-cache-control", "no-cache"),
                    ("x-ms-blob-content-disposition", "attachment; filename=\"a b.gz\""), ("x-ms-blob-content-type", "text/plain; charset=utf-8")])
            let read = try await client.send(.GET, "/media/a.gz")
            #expect(read.header("Content-Encoding") == "br")  // not gzip: the test client would try to inflate it
            #expect(read.header("Content-Language") == "de-CH")
            #expect(read.header("Cache-Control") == "no-cache")
            #expect(read.header("Content-Disposition") == "attachment; filename=\"a b.gz\"")
            #expect(read.header("Content-Type") == "text/plain; charset=utf-8")
            let set = try await client.send(
                .PUT, "/media/a.gz", query: [("comp", "properties")], headers: [("x-ms-blob-content-type", "application/json"), ("x-ms-blob-cache-control", "max-age=5")])
            #expect(set.status == 200)
            #expect(set.header("ETag") != put.header("ETag"))
            let after = try await client.send(.HEAD, "/media/a.gz")
            #expect(after.header("Content-Type") == "application/json")
            #expect(after.header("Cache-Control") == "max-age=5")
            #expect(after.header("Content-Encoding") == nil)
            #expect(after.header("Content-MD5") == nil)
            #expect(after.header("x-ms-access-tier-inferred") == "true")
            let tier = try await client.send(.PUT, "/media/a.gz", query: [("comp", "tier")], headers: [("x-ms-access-tier", "cool")])
            #expect(tier.status == 200)
            let cool = try await client.send(.HEAD, "/media/a.gz")
            #expect(cool.header("x-ms-access-tier") == "Cool")
            #expect(cool.header("x-ms-access-tier-inferred") == nil)
            #expect(cool.header("ETag") == set.header("ETag"))
            #expect(try await client.send(.PUT, "/media/a.gz", query: [("comp", "tier")], headers: [("x-ms-access-tier", "Lukewarm")]).status == 400)
            try await client.send(.PUT, "/media/a.gz", query: [("comp", "tier")], headers: [("x-ms-access-tier", "Archive")])
            #expect(try await client.send(.GET, "/media/a.gz").errorCode == "BlobArchived")
            #expect(try await client.send(.PUT, "/media/a.gz", query: [("comp", "tier")], headers: [("x-ms-access-tier", "Hot")]).status == 202)
            #expect(try await client.send(.GET, "/media/a.gz").body == Data("x".utf8))
        }
    }

    @Test("Get Service Properties (blob and queue) and Get Account Information")
    func serviceProperties() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            let blob = try await client.send(.GET, "/", query: [("restype", "service"), ("comp", "properties")])
            #expect(blob.status == 200)
            #expect(blob.element("DefaultServiceVersion") == StorageDefaults.serviceVersion)
            #expect(blob.elements("Enabled").allSatisfy { $0 == "false" })
            let queue = try await client.send(.GET, .queue, "/", query: [("restype", "service"), ("comp", "properties")])
            #expect(queue.status == 200)
            #expect(queue.text.contains("<HourMetrics><Version>1.0</Version><Enabled>false</Enabled>"))
            #expect(!queue.text.contains("StaticWebsite"))
            let account = try await client.send(.GET, "/", query: [("restype", "account"), ("comp", "properties")])
            #expect(account.header("x-ms-account-kind") == "StorageV2")
        }
    }
}

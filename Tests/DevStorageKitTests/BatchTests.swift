import DevStorageKit
import Foundation
import NIOHTTP1
import StorageKit
import Testing
import TestSupport

/// Blob Batch over real sockets: the multipart body is built here from sub-requests signed with
/// StorageKit's signer, as the Blob Batch reference shows it.
@Suite("Blob Batch", .serialized, .timeLimit(.minutes(2)))
struct BatchTests {
    static let boundary = "batch_7e0c3e8a-5f1e-4f3b-9d1a-1f6a2c3b4d5e"

    /// One signed sub-request as a `multipart/mixed` part. `withAccount`: path with the account
    /// segment (Microsoft's Python SDK for path-style URLs) or without it.
    static func part(
        _ storage: RunningDevStorage, index: Int, method: String, path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        withAccount: Bool = true, sign: Bool = true
    ) throws -> String {
        let sentPath = (withAccount ? "/\(storage.accountName)" : "") + path
        var canonical = CanonicalRequest(
            method: method, encodedPath: sentPath, query: query.map { (name: $0.0, value: $0.1) },
            headers: headers + [("x-ms-version", StorageDefaults.serviceVersion)])
        if sign {
            try SharedKeySigner(accountName: storage.accountName, accountKey: storage.accountKey).sign(&canonical)
        }
        var text = "--\(boundary)\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: \(index)\r\n\r\n"
        text += "\(method) \(sentPath)\(query.isEmpty ? "" : "?" + canonical.encodedQuery) HTTP/1.1\r\n"
        for (name, value) in canonical.headers { text += "\(name): \(value)\r\n" }
        return text + "Content-Length: 0\r\n\r\n"
    }

    static func body(_ parts: [String]) -> Data {
        Data((parts.joined() + "--\(boundary)--\r\n").utf8)
    }

    static let contentType = ("Content-Type", "multipart/mixed; boundary=\(boundary)")

    /// The sub-responses' status lines, in order.
    static func statuses(_ response: TestResponse) -> [String] {
        response.text.components(separatedBy: "\r\n").filter { $0.hasPrefix("HTTP/1.1 ") }
    }

    @Test("batch delete: 202 multipart/mixed, one part per sub-request in order, a missing blob answers its own 404")
    func batchDelete() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            for name in ["a", "b%20c", "%C3%BC"] { try await client.putBlob("media", name, Data(name.utf8)) }
            let parts = [
                try Self.part(storage, index: 0, method: "DELETE", path: "/media/a"),
                try Self.part(storage, index: 1, method: "DELETE", path: "/media/b%20c", withAccount: false),
                try Self.part(storage, index: 2, method: "DELETE", path: "/media/missing"),
                try Self.part(storage, index: 3, method: "DELETE", path: "/media/%C3%BC"),
            ]
            let response = try await client.send(
                .POST, "/media", query: [("restype", "container"), ("comp", "batch")], headers: [Self.contentType], body: Self.body(parts))
            #expect(response.status == 202)
            let contentType = try #require(response.header("Content-Type"))
            #expect(contentType.hasPrefix("multipart/mixed; boundary=batchresponse_"))
            #expect(Self.statuses(response) == [
                "HTTP/1.1 202 Accepted", "HTTP/1.1 202 Accepted", "HTTP/1.1 404 The specified blob does not exist.", "HTTP/1.1 202 Accepted",
            ])
            #expect(response.text.contains("x-ms-error-code: BlobNotFound"))
            #expect(response.text.contains("Content-ID: 3"))
            #expect(response.text.hasSuffix("--\(contentType.dropFirst("multipart/mixed; boundary=".count))--\r\n"))
            let listing = try await client.send(.GET, "/media", query: [("restype", "container"), ("comp", "list")])
            #expect(listing.elements("Name").isEmpty)
        }
    }

    @Test("batch set tier at the account level; mixed operations, unsigned or forged sub-requests, other containers")
    func batchTierAndRefusals() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            try await client.createContainer("other")
            try await client.putBlob("media", "a", Data("a".utf8))
            try await client.putBlob("other", "b", Data("b".utf8))
            let tiers = [
                try Self.part(storage, index: 0, method: "PUT", path: "/media/a", query: [("comp", "tier")], headers: [("x-ms-access-tier", "Cool")]),
                try Self.part(storage, index: 1, method: "PUT", path: "/other/b", query: [("comp", "tier")], headers: [("x-ms-access-tier", "Cold")]),
            ]
            let response = try await client.send(.POST, "/", query: [("comp", "batch")], headers: [Self.contentType], body: Self.body(tiers))
            #expect(Self.statuses(response) == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"])
            #expect(try await client.send(.HEAD, "/media/a").header("x-ms-access-tier") == "Cool")
            #expect(try await client.send(.HEAD, "/other/b").header("x-ms-access-tier") == "Cold")

            let mixed = [tiers[0], try Self.part(storage, index: 1, method: "DELETE", path: "/media/a")]
            let refused = try await client.send(.POST, "/", query: [("comp", "batch")], headers: [Self.contentType], body: Self.body(mixed))
            #expect(refused.status == 400)
            #expect(refused.errorCode == "AllBatchSubRequestsShouldBeSameApi")

            let unsigned = [try Self.part(storage, index: 0, method: "DELETE", path: "/media/a", sign: false)]
            let anonymous = try await client.send(.POST, "/", query: [("comp", "batch")], headers: [Self.contentType], body: Self.body(unsigned))
            #expect(anonymous.status == 202)
            #expect(Self.statuses(anonymous) == ["HTTP/1.1 404 The specified resource does not exist."])
            var forged = try Self.part(storage, index: 0, method: "DELETE", path: "/media/a")
            forged = forged.replacingOccurrences(of: "DELETE /\(storage.accountName)/media/a", with: "DELETE /\(storage.accountName)/other/b")
            let wrongSignature = try await client.send(.POST, "/", query: [("comp", "batch")], headers: [Self.contentType], body: Self.body([forged]))
            #expect(Self.statuses(wrongSignature).first?.hasPrefix("HTTP/1.1 403 ") == true)
            #expect(try await client.send(.HEAD, "/other/b").status == 200)

            let elsewhere = [try Self.part(storage, index: 0, method: "DELETE", path: "/other/b")]
            let scoped = try await client.send(
                .POST, "/media", query: [("restype", "container"), ("comp", "batch")], headers: [Self.contentType], body: Self.body(elsewhere))
            #expect(scoped.status == 400)
            let notMultipart = try await client.send(.POST, "/", query: [("comp", "batch")], headers: [("Content-Type", "text/plain")], body: Data("x".utf8))
            #expect(notMultipart.errorCode == "InvalidHeaderValue")
        }
    }
}

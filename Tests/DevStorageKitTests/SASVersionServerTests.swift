import DevStorageKit
import Foundation
import NIOHTTP1
import StorageKit
import Testing
import TestSupport

/// devstorage accepts a SAS of every layout Azure still accepts (the vectors of
/// `Tests/StorageKitTests/Fixtures/sas-version-vectors.json`, made by Microsoft's SDK or from the
/// documented string-to-sign), and refuses what it must.
@Suite("SAS of every signed version against devstorage", .serialized, .timeLimit(.minutes(2)))
struct SASVersionServerTests {
    struct Vector: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var kind: String
        var version: String
        var query: String
        var testDescription: String { name }
    }

    static let vectors: [Vector] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("StorageKitTests/Fixtures/sas-version-vectors.json")
        // The fixture is committed and generated; a decoding failure is a broken fixture.
        return try! JSONDecoder().decode([Vector].self, from: Data(contentsOf: url))
    }()

    static let blobPath = "/media/" + QueryString.percentEncode("in/clip 01 \u{fc}+%.mp4", keepSlash: true)

    /// What each vector may do: read the blob (sr=b, account), list the container (sr=c), peek the queue.
    static func requests(_ vector: Vector) -> [(StorageTestClient.Service, String, [(String, String)])] {
        let values = SASValues(query: QueryString.decode(vector.query))
        switch (vector.kind, values?.resource) {
        case ("queueService", _): return [(.queue, "/jobs/messages", [("peekonly", "true")])]
        case ("account", _): return [(.blob, blobPath, []), (.queue, "/jobs/messages", [("peekonly", "true")])]
        case (_, "c"): return [(.blob, "/media", [("restype", "container"), ("comp", "list")])]
        default: return [(.blob, blobPath, [])]
        }
    }

    func prepare(_ storage: RunningDevStorage) async throws {
        let client = StorageTestClient(storage)
        try await client.createContainer("media")
        try await client.send(.PUT, Self.blobPath, headers: [("x-ms-blob-type", "BlockBlob")], body: Data("clip".utf8))
        try await client.createQueue("jobs")
        try await client.putMessage("jobs", "job")
    }

    /// One devstorage for all vectors (a devstorage per vector would start 42 servers at once).
    @Test("each vector is accepted for its resource; its signature altered, it is refused")
    func accepted() async throws {
        try await withDevStorage { storage in
            try await prepare(storage)
            for vector in Self.vectors {
                for (service, path, query) in Self.requests(vector) {
                    let response = try await StorageTestClient(storage, auth: .sas(vector.query)).send(.GET, service, path, query: query)
                    #expect(response.status == 200, "\(vector.name): \(response.text)")
                    let tampered = vector.query.replacingOccurrences(of: "sig=", with: "sig=A")
                    let refused = try await StorageTestClient(storage, auth: .sas(tampered)).send(.GET, service, path, query: query)
                    #expect(refused.status == 403, "\(vector.name)")
                }
            }
            #expect(Self.vectors.count >= 40)
        }
    }

    @Test("refused: sv before 2012-02-12, an account SAS before 2015-04-05, unknown services or resource types, a field given twice")
    func refused() async throws {
        try await withDevStorage { storage in
            try await prepare(storage)
            let signer = try SharedKeySigner(accountName: storage.accountName, accountKey: storage.accountKey)
            func blobSAS(version: String) -> String {
                var values = SASValues(version: version, permissions: "r", start: "2020-01-01T00:00:00Z", expiry: "2099-01-01T00:00:00Z")
                values.resource = "b"
                return signer.signBlobSAS(values, container: "media", blobName: "in/clip 01 \u{fc}+%.mp4").encodedQuery
            }
            func accountSAS(version: String, services: String = "b", types: String = "o") -> String {
                var values = SASValues(version: version, permissions: "r", start: "2020-01-01T00:00:00Z", expiry: "2099-01-01T00:00:00Z")
                values.services = services
                values.resourceTypes = types
                return signer.signAccountSAS(values).encodedQuery
            }
            func status(_ token: String) async throws -> TestResponse {
                try await StorageTestClient(storage, auth: .sas(token)).send(.GET, Self.blobPath)
            }
            #expect(try await status(blobSAS(version: "2012-02-12")).status == 200)
            let tooOld = try await status(blobSAS(version: "2011-08-18"))
            #expect(tooOld.status == 403)
            #expect(tooOld.errorCode == "AuthenticationFailed")
            #expect(try await status(accountSAS(version: "2015-04-05")).status == 200)
            #expect(try await status(accountSAS(version: "2014-02-14")).status == 403)
            #expect(try await status(accountSAS(version: "2020-12-06", services: "bx")).status == 403)
            #expect(try await status(accountSAS(version: "2020-12-06", types: "oz")).status == 403)
            let twice = try await status(blobSAS(version: "2020-12-06") + "&sp=rw")
            #expect(twice.status == 403)
            #expect(twice.text.contains("appears more than once"))
        }
    }
}

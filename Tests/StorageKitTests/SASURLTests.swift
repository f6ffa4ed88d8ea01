import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

@testable import StorageKit

@Suite("SAS download links")
struct SASURLTests {
    let now = Date(timeIntervalSince1970: 1_736_935_200)  // 2025-01-15T10:00:00Z

    @Test("with an account key: a read-only service SAS that verifies with the key")
    func serviceSAS() async throws {
        let account = StorageAccount(
            name: "mediaprod", blobEndpoint: URL(string: "https://mediaprod.blob.core.windows.net")!,
            queueEndpoint: URL(string: "https://mediaprod.queue.core.windows.net")!,
            credential: .sharedKey(try SharedKeySigner(accountName: "mediaprod", accountKey: StorageDefaults.developmentAccountKey)))
        let url = try await BlobClient(account: account).sasURL("processed", "job 1/main.webp", expiresIn: .seconds(900), now: now)
        #expect(url.path(percentEncoded: true) == "/processed/job%201/main.webp")
        let values = try #require(SASValues(query: QueryString.decode(url.query(percentEncoded: true)!)))
        #expect(values.permissions == "r")
        #expect(values.resource == "b")
        #expect(values.protocols == "https")
        #expect(values.start == "2025-01-15T09:55:00Z")
        #expect(values.expiry == "2025-01-15T10:15:00Z")
        let expected = SASValues.sign(values.blobServiceStringToSign(account: "mediaprod", container: "processed", blobName: "job 1/main.webp"), base64Key: StorageDefaults.developmentAccountKey)
        #expect(values.signature == expected)
    }

    @Test("on Entra identity: a user-delegation SAS signed with a fetched, cached delegation key")
    func userDelegationSAS() async throws {
        let keyXML = #"<?xml version="1.0" encoding="utf-8"?><UserDelegationKey><SignedOid>oid-1</SignedOid><SignedTid>tid-1</SignedTid><SignedStart>2025-01-15T09:45:00Z</SignedStart><SignedExpiry>2025-01-21T10:00:00Z</SignedExpiry><SignedService>b</SignedService><SignedVersion>2024-11-04</SignedVersion><Value>\#(StorageDefaults.developmentAccountKey)</Value></UserDelegationKey>"#
        let storage = ScriptedTransport([.response(status: .ok, body: keyXML)])
        struct FixedToken: TokenCredential {
            func token(forceRefresh: Bool) async throws -> AccessToken { AccessToken(token: "t", expiresOn: .distantFuture) }
        }
        let account = StorageAccount(
            name: "mediaprod", blobEndpoint: URL(string: "https://mediaprod.blob.core.windows.net")!,
            queueEndpoint: URL(string: "https://mediaprod.queue.core.windows.net")!, credential: .bearer(FixedToken()))
        let blobs = BlobClient(account: account, transport: storage, retryPolicy: .fast)
        let first = try await blobs.sasURL("processed", "a.webp", now: now)
        let second = try await blobs.sasURL("processed", "b.webp", now: now)
        #expect(storage.seen.count == 1)  // the key is cached
        let request = try #require(storage.seen.first)
        #expect(request.method == .POST)
        #expect(request.url == "https://mediaprod.blob.core.windows.net/?restype=service&comp=userdelegationkey")
        #expect(request.headers.first(name: "authorization") == "Bearer t")
        for url in [first, second] {
            let values = try #require(SASValues(query: QueryString.decode(url.query(percentEncoded: true)!)))
            #expect(values.delegationKey?.objectID == "oid-1")
            #expect(values.delegationKey?.tenantID == "tid-1")
            let blob = url.lastPathComponent
            let expected = SASValues.sign(values.blobServiceStringToSign(account: "mediaprod", container: "processed", blobName: blob), base64Key: StorageDefaults.developmentAccountKey)
            #expect(values.signature == expected)
        }
    }

    @Test("with a SAS credential: no link at all, never one carrying the account's own token")
    func sasCredentialMakesNoLinks() async throws {
        let token = "sv=2024-11-04&ss=bq&srt=sco&sp=rwdlacup&se=2030-01-01T00:00:00Z&sig=accountSecret%3D"
        let connection = try ConnectionString(
            "BlobEndpoint=https://mediaprod.blob.core.windows.net;QueueEndpoint=https://mediaprod.queue.core.windows.net;"
                + "AccountName=mediaprod;SharedAccessSignature=\(token)")
        let account = try StorageAccount(connectionString: connection)
        let transport = ScriptedTransport([])
        let blobs = BlobClient(account: account, transport: transport, retryPolicy: .fast)
        var link: URL?
        let error = await #expect(throws: StorageError.self) { link = try await blobs.sasURL("processed", "a.webp", now: now) }
        #expect(error?.code == .cannotSign)
        #expect(link == nil)
        #expect(error.map { "\($0)".contains("accountSecret") } == false)
        #expect(transport.seen.isEmpty)
    }

    @Test("with a key: the link is a read-only service SAS, never the key or an account SAS")
    func keyMakesReadOnlyServiceSAS() async throws {
        let account = StorageAccount(
            name: "mediaprod", blobEndpoint: URL(string: "https://mediaprod.blob.core.windows.net")!,
            queueEndpoint: URL(string: "https://mediaprod.queue.core.windows.net")!,
            credential: .sharedKey(try SharedKeySigner(accountName: "mediaprod", accountKey: StorageDefaults.developmentAccountKey)))
        let url = try await BlobClient(account: account).sasURL("processed", "a.webp", now: now)
        let query = QueryString.decode(url.query(percentEncoded: true)!)
        #expect(query.first { $0.name == "sp" }?.value == "r")
        #expect(query.first { $0.name == "sr" }?.value == "b")
        #expect(query.contains { $0.name == "ss" || $0.name == "srt" } == false)
        #expect(url.absoluteString.contains(StorageDefaults.developmentAccountKey) == false)
    }
}

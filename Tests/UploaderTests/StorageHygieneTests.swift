import DevStorageKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import QueueKit
import StorageKit
import TestSupport
import Testing

@testable import Uploader

@Suite("Uploader storage hygiene: jobs never expire, a SAS credential is never handed out")
struct StorageHygieneTests {
    static let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0]) + Data(repeating: 5, count: 100)

    @Test("an accepted upload's job message never expires (TTL −1)")
    func jobMessageNeverExpires() async throws {
        try await UploaderHarness.run { h in
            let accepted = try await h.client.execute(uri: "/upload", method: .post, headers: h.keyHeader, body: ByteBuffer(data: Self.jpeg))
            #expect(accepted.status == .accepted)
            let peeked = try #require(try await h.queues.peek(PipelineNames.jobQueue).first)
            #expect(peeked.insertionTime != nil)
            #expect(peeked.expirationTime == nil)
            h.storage.clock.advance(by: 8 * 86_400)
            #expect(try await h.queuedJobs().count == 1)
        }
    }

    @Test("with a SAS connection string and `links: sas`, output links stream through the uploader, never carry the account's token")
    func sasCredentialGivesProxyLinks() async throws {
        let signer = try SharedKeySigner(accountName: StorageDefaults.developmentAccountName, accountKey: StorageDefaults.developmentAccountKey)
        var values = SASValues(permissions: "rwdlacup", expiry: HTTPDate.iso8601(Date().addingTimeInterval(3600)))
        values.services = "bq"
        values.resourceTypes = "sco"
        let token = signer.signAccountSAS(values).encodedQuery
        let signature = try #require(signer.signAccountSAS(values).signature)
        try await UploaderHarness.run(
            configure: { $0.links = .sas },
            account: { storage in
                StorageAccount(
                    name: storage.accountName, blobEndpoint: storage.blobEndpoint, queueEndpoint: storage.queueEndpoint,
                    credential: .sharedAccessSignature(token))
            }
        ) { h in
            let accepted = try await h.client.execute(uri: "/upload", method: .post, headers: h.keyHeader, body: ByteBuffer(data: Self.jpeg))
            let jobId = try #require(accepted.json["jobId"] as? String)
            let output = try await h.completeAsProcessor(jobId)

            let status = try await h.client.execute(uri: "/jobs/\(jobId)", method: .get, headers: h.keyHeader)
            #expect(status.status == .ok)
            let text = String(buffer: status.body)
            #expect(!text.contains("sig="))
            #expect(!text.contains(signature) && !text.contains(signature.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? signature))
            let outputs = try #require(status.json["outputs"] as? [[String: Any]])
            let url = try #require(outputs.first?["url"] as? String)
            #expect(url.hasPrefix("/jobs/\(jobId)/outputs/image.webp?tenant="))  // signed by the uploader, not by storage
            let streamed = try await h.client.execute(uri: url, method: .get, headers: h.keyHeader)
            #expect(streamed.status == .ok)
            #expect(Data(buffer: streamed.body) == output)
        }
    }
}

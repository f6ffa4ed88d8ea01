import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

@testable import StorageKit

@Suite("Microsoft Entra workload identity")
struct WorkloadIdentityTests {
    func tokenFile(_ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wi-\(UUID().uuidString)").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("exchanges the federated token for a storage token, caches it, re-reads the file on refresh")
    func tokenExchange() async throws {
        let file = try tokenFile("jwt-one\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let transport = ScriptedTransport([
            .response(status: .ok, body: #"{"token_type":"Bearer","expires_in":3600,"access_token":"at-1"}"#),
            .response(status: .ok, body: #"{"token_type":"Bearer","expires_in":3600,"access_token":"at-2"}"#),
        ])
        let credential = WorkloadIdentityCredential(
            settings: .init(clientID: "client-id", tenantID: "tenant-id", tokenFile: file, authorityHost: "https://login.example/"),
            transport: transport)
        let first = try await credential.token(forceRefresh: false)
        let cached = try await credential.token(forceRefresh: false)
        #expect(first.token == "at-1")
        #expect(cached == first)
        #expect(transport.seen.count == 1)
        let request = try #require(transport.seen.first)
        #expect(request.url == "https://login.example/tenant-id/oauth2/v2.0/token")
        #expect(request.method == .POST)
        let form = Dictionary(uniqueKeysWithValues: QueryString.decode(String(buffer: try #require(request.body))).map { ($0.name, $0.value) })
        #expect(form["grant_type"] == "client_credentials")
        #expect(form["client_id"] == "client-id")
        #expect(form["scope"] == "https://storage.azure.com/.default")
        #expect(form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        #expect(form["client_assertion"] == "jwt-one")

        try "jwt-two".write(toFile: file, atomically: true, encoding: .utf8)
        let refreshed = try await credential.token(forceRefresh: true)
        #expect(refreshed.token == "at-2")
        let second = QueryString.decode(String(buffer: try #require(transport.seen.last?.body)))
        #expect(second.first { $0.name == "client_assertion" }?.value == "jwt-two")
    }

    @Test("a token about to expire is refreshed before use")
    func refreshBeforeExpiry() async throws {
        let file = try tokenFile("jwt")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let transport = ScriptedTransport([
            .response(status: .ok, body: #"{"expires_in":120,"access_token":"short"}"#),
            .response(status: .ok, body: #"{"expires_in":3600,"access_token":"long"}"#),
        ])
        let credential = WorkloadIdentityCredential(settings: .init(clientID: "c", tenantID: "t", tokenFile: file), transport: transport)
        #expect(try await credential.token(forceRefresh: false).token == "short")
        // 120 s left is inside the 5-minute margin: the next call fetches a new one.
        #expect(try await credential.token(forceRefresh: false).token == "long")
    }

    @Test("Entra errors surface with their description")
    func tokenError() async throws {
        let file = try tokenFile("jwt")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let transport = ScriptedTransport([], then: .response(status: .badRequest, body: #"{"error":"invalid_client","error_description":"AADSTS70021: No matching federated identity record found"}"#))
        let credential = WorkloadIdentityCredential(settings: .init(clientID: "c", tenantID: "t", tokenFile: file), transport: transport)
        let error = await #expect(throws: StorageError.self) { try await credential.token(forceRefresh: false) }
        #expect(error?.code == .tokenRequestFailed)
        #expect(error?.message?.contains("AADSTS70021") == true)
    }

    @Test("bearer requests carry the token; a 401 refreshes it once and retries")
    func bearerRequests() async throws {
        let file = try tokenFile("jwt")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let tokens = ScriptedTransport([
            .response(status: .ok, body: #"{"expires_in":3600,"access_token":"stale"}"#),
            .response(status: .ok, body: #"{"expires_in":3600,"access_token":"fresh"}"#),
        ])
        let credential = WorkloadIdentityCredential(settings: .init(clientID: "c", tenantID: "t", tokenFile: file), transport: tokens)
        let account = StorageAccount(
            name: "acct", blobEndpoint: URL(string: "https://acct.blob.core.windows.net")!,
            queueEndpoint: URL(string: "https://acct.queue.core.windows.net")!, credential: .bearer(credential))
        let storage = ScriptedTransport([.response(status: .unauthorized)], then: .response(status: .created))
        _ = try await BlobClient(account: account, transport: storage, retryPolicy: .fast).putBlob("c", "b", body: ByteBuffer(string: "x"))
        #expect(storage.seen.map { $0.headers.first(name: "authorization") } == ["Bearer stale", "Bearer fresh"])
    }

    @Test("configuration picks workload identity for an account name without a connection string")
    func configuration() throws {
        let settings = WorkloadIdentityCredential.Settings(clientID: "c", tenantID: "t", tokenFile: "/var/run/secrets/azure/tokens/azure-identity-token")
        let account = try StorageAccount(configuration: .init(accountName: "prodmedia", workloadIdentity: settings))
        #expect(account.blobEndpoint.absoluteString == "https://prodmedia.blob.core.windows.net")
        #expect(account.queueEndpoint.absoluteString == "https://prodmedia.queue.core.windows.net")
        #expect(account.credential.kind == "Bearer")
        #expect(settings.tokenURL == "https://login.microsoftonline.com/t/oauth2/v2.0/token")
        #expect(throws: StorageError.self) { try StorageAccount(configuration: .init(accountName: "prodmedia")) }
        let development = try StorageAccount(configuration: .init())
        #expect(development.blobEndpoint.absoluteString == "http://127.0.0.1:10000/devstoreaccount1")
        #expect(development.credential.kind == "SharedKey")
    }
}

import Foundation
import StorageKit
import Testing

@Suite("Connection strings")
struct ConnectionStringTests {
    @Test("account key with derived endpoints and a suffix; keys case-insensitive; split at the first '='")
    func derived() throws {
        let parsed = try ConnectionString("defaultendpointsprotocol=https;ACCOUNTNAME=media;AccountKey=abc==;EndpointSuffix=core.chinacloudapi.cn;")
        #expect(parsed.accountName == "media")
        #expect(parsed.accountKey == "abc==")
        #expect(parsed.blobEndpoint.absoluteString == "https://media.blob.core.chinacloudapi.cn")
        #expect(parsed.queueEndpoint.absoluteString == "https://media.queue.core.chinacloudapi.cn")
    }

    @Test("explicit emulator endpoints with a path; the account comes from the path when not named")
    func explicitEndpoints() throws {
        let parsed = try ConnectionString("BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;SharedAccessSignature=?sv=2024-11-04&sig=a%2Bb")
        #expect(parsed.accountName == "devstoreaccount1")
        #expect(parsed.blobEndpoint.absoluteString == "http://127.0.0.1:10000/devstoreaccount1")
        #expect(parsed.sharedAccessSignature == "sv=2024-11-04&sig=a%2Bb")
        let account = try StorageAccount(connectionString: parsed)
        #expect(account.credential.kind == "SAS")
    }

    @Test("UseDevelopmentStorage=true is the development account")
    func development() throws {
        let parsed = try ConnectionString("UseDevelopmentStorage=true")
        #expect(parsed == ConnectionString.development)
        #expect(parsed.blobEndpoint.absoluteString == "http://127.0.0.1:10000/devstoreaccount1")
        #expect(parsed.queueEndpoint.absoluteString == "http://127.0.0.1:10001/devstoreaccount1")
        #expect(parsed.accountKey == StorageDefaults.developmentAccountKey)
    }

    @Test("malformed strings are refused with a clear error", arguments: ["AccountName", "DefaultEndpointsProtocol=ftp;AccountName=a", "AccountKey=abc", "BlobEndpoint=not a url;QueueEndpoint=x"])
    func malformed(text: String) {
        #expect(throws: StorageError.self) { try ConnectionString(text) }
    }

    @Test("an account key that is not base64 is refused")
    func badKey() throws {
        #expect(throws: StorageError.self) { try StorageAccount(connectionString: ConnectionString("AccountName=a;AccountKey=***")) }
    }
}

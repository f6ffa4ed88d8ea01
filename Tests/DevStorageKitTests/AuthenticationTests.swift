import AsyncHTTPClient
import DevStorageKit
import Foundation
import NIOCore
import NIOHTTP1
import StorageKit
import TestSupport
import Testing

/// Raw signed HTTP against devstorage, to check what it refuses.
struct RawClient {
    let base: String  // http://127.0.0.1:PORT/devstoreaccount1
    let signer = try! SharedKeySigner(accountName: StorageDefaults.developmentAccountName, accountKey: StorageDefaults.developmentAccountKey)

    func send(
        _ method: HTTPMethod, _ path: String, query: String = "", headers extra: [(String, String)] = [], body: String? = nil,
        date: Date = Date(), signer override: SharedKeySigner? = nil, tamper: ((inout HTTPHeaders) -> Void)? = nil
    ) async throws -> (status: Int, code: String?, body: String) {
        let url = URL(string: base + path + (query.isEmpty ? "" : "?" + query))!
        var headers: [(name: String, value: String)] = [("x-ms-version", StorageDefaults.serviceVersion)] + extra.map { (name: $0.0, value: $0.1) }
        if let body { headers.append(("Content-Length", "\(body.utf8.count)")) }
        var canonical = CanonicalRequest(method: method.rawValue, encodedPath: url.path(percentEncoded: true), rawQuery: url.query(percentEncoded: true), headers: headers)
        (override ?? signer).sign(&canonical, date: date)
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        for (name, value) in canonical.headers { request.headers.add(name: name, value: value) }
        tamper?(&request.headers)
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return (Int(response.status.code), response.headers.first(name: "x-ms-error-code"), text)
    }
}

@Suite("devstorage authentication and protocol")
struct AuthenticationTests {
    func raw(_ devstorage: RunningDevStorage, queue: Bool = false) -> RawClient {
        let endpoint = queue ? devstorage.account.queueEndpoint : devstorage.account.blobEndpoint
        return RawClient(base: endpoint.absoluteString)
    }

    @Test("a correctly signed request succeeds; wrong key, tampered header or query, old date → 403")
    func sharedKey() async throws {
        try await withDevStorage { devstorage in
            let client = raw(devstorage)
            #expect(try await client.send(.PUT, "/media", query: "restype=container").status == 201)
            let wrongKey = try SharedKeySigner(accountName: "devstoreaccount1", accountKey: Data(repeating: 7, count: 64).base64EncodedString())
            let refused = try await client.send(.PUT, "/other", query: "restype=container", signer: wrongKey)
            #expect(refused.status == 403)
            #expect(refused.code == "AuthenticationFailed")
            #expect(refused.body.contains("AuthenticationErrorDetail"))
            let tampered = try await client.send(.PUT, "/media/a.txt", headers: [("x-ms-blob-type", "BlockBlob"), ("x-ms-meta-owner", "alice")], body: "hi") {
                $0.replaceOrAdd(name: "x-ms-meta-owner", value: "mallory")
            }
            #expect(tampered.status == 403)
            let old = try await client.send(.GET, "/media", query: "restype=container&comp=list", date: Date().addingTimeInterval(-20 * 60))
            #expect(old.status == 403)
            #expect(old.code == "AuthenticationFailed")
            let future = try await client.send(.GET, "/media", query: "restype=container&comp=list", date: Date().addingTimeInterval(20 * 60))
            #expect(future.status == 403)
            let malformed = try await client.send(.GET, "/media", query: "restype=container&comp=list") { $0.replaceOrAdd(name: "Authorization", value: "SharedKey nonsense") }
            #expect(malformed.status == 400 || malformed.status == 403)
            var anonymous = HTTPClientRequest(url: client.base + "/media?restype=container&comp=list")
            anonymous.method = .GET
            let response = try await HTTPClient.shared.execute(anonymous, timeout: .seconds(10))
            #expect(response.status == .notFound)
        }
    }

    @Test("uncommitted blocks are neither listed nor readable; an unknown block id is refused")
    func uncommittedBlocks() async throws {
        try await withDevStorage { devstorage in
            let client = raw(devstorage)
            _ = try await client.send(.PUT, "/media", query: "restype=container")
            let blockID = QueryString.percentEncode(Data("block-000000".utf8).base64EncodedString())
            #expect(try await client.send(.PUT, "/media/staged.bin", query: "comp=block&blockid=\(blockID)", body: "part").status == 201)
            #expect(try await client.send(.GET, "/media/staged.bin").status == 404)
            let list = try await client.send(.GET, "/media", query: "restype=container&comp=list")
            #expect(!list.body.contains("staged.bin"))
            let other = QueryString.percentEncode(Data("block-999999".utf8).base64EncodedString())
            let bad = try await client.send(.PUT, "/media/staged.bin", query: "comp=blocklist", body: "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>\(QueryString.percentDecode(other))</Latest></BlockList>")
            #expect(bad.status == 400)
            #expect(bad.code == "InvalidBlockList")
            let shorter = QueryString.percentEncode(Data("b-1".utf8).base64EncodedString())
            let mismatch = try await client.send(.PUT, "/media/staged.bin", query: "comp=block&blockid=\(shorter)", body: "x")
            #expect(mismatch.code == "InvalidBlobOrBlock")
            let commit = try await client.send(.PUT, "/media/staged.bin", query: "comp=blocklist", body: "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>\(Data("block-000000".utf8).base64EncodedString())</Latest></BlockList>")
            #expect(commit.status == 201)
            #expect(try await client.send(.GET, "/media/staged.bin").body == "part")
            let range = try await client.send(.GET, "/media/staged.bin", headers: [("x-ms-range", "bytes=10-")])
            #expect(range.status == 416)
            #expect(range.code == "InvalidRange")
        }
    }

    @Test("queue semantics: visibility, dequeue count, receipts, TTL via the emulator clock, limits")
    func queueSemantics() async throws {
        try await withDevStorage { devstorage in
            let client = raw(devstorage, queue: true)
            #expect(try await client.send(.PUT, "/jobs").status == 201)
            #expect(try await client.send(.PUT, "/jobs").status == 204)
            let put = try await client.send(.POST, "/jobs/messages", query: "messagettl=60", body: "<QueueMessage><MessageText>a &amp; b</MessageText></QueueMessage>")
            #expect(put.status == 201)
            let got = try await client.send(.GET, "/jobs/messages", query: "numofmessages=32&visibilitytimeout=30")
            #expect(got.body.contains("<MessageText>a &amp; b</MessageText>"))
            #expect(got.body.contains("<DequeueCount>1</DequeueCount>"))
            #expect(try await client.send(.GET, "/jobs/messages").body.contains("<QueueMessagesList />"))
            #expect(try await client.send(.GET, "/jobs/messages", query: "numofmessages=33").code == "OutOfRangeQueryParameterValue")
            let id = got.body.components(separatedBy: "<MessageId>")[1].components(separatedBy: "</MessageId>")[0]
            let receipt = got.body.components(separatedBy: "<PopReceipt>")[1].components(separatedBy: "</PopReceipt>")[0]
            let stale = try await client.send(.DELETE, "/jobs/messages/\(id)", query: "popreceipt=\(QueryString.percentEncode("AAAA"))")
            #expect(stale.code == "PopReceiptMismatch")
            #expect(try await client.send(.DELETE, "/jobs/messages/\(id)", query: "popreceipt=\(QueryString.percentEncode(receipt))").status == 204)
            _ = try await client.send(.POST, "/jobs/messages", query: "messagettl=60", body: "<QueueMessage><MessageText>expires</MessageText></QueueMessage>")
            _ = try await client.send(.POST, "/jobs/messages", query: "messagettl=-1", body: "<QueueMessage><MessageText>forever</MessageText></QueueMessage>")
            devstorage.faults.advanceClock(by: 8 * 86_400)
            let peek = try await client.send(.GET, "/jobs/messages", query: "peekonly=true&numofmessages=32")
            #expect(peek.body.contains("forever"))
            #expect(!peek.body.contains("expires"))
            let big = String(repeating: "x", count: 65_537)
            #expect(try await client.send(.POST, "/jobs/messages", body: "<QueueMessage><MessageText>\(big)</MessageText></QueueMessage>").code == "MessageTooLarge")
        }
    }

    @Test("fault injection answers 503 ServerBusy, then recovers")
    func faults() async throws {
        try await withDevStorage { devstorage in
            let client = raw(devstorage)
            devstorage.faults.failNext(1)
            let failed = try await client.send(.PUT, "/media", query: "restype=container")
            #expect(failed.status == 503)
            #expect(failed.code == "ServerBusy")
            #expect(try await client.send(.PUT, "/media", query: "restype=container").status == 201)
        }
    }
}

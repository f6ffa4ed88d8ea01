import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

@testable import StorageKit

@Suite("Execute core: retries, deadlines, error decoding")
struct ExecuteCoreTests {
    let account = StorageAccount.development

    func client(_ transport: ScriptedTransport, policy: RetryPolicy = .fast) -> BlobClient {
        BlobClient(account: account, transport: transport, retryPolicy: policy)
    }

    static let serverBusy = ScriptedTransport.Answer.response(
        status: .serviceUnavailable, headers: ["x-ms-error-code": "ServerBusy"],
        body: #"<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>busy</Message></Error>"#)

    @Test("503s are retried and every attempt is signed afresh")
    func retriesTransientStatuses() async throws {
        let transport = ScriptedTransport([Self.serverBusy, Self.serverBusy], then: .response(status: .created, headers: ["etag": "\"0x1\""]))
        let result = try await client(transport).putBlob("c", "b", body: ByteBuffer(string: "hello"))
        #expect(result.etag == "\"0x1\"")
        let seen = transport.seen
        #expect(seen.count == 3)
        for request in seen {
            let auth = try #require(request.headers.first(name: "authorization"))
            #expect(auth.hasPrefix("SharedKey devstoreaccount1:"))
            #expect(request.headers.first(name: "x-ms-date") != nil)
            #expect(request.body == ByteBuffer(string: "hello"))
            // The signature matches the request as sent, date included.
            let url = URL(string: request.url)!
            let canonical = CanonicalRequest(
                method: request.method.rawValue, encodedPath: url.path(percentEncoded: true), rawQuery: url.query(percentEncoded: true),
                headers: request.headers.map { ($0.name, $0.value) })
            let signer = try SharedKeySigner(accountName: "devstoreaccount1", accountKey: StorageDefaults.developmentAccountKey)
            #expect(signer.verify(canonical, authorization: auth))
        }
    }

    @Test("retried statuses", arguments: [408, 429, 500, 502, 503, 504])
    func retriedStatuses(status: Int) async throws {
        let transport = ScriptedTransport([.response(status: HTTPResponseStatus(statusCode: status))], then: .response(status: .created))
        _ = try await client(transport).putBlob("c", "b", body: ByteBuffer(string: "x"))
        #expect(transport.seen.count == 2)
    }

    @Test("other 4xx and 501 are not retried", arguments: [400, 403, 404, 409, 412, 501])
    func notRetried(status: Int) async throws {
        let transport = ScriptedTransport([], then: .response(status: HTTPResponseStatus(statusCode: status)))
        await #expect(throws: StorageError.self) { try await client(transport).putBlob("c", "b", body: ByteBuffer(string: "x")) }
        #expect(transport.seen.count == 1)
    }

    @Test("gives up after maxRetries with the decoded service error")
    func givesUp() async throws {
        let transport = ScriptedTransport([], then: Self.serverBusy)
        let error = await #expect(throws: StorageError.self) { try await client(transport).putBlob("c", "b", body: ByteBuffer(string: "x")) }
        #expect(error?.code == .serverBusy)
        #expect(error?.status == 503)
        #expect(error?.message == "busy")
        #expect(error?.operation == "PutBlob")
        #expect(transport.seen.count == 4)
    }

    @Test("connection errors are retried, then reported as transport errors")
    func transportErrors() async throws {
        let transport = ScriptedTransport([], then: .failure(HTTPClientError.remoteConnectionClosed))
        let error = await #expect(throws: StorageError.self) { try await client(transport).putBlob("c", "b", body: ByteBuffer(string: "x")) }
        #expect(error?.code == .transport)
        #expect(transport.seen.count == 4)
        let timeouts = ScriptedTransport([], then: .failure(HTTPClientError.deadlineExceeded))
        let timeout = await #expect(throws: StorageError.self) { try await client(timeouts).putBlob("c", "b", body: ByteBuffer(string: "x")) }
        #expect(timeout?.code == .timeout)
    }

    @Test("the error code comes from x-ms-error-code, or from the XML body when the header is absent")
    func errorDecoding() async throws {
        let headerOnly = ScriptedTransport([], then: .response(status: .notFound, headers: ["x-ms-error-code": "BlobNotFound", "x-ms-request-id": "r-1"]))
        let error = await #expect(throws: StorageError.self) { try await client(headerOnly).properties("c", "b") }
        #expect(error?.code == .blobNotFound)
        #expect(error?.requestID == "r-1")
        let bodyOnly = ScriptedTransport([], then: .response(status: .conflict, body: "<Error><Code>ContainerBeingDeleted</Code><Message>later</Message></Error>"))
        let bodyError = await #expect(throws: StorageError.self) { try await client(bodyOnly).putBlob("c", "b", body: ByteBuffer()) }
        #expect(bodyError?.code.rawValue == "ContainerBeingDeleted")
        #expect(bodyError?.isTransient == false)
    }

    @Test("Retry-After is honoured: the wait is at least what the server asked for")
    func retryAfter() async throws {
        let policy = RetryPolicy(maxRetries: 1, baseDelay: .milliseconds(1), maxDelay: .seconds(5), attemptTimeout: .seconds(5), overallTimeout: .seconds(10))
        let transport = ScriptedTransport([.response(status: .serviceUnavailable, headers: ["retry-after-ms": "300"])], then: .response(status: .created))
        let start = ContinuousClock.now
        _ = try await client(transport, policy: policy).putBlob("c", "b", body: ByteBuffer(string: "x"))
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        #expect(RetryPolicy.retryAfter(headers: ["Retry-After": "7"]) == .seconds(7))
        #expect(RetryPolicy.retryAfter(headers: ["x-ms-retry-after-ms": "250"]) == .milliseconds(250))
        let now = Date(timeIntervalSince1970: 1_736_935_200)
        #expect(RetryPolicy.retryAfter(headers: ["Retry-After": HTTPDate.format(now.addingTimeInterval(3))], now: now) == .seconds(3))
    }

    @Test("the overall deadline stops retrying even when retries remain")
    func overallDeadline() async throws {
        let policy = RetryPolicy(maxRetries: 10, baseDelay: .milliseconds(200), maxDelay: .seconds(1), attemptTimeout: .seconds(1), overallTimeout: .milliseconds(500))
        let transport = ScriptedTransport([], then: Self.serverBusy)
        await #expect(throws: StorageError.self) { try await client(transport, policy: policy).putBlob("c", "b", body: ByteBuffer(string: "x")) }
        #expect(transport.seen.count < 6)
    }

    @Test("backoff grows exponentially with jitter and is capped")
    func backoff() {
        let policy = RetryPolicy(baseDelay: .seconds(1), maxDelay: .seconds(8))
        for retry in 1...6 {
            let delay = policy.delay(beforeRetry: retry, retryAfter: nil)
            let base = min(8.0, pow(2.0, Double(retry - 1)))
            #expect(delay >= .seconds(base * 0.5) && delay <= .seconds(base * 1.5))
        }
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(4)) >= .seconds(4))
    }

    @Test("a SAS credential is appended to the query and nothing is signed")
    func sasCredential() async throws {
        let sas = StorageAccount(name: "acct", blobEndpoint: URL(string: "https://acct.blob.core.windows.net")!, queueEndpoint: URL(string: "https://acct.queue.core.windows.net")!, credential: .sharedAccessSignature("sv=2024-11-04&sp=rw&sig=abc%2B"))
        let transport = ScriptedTransport([], then: .response(status: .created))
        _ = try await BlobClient(account: sas, transport: transport, retryPolicy: .fast).putBlob("media", "clip 01.mp4", body: ByteBuffer(string: "x"))
        let seen = try #require(transport.seen.first)
        #expect(seen.url == "https://acct.blob.core.windows.net/media/clip%2001.mp4?sv=2024-11-04&sp=rw&sig=abc%2B")
        #expect(seen.headers.first(name: "authorization") == nil)
        #expect(seen.headers.first(name: "x-ms-version") == StorageDefaults.serviceVersion)
    }
}

import DevStorageKit
import Foundation
import NIOCore
import NIOHTTP1
import StorageKit
import TestSupport
import Testing

@Suite("Deadlines by operation: small operations short, transfers per block")
struct DeadlineTests {
    typealias DeadlineClass = StorageRequest.DeadlineClass

    struct Case: Sendable, CustomTestStringConvertible {
        var operation: String
        var bodyBytes = 0
        var responseLimit: Int? = nil
        var expected: DeadlineClass
        var testDescription: String { "\(operation) body \(bodyBytes) reading \(responseLimit.map(String.init) ?? "all") → \(expected)" }
    }

    @Test(
        "the classification",
        arguments: [
            Case(operation: "PutMessage", bodyBytes: 200, expected: .small), Case(operation: "UpdateMessage", expected: .small),
            Case(operation: "DeleteMessage", expected: .small), Case(operation: "GetMessages", expected: .small),
            Case(operation: "PutBlob", bodyBytes: 2_000, expected: .small), Case(operation: "GetBlob", responseLimit: 1 << 20, expected: .small),
            Case(operation: "GetBlobProperties", expected: .small), Case(operation: "SetBlobMetadata", expected: .small),
            Case(operation: "DeleteBlob", expected: .small), Case(operation: "PutBlock", bodyBytes: 10, expected: .transfer),
            Case(operation: "PutBlockList", bodyBytes: 100, expected: .transfer), Case(operation: "PutBlockFromURL", expected: .transfer),
            Case(operation: "CopyBlob", expected: .transfer), Case(operation: "PutBlob", bodyBytes: (1 << 20) + 1, expected: .transfer),
            Case(operation: "GetBlob", expected: .transfer), Case(operation: "GetBlob", responseLimit: (1 << 20) + 1, expected: .transfer),
        ])
    func classification(_ item: Case) {
        #expect(DeadlineClass.classify(operation: item.operation, bodyBytes: item.bodyBytes, responseLimit: item.responseLimit) == item.expected)
    }

    @Test("defaults: small operations 10 s per attempt and 30 s overall; transfers 60 s per attempt and 300 s per block")
    func defaults() {
        let policy = RetryPolicy.default
        #expect(policy.deadlines(for: .small) == (attempt: .seconds(10), overall: .seconds(30)))
        #expect(policy.deadlines(for: .transfer) == (attempt: .seconds(60), overall: .seconds(300)))
        // A policy with short general deadlines keeps small operations at least as short.
        let short = RetryPolicy(attemptTimeout: .seconds(1), overallTimeout: .seconds(2))
        #expect(short.deadlines(for: .small) == (attempt: .seconds(1), overall: .seconds(2)))
    }

    @Test("each call's attempts get its class's timeout")
    func attemptTimeouts() async throws {
        let transport = ScriptedTransport([], then: .response(status: .ok))
        let blobs = BlobClient(account: .development, transport: transport, retryPolicy: .default)
        try await blobs.putBlob("status", "job.json", body: ByteBuffer(string: "{}"))
        try await blobs.putBlock("media", "clip.mp4", blockID: "YQ==", body: ByteBuffer(string: "block"))
        _ = try await blobs.properties("media", "clip.mp4")
        _ = try await blobs.downloadData("status", "job.json", limit: 1 << 20)
        _ = try await blobs.download("media", "clip.mp4")
        #expect(transport.seen.map(\.timeout) == [.seconds(10), .seconds(60), .seconds(10), .seconds(10), .seconds(60)])
    }

    @Test("a small operation against a storage that answers after a long delay fails within the small overall deadline")
    func slowSmallOperationGivesUp() async throws {
        let policy = RetryPolicy(
            maxRetries: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50), smallAttemptTimeout: .seconds(1),
            smallOverallTimeout: .milliseconds(2_500))
        try await withDevStorage { devstorage in
            try await BlobClient(account: devstorage.account, retryPolicy: .fast).createContainer("status")
            let blobs = BlobClient(account: devstorage.account, retryPolicy: policy)
            devstorage.faults.update { $0.latencyMilliseconds = 20_000; $0.operations = [.putBlob] }
            let start = ContinuousClock.now
            let error = await #expect(throws: StorageError.self) {
                try await blobs.putBlob("status", "job.json", body: ByteBuffer(string: "{}"))
            }
            #expect(error?.code == .timeout)
            #expect(ContinuousClock.now - start < .seconds(12))  // well before devstorage's 20 s answer
        }
    }
}

import DevStorageKit
import Foundation
import QueueKit
import StorageKit
import TestSupport
import Testing

@Suite("Poison entries always fit in one queue message")
struct PoisonMessageTests {
    static let input = BlobReference(container: "rawfiles", blob: "u/x.jpg", bytes: 9, mediaType: "image/jpeg", md5: "bQ==")

    static func entry(original: String, reason: String = "gave up after 8 attempts: storage unavailable") -> PoisonMessage {
        PoisonMessage(
            jobId: "0b0f8c1e-5f0e-4f7e-9d55-7c1a8e0b9a11", code: "transient", reason: reason, dequeueCount: 8,
            originalMessageId: "5c2d1f9e-1111-4a4a-8b8b-000000000001", input: input, originalText: original,
            failedAt: Date(timeIntervalSince1970: 1_763_880_000))
    }

    @Test("a small original is kept whole, without a truncation marker")
    func smallOriginalWhole() throws {
        let entry = Self.entry(original: "abc")
        let decoded = try PoisonMessage.decode(messageText: try entry.messageText())
        #expect(decoded == entry)
        #expect(decoded.originalTextTruncated == nil)
    }

    @Test(
        "a 63 KiB original is truncated with a marker; id, job id, code, reason and dequeue count stay intact",
        arguments: [
            String(repeating: "A", count: 63 * 1024),  // base64-like text, as job messages are
            String(repeating: "\"\\\u{1}é€😀", count: 63 * 1024 / 16),  // characters JSON escapes or encodes in several bytes
        ])
    func largeOriginalTruncated(original: String) async throws {
        let entry = Self.entry(original: original)
        let text = try entry.messageText()
        #expect(text.utf8.count <= QueueClient.maxMessageBytes)
        let decoded = try PoisonMessage.decode(messageText: text)
        #expect(decoded.originalTextTruncated == true)
        #expect(decoded.originalTextBytes == original.utf8.count)
        #expect(original.hasPrefix(decoded.originalText))
        #expect(decoded.originalText.utf8.count > 20_000)  // as much as fits, not just a token prefix
        #expect(decoded.jobId == entry.jobId)
        #expect(decoded.originalMessageId == entry.originalMessageId)
        #expect(decoded.code == entry.code)
        #expect(decoded.reason == entry.reason)
        #expect(decoded.dequeueCount == 8)
        #expect(decoded.input == Self.input)
        // And the queue takes it.
        try await withDevStorage { devstorage in
            let queues = QueueClient(account: devstorage.account, retryPolicy: .fast)
            try await queues.createQueue(PipelineNames.poisonQueue)
            try await queues.send(PipelineNames.poisonQueue, text: text, timeToLive: -1)
            let received = try #require(try await queues.receive(PipelineNames.poisonQueue).first)
            #expect(try PoisonMessage.decode(messageText: received.text) == decoded)
        }
    }

    @Test("even a pathological 200 KB reason cannot make an entry too large")
    func hugeReason() throws {
        let entry = Self.entry(original: String(repeating: "B", count: 10_000), reason: String(repeating: "r", count: 200_000))
        let text = try entry.messageText()
        #expect(text.utf8.count <= QueueClient.maxMessageBytes)
        let decoded = try PoisonMessage.decode(messageText: text)
        #expect(decoded.reason == String(repeating: "r", count: 8_192) + "…")
        #expect(decoded.originalText == entry.originalText)  // the original fits once the reason is capped
        #expect(decoded.originalTextTruncated == nil)
        #expect(decoded.jobId == entry.jobId)
    }
}

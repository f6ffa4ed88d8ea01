import DevStorageKit
import Foundation
import QueueKit
import StorageKit
import Synchronization
import TestSupport
import Testing


@Suite("Queue client and lease against devstorage over real sockets")
struct QueueClientTests {
    @Test("create is idempotent; send, receive, visibility, update, stale receipts, delete, peek, count, clear")
    func lifecycle() async throws {
        try await withDevStorage { devstorage in
            let queues = QueueClient(account: devstorage.account, retryPolicy: .fast)
            #expect(try await queues.createQueue("jobqueue"))
            #expect(try await queues.createQueue("jobqueue") == false)
            let sent = try await queues.send("jobqueue", text: "a <b> & c", timeToLive: -1)
            #expect(sent.expirationTime == nil)
            #expect(try await queues.peek("jobqueue", count: 5).map(\.text) == ["a <b> & c"])
            let messageList = try await queues.receive("jobqueue", count: 32, visibilityTimeout: 30)
            #expect(messageList.count == 1)
            let message = try #require(messageList.first)
            #expect(message.text == "a <b> & c")
            #expect(message.dequeueCount == 1)
            #expect(try await queues.receive("jobqueue").isEmpty)
            let (receipt, _) = try await queues.update("jobqueue", messageID: message.id, popReceipt: message.popReceipt, visibilityTimeout: 0, text: "changed")
            #expect(receipt != message.popReceipt)
            let stale = await #expect(throws: StorageError.self) { try await queues.delete("jobqueue", messageID: message.id, popReceipt: message.popReceipt) }
            #expect(stale?.isLeaseLost == true)
            let againList = try await queues.receive("jobqueue")
            #expect(againList.count == 1)
            let again = try #require(againList.first)
            #expect(again.text == "changed")
            #expect(again.dequeueCount == 2)
            try await queues.delete("jobqueue", messageID: again.id, popReceipt: again.popReceipt)
            for index in 0..<3 { try await queues.send("jobqueue", text: "m\(index)", visibilityDelay: index == 0 ? 60 : 0) }
            #expect(try await queues.approximateMessageCount("jobqueue") == 3)
            #expect(try await queues.receive("jobqueue", count: 10).map(\.text) == ["m1", "m2"])
            try await queues.clear("jobqueue")
            #expect(try await queues.approximateMessageCount("jobqueue") == 0)
            let tooBig = await #expect(throws: StorageError.self) { try await queues.send("jobqueue", text: String(repeating: "x", count: 65_537)) }
            #expect(tooBig?.code == .messageTooLarge)
            #expect(try await queues.deleteQueue("jobqueue"))
        }
    }

    @Test("a MediaJob survives the queue as base64 text")
    func jobThroughQueue() async throws {
        try await withDevStorage { devstorage in
            let queues = QueueClient(account: devstorage.account, retryPolicy: .fast)
            try await queues.createQueue(PipelineNames.jobQueue)
            let job = MediaJob(input: .init(container: "rawfiles", blob: "x.jpg", bytes: 1, mediaType: "image/jpeg", md5: "m"))
            try await queues.send(PipelineNames.jobQueue, text: try job.messageText())
            let messageList = try await queues.receive(PipelineNames.jobQueue)
            #expect(messageList.count == 1)
            let message = try #require(messageList.first)
            #expect(try MediaJob.decode(messageText: message.text) == job)
        }
    }

    @Test("the lease renews at half the timeout with the newest receipt; nobody else receives the message")
    func leaseKeepsMessage() async throws {
        try await withDevStorage { devstorage in
            let queues = QueueClient(account: devstorage.account, retryPolicy: .fast)
            try await queues.createQueue("work")
            try await queues.send("work", text: "long job")
            // An 8 s visibility timeout renewed every 4 s, each renewal due a second before the held
            // time ends: a 3 s margin even on a loaded CI machine.
            let messageList = try await queues.receive("work", visibilityTimeout: 8)
            #expect(messageList.count == 1)
            let message = try #require(messageList.first)
            let stolen = Atomic<Int>(0)
            let result = try await queues.withLease(message, in: "work", visibilityTimeout: 8) { lease in
                // Work for 2.5× the visibility timeout while another worker keeps polling.
                let end = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < end {
                    stolen.add(try await queues.receive("work", visibilityTimeout: 2).count, ordering: .relaxed)
                    try await Task.sleep(for: .milliseconds(200))
                }
                try await lease.complete()
                return lease.renewals
            }
            #expect(result >= 3)
            let stolenCount = stolen.load(ordering: .relaxed)
            #expect(stolenCount == 0)
            #expect(try await queues.approximateMessageCount("work") == 0)
        }
    }

    @Test("a lost lease cancels the body and is reported")
    func leaseLost() async throws {
        try await withDevStorage { devstorage in
            let queues = QueueClient(account: devstorage.account, retryPolicy: .fast)
            try await queues.createQueue("work")
            try await queues.send("work", text: "contested")
            let messageList = try await queues.receive("work", visibilityTimeout: 2)
            #expect(messageList.count == 1)
            let message = try #require(messageList.first)
            let bodyCancelled = Atomic<Bool>(false)
            await #expect(throws: LeaseLostError.self) {
                try await queues.withLease(message, in: "work", visibilityTimeout: 2) { _ in
                    // Another worker steals the message (its update invalidates our receipt).
                    _ = try await queues.update("work", messageID: message.id, popReceipt: message.popReceipt, visibilityTimeout: 30)
                    do {
                        try await Task.sleep(for: .seconds(30))
                    } catch {
                        bodyCancelled.store(true, ordering: .relaxed)
                        throw error
                    }
                }
            }
            let cancelled = bodyCancelled.load(ordering: .relaxed)
            #expect(cancelled)
        }
    }

    @Test("queue calls succeed through injected 503s")
    func retries() async throws {
        try await withDevStorage { devstorage in
            let queues = QueueClient(account: devstorage.account, retryPolicy: .fast)
            try await queues.createQueue("flaky")
            devstorage.faults.failNext(2, operation: "PutMessage")
            devstorage.faults.failNext(1, operation: "GetMessages", status: 500)
            try await queues.send("flaky", text: "once")
            #expect(try await queues.receive("flaky").map(\.text) == ["once"])
            #expect(devstorage.faults.injectedFailures == 3)
        }
    }

    @Test("messages, receipts and dequeue counts survive a devstorage restart")
    func restart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("devstorage-queue-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let received = try await runDevStorage(dataDirectory: directory) { (devstorage: RunningDevStorage) async throws -> QueueMessage in
            let queues = QueueClient(account: devstorage.account, retryPolicy: .fast)
            try await queues.createQueue("jobqueue")
            try await queues.send("jobqueue", text: "survivor", timeToLive: -1)
            return try #require(try await queues.receive("jobqueue", visibilityTimeout: 60).first)
        }
        try await runDevStorage(dataDirectory: directory) { (devstorage: RunningDevStorage) async throws in
            let queues = QueueClient(account: devstorage.account, retryPolicy: .fast)
            #expect(try await queues.approximateMessageCount("jobqueue") == 1)
            #expect(try await queues.receive("jobqueue").isEmpty)  // still invisible
            try await queues.delete("jobqueue", messageID: received.id, popReceipt: received.popReceipt)
            #expect(try await queues.approximateMessageCount("jobqueue") == 0)
        }
    }
}

import DevStorageKit
import Foundation
import NIOCore
import QueueKit
import StorageKit
import TestSupport
import Testing

@Suite("Job messages and small-operation deadlines on the queue")
struct JobMessageTests {
    @Test("a job message is sent with TTL −1: its expiration time, read back, is \"never\"")
    func jobMessagesNeverExpire() async throws {
        try await withDevStorage { devstorage in
            let transport = RecordingTransport()
            let queues = QueueClient(account: devstorage.account, transport: transport, retryPolicy: .fast)
            try await queues.createQueue(PipelineNames.jobQueue)
            let job = MediaJob(input: .init(container: "rawfiles", blob: "x.jpg", bytes: 1, mediaType: "image/jpeg", md5: "m"))
            let sent = try await queues.send(PipelineNames.jobQueue, job: job)
            #expect(transport.attempts.last?.url.contains("messagettl=-1") == true)
            #expect(sent.expirationTime == nil)
            let peeked = try #require(try await queues.peek(PipelineNames.jobQueue).first)
            #expect(peeked.insertionTime != nil)  // the answer carried times, and the expiration one is "never"
            #expect(peeked.expirationTime == nil)
            #expect(try MediaJob.decode(messageText: peeked.text) == job)
            // Eight days later (past Azure's 7-day default) the job is still there.
            devstorage.clock.advance(by: 8 * 86_400)
            #expect(try await queues.peek(PipelineNames.jobQueue).map(\.id) == [sent.id])
        }
    }

    @Test("peek reports the expiration time of a message that does expire")
    func peekShowsExpiration() async throws {
        try await withDevStorage { devstorage in
            let queues = QueueClient(account: devstorage.account, retryPolicy: .fast)
            try await queues.createQueue("other")
            try await queues.send("other", text: "x", timeToLive: 3_600)
            let peeked = try #require(try await queues.peek("other").first)
            let inserted = try #require(peeked.insertionTime)
            #expect(peeked.expirationTime == inserted.addingTimeInterval(3_600))
        }
    }

    @Test("Put Message answering after a long delay fails within the small-operation deadline, not minutes")
    func slowPutMessageGivesUp() async throws {
        // The defaults scaled down (10 s / 30 s → 1 s / 2.5 s) so the test runs in seconds; transfers keep 60 s.
        let policy = RetryPolicy(
            maxRetries: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50), smallAttemptTimeout: .seconds(1),
            smallOverallTimeout: .milliseconds(2_500))
        try await withDevStorage { devstorage in
            let transport = RecordingTransport()
            try await QueueClient(account: devstorage.account, retryPolicy: .fast).createQueue(PipelineNames.jobQueue)
            let queues = QueueClient(account: devstorage.account, transport: transport, retryPolicy: policy)
            devstorage.faults.update { $0.latencyMilliseconds = 20_000; $0.operations = [.putMessage] }
            let job = MediaJob(input: .init(container: "rawfiles", blob: "x.jpg", bytes: 1, mediaType: "image/jpeg", md5: "m"))
            let start = ContinuousClock.now
            let error = await #expect(throws: StorageError.self) { try await queues.send(PipelineNames.jobQueue, job: job) }
            #expect(error?.code == .timeout)
            #expect(ContinuousClock.now - start < .seconds(12))  // well before devstorage's 20 s answer
            #expect(transport.attempts.allSatisfy { $0.timeout <= .seconds(1) })
        }
    }

    @Test("with the default policy, Put Message attempts get 10 s")
    func defaultSmallTimeout() async throws {
        try await withDevStorage { devstorage in
            let transport = RecordingTransport()
            let queues = QueueClient(account: devstorage.account, transport: transport)
            try await queues.createQueue("jobs")
            try await queues.send("jobs", text: "x")
            #expect(transport.attempts.map(\.timeout) == [.seconds(10), .seconds(10)])
        }
    }
}

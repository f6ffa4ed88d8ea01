import Foundation
import Logging
import MediaKit
import QueueKit
import StorageKit
import TestSupport
import Testing

@testable import Processor

/// The final status write (succeeded or failed) is conditional on what this delivery read or wrote,
/// so a delivery that gives up never overwrites a job another delivery is finishing.
@Suite("Conditional final writes")
struct FinalWriteTests {
    static func handler(_ account: StorageAccount) async throws -> JobHandler {
        let blobs = BlobClient(account: account, retryPolicy: .fast)
        let queues = QueueClient(account: account, retryPolicy: .fast)
        for container in [PipelineNames.statusContainer, PipelineNames.rawContainer, PipelineNames.processedContainer] {
            _ = try await blobs.createContainer(container)
        }
        for queue in [PipelineNames.jobQueue, PipelineNames.poisonQueue] { _ = try await queues.createQueue(queue) }
        return JobHandler(
            blobs: blobs, queues: queues, configuration: ProcessorConfiguration(), webhook: .none, names: .init(),
            runner: MediaRunner(mode: .none, limits: MediaLimits()))
    }

    static let job = MediaJob(input: .init(container: "rawfiles", blob: "a/photo.jpg", bytes: 10, mediaType: "image/jpeg", md5: ""))

    /// Sends the job, receives it, writes this delivery's `processing` document (delivery
    /// `attempt`), lets `meanwhile` act, then gives up with `code` under the lease.
    static func giveUp(
        _ handler: JobHandler, attempt delivery: Int, code: String, meanwhile: () async throws -> Void = {}
    ) async throws -> JobHandler.Outcome {
        let queues = handler.queues
        try await queues.send(PipelineNames.jobQueue, job: job)
        let message = try #require(try await queues.receive(PipelineNames.jobQueue, visibilityTimeout: 60).first)
        var attempt = Attempt(job: job)
        let mine = JobStatus(queued: job).processing(attempt: delivery)
        attempt.claim(mine, etag: try await handler.write(mine))
        try await meanwhile()
        let claimed = attempt
        return try await queues.withLease(message, in: PipelineNames.jobQueue, visibilityTimeout: 60) { lease in
            try await handler.giveUp(code: code, reason: "why", message: message, attempt: claimed, lease: lease, logger: Logger(label: "test"))
        }
    }

    @Test("giving up after another delivery took the job over deletes this delivery without poisoning")
    func giveUpYieldsToAnotherDelivery() async throws {
        try await withDevStorage { devstorage in
            let handler = try await Self.handler(devstorage.account)
            // This delivery claimed the job, then another (a duplicate message) claimed it and is finishing it.
            let outcome = try await Self.giveUp(handler, attempt: 8, code: "transient") {
                try await handler.write(JobStatus(queued: Self.job).processing(attempt: 9))
            }
            #expect(outcome == .alreadyDone)
            #expect(try await handler.status(of: Self.job.jobId)?.status == .processing)
            #expect(try await handler.status(of: Self.job.jobId)?.attempts == 9)
            #expect(try await handler.queues.peek(PipelineNames.poisonQueue, count: 32).isEmpty)
            #expect(try await handler.queues.approximateMessageCount(PipelineNames.jobQueue) == 0)
        }
    }

    @Test("giving up with its own claim intact records failed and poisons once")
    func giveUpWithClaim() async throws {
        try await withDevStorage { devstorage in
            let handler = try await Self.handler(devstorage.account)
            let outcome = try await Self.giveUp(handler, attempt: 1, code: "corrupt")
            #expect(outcome == .poisoned)
            let status = try #require(try await handler.status(of: Self.job.jobId))
            #expect(status.status == .failed && status.error?.code == "corrupt")
            #expect(status.firstAttemptAt != nil && status.attempts == 1)
            #expect(try await handler.queues.peek(PipelineNames.poisonQueue, count: 32).count == 1)
        }
    }

    @Test("a delivery that read no document may only create one")
    func createOnly() async throws {
        try await withDevStorage { devstorage in
            let handler = try await Self.handler(devstorage.account)
            let attempt = Attempt(job: Self.job)
            try await handler.write(JobStatus(queued: Self.job).processing(attempt: 2))  // written meanwhile by another
            #expect(try await handler.writeFinal(JobStatus(queued: Self.job).failed(code: "transient", reason: "r"), attempt: attempt) == false)
            #expect(try await handler.status(of: Self.job.jobId)?.status == .processing)
        }
    }
}

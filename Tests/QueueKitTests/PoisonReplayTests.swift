import DevStorageKit
import Foundation
import NIOCore
import NIOFoundationCompat
import StorageKit
import TestSupport
import Testing

@testable import QueueKit

/// `processor replay`'s engine against devstorage (issue 13 item 3): a poison entry goes back onto
/// the job queue with its status reset to `queued` — a status left `failed` makes the processor
/// delete the replayed message as already done.
@Suite("Replaying poison entries")
struct PoisonReplayTests {
    struct Fixture {
        let blobs: BlobClient
        let queues: QueueClient
        let devstorage: RunningDevStorage
        var replay: PoisonReplay { PoisonReplay(blobs: blobs, queues: queues, leaseSeconds: 30) }

        /// A job that failed: status `failed`, its message quarantined with `code`.
        @discardableResult
        func poisoned(code: String = "corrupt", originalName: String? = "photo.jpg", failedAt: Date = Date(timeIntervalSinceNow: -60)) async throws -> MediaJob {
            let job = MediaJob(
                input: BlobReference(container: PipelineNames.rawContainer, blob: "u/\(UUID().uuidString).jpg", bytes: 10, mediaType: "image/jpeg", md5: "bQ=="),
                originalName: originalName)
            let failed = JobStatus(queued: job).processing(attempt: 1).failed(code: code, reason: "the file is broken")
            try await writeStatus(failed)
            let entry = PoisonMessage(
                jobId: job.jobId, code: code, reason: "the file is broken", dequeueCount: 1, originalMessageId: UUID().uuidString, input: job.input,
                originalText: try job.messageText(), failedAt: failedAt)
            try await queues.send(PipelineNames.poisonQueue, text: try entry.messageText(), timeToLive: -1)
            return job
        }

        @discardableResult
        func writeStatus(_ status: JobStatus, conditions: BlobConditions = .none) async throws -> String {
            try await blobs.putBlob(
                PipelineNames.statusContainer, "\(status.jobId).json", body: ByteBuffer(data: try status.json()),
                options: BlobUploadOptions(contentType: "application/json", conditions: conditions)
            ).etag
        }

        func status(_ jobId: String) async throws -> JobStatus {
            try JobStatus.decode(Data(buffer: try await blobs.downloadData(PipelineNames.statusContainer, "\(jobId).json")))
        }

        func jobs() async throws -> [MediaJob] {
            try await queues.peek(PipelineNames.jobQueue, count: 32).map { try MediaJob.decode(messageText: $0.text) }
        }

        func entries() async throws -> [PoisonMessage] {
            try await queues.peek(PipelineNames.poisonQueue, count: 32).map { try PoisonMessage.decode(messageText: $0.text) }
        }
    }

    func withFixture(_ body: (Fixture) async throws -> Void) async throws {
        try await withDevStorage { devstorage in
            let blobs = BlobClient(account: devstorage.account, retryPolicy: .fast)
            let queues = QueueClient(account: devstorage.account, retryPolicy: .fast)
            try await blobs.createContainer(PipelineNames.statusContainer)
            try await queues.createQueue(PipelineNames.jobQueue)
            try await queues.createQueue(PipelineNames.poisonQueue)
            try await body(Fixture(blobs: blobs, queues: queues, devstorage: devstorage))
        }
    }

    @Test("a failed job goes back: status queued, the same job on the queue never expiring, the entry gone")
    func replaysAFailedJob() async throws {
        try await withFixture { fixture in
            let job = try await fixture.poisoned()
            let items = try await fixture.replay.run(selection: .all, dryRun: false)
            #expect(items.map(\.action) == [.replayed])
            #expect(items.first?.status == .failed)
            let status = try await fixture.status(job.jobId)
            #expect(status.status == .queued && status.error == nil)
            #expect(status.createdAt == job.submittedAt)  // the history stays
            let sent = try await fixture.queues.peek(PipelineNames.jobQueue)
            #expect(sent.count == 1 && sent.first?.expirationTime == nil)  // TTL −1
            #expect(try MediaJob.decode(messageText: sent[0].text) == job)
            #expect(try await fixture.entries().isEmpty)
            #expect(try await fixture.queues.approximateMessageCount(PipelineNames.poisonQueue) == 0)
        }
    }

    @Test("a dry run lists every entry (more than Peek's 32) and changes nothing; the entries are visible again after it")
    func dryRunChangesNothing() async throws {
        try await withFixture { fixture in
            var ids: Set<String> = []
            for _ in 0..<35 { ids.insert(try await fixture.poisoned().jobId) }
            let items = try await fixture.replay.run(selection: .all, dryRun: true)
            #expect(Set(items.compactMap(\.entry?.jobId)) == ids)
            #expect(items.allSatisfy { $0.action == .wouldReplay && $0.status == .failed })
            #expect(try await fixture.jobs().isEmpty)
            #expect(try await fixture.entries().count == 32)  // all visible again (Peek shows at most 32)
            #expect(try await fixture.queues.approximateMessageCount(PipelineNames.poisonQueue) == 35)
            for id in ids { #expect(try await fixture.status(id).status == .failed) }
        }
    }

    @Test("by job id and by code: only the selected entries go; the others stay, visible")
    func selection() async throws {
        try await withFixture { fixture in
            let corrupt = try await fixture.poisoned(code: "corrupt")
            let transient = try await fixture.poisoned(code: "transient")
            let other = try await fixture.poisoned(code: "transient")
            let byCode = try await fixture.replay.run(selection: .init(codes: ["transient"]), dryRun: false)
            #expect(Set(byCode.filter { $0.action == .replayed }.compactMap(\.entry?.jobId)) == [transient.jobId, other.jobId])
            #expect(byCode.first { $0.entry?.jobId == corrupt.jobId }?.action == .notSelected)
            #expect(try await fixture.entries().map(\.jobId) == [corrupt.jobId])
            let byId = try await fixture.replay.run(selection: .init(jobIds: [corrupt.jobId]), dryRun: false)
            #expect(byId.map(\.action) == [.replayed])
            #expect(Set(try await fixture.jobs().map(\.jobId)) == [corrupt.jobId, transient.jobId, other.jobId])
            #expect(try await fixture.entries().isEmpty)
        }
    }

    @Test("an entry whose original was cut to fit is rebuilt from its job id, input and status")
    func truncatedOriginal() async throws {
        try await withFixture { fixture in
            let job = try await fixture.poisoned(originalName: String(repeating: "n", count: 70_000))
            let entry = try #require(try await fixture.entries().first)
            #expect(entry.originalTextTruncated == true)
            let items = try await fixture.replay.run(selection: .all, dryRun: false)
            #expect(items.map(\.action) == [.replayed])
            let sent = try #require(try await fixture.jobs().first)
            #expect(sent.jobId == job.jobId && sent.input == job.input)
            #expect(try await fixture.status(job.jobId).status == .queued)
        }
    }

    @Test("with refreshInput, a replaced input blob's size and MD5 go into the replayed job and its status")
    func refreshedInput() async throws {
        try await withFixture { fixture in
            let job = try await fixture.poisoned()
            try await fixture.blobs.createContainer(job.input.container)
            let uploaded = try await fixture.blobs.putBlob(job.input.container, job.input.blob, body: ByteBuffer(string: "fixed bytes"))
            let replay = PoisonReplay(blobs: fixture.blobs, queues: fixture.queues, leaseSeconds: 30, refreshInput: true)
            #expect(try await replay.run(selection: .all, dryRun: false).map(\.action) == [.replayed])
            let sent = try #require(try await fixture.jobs().first)
            #expect(sent.input.bytes == 11 && sent.input.md5 == uploaded.md5.base64EncodedString())
            #expect(sent.jobId == job.jobId && sent.input.blob == job.input.blob)
            #expect(try await fixture.status(job.jobId).input == sent.input)
        }
    }

    @Test("a job that has succeeded since is left alone: nothing sent, the entry kept")
    func alreadySucceeded() async throws {
        try await withFixture { fixture in
            let job = try await fixture.poisoned()
            try await fixture.writeStatus(JobStatus(queued: job).processing(attempt: 2).succeeded(outputs: [], timings: [:]))
            let items = try await fixture.replay.run(selection: .all, dryRun: false)
            #expect(items.map(\.action) == [.alreadySucceeded])
            #expect(try await fixture.jobs().isEmpty)
            #expect(try await fixture.entries().count == 1)
            #expect(try await fixture.status(job.jobId).status == .succeeded)
        }
    }

    @Test("the reset is conditional: a status changed after it was read is read again, never overwritten")
    func conditionalReset() async throws {
        try await withFixture { fixture in
            let job = try await fixture.poisoned()
            let replay = fixture.replay
            let stale = try await replay.readStatus(job.jobId, tenant: job.tenant)
            #expect(stale.document?.status == .failed)
            // A concurrent writer (a duplicate delivery finishing the job) after the read.
            try await fixture.writeStatus(JobStatus(queued: job).processing(attempt: 2).succeeded(outputs: [], timings: [:]))
            let entry = try #require(try await fixture.entries().first)
            let outcome = try await replay.requeue(job.jobId, resend: try .init(entry), entry: entry, read: stale)
            #expect(outcome == .alreadySucceeded)
            #expect(try await fixture.status(job.jobId).status == .succeeded)
            // A `failed` document rewritten after the read: reset from what is there now, not from the stale copy.
            try await fixture.writeStatus(JobStatus(queued: job).failed(code: "transient", reason: "first"))
            let read = try await replay.readStatus(job.jobId, tenant: job.tenant)
            try await fixture.writeStatus(JobStatus(queued: job).processing(attempt: 7).failed(code: "transient", reason: "second"))
            #expect(try await replay.requeue(job.jobId, resend: try .init(entry), entry: entry, read: read) == .queued)
            let now = try await fixture.status(job.jobId)
            #expect(now.status == .queued && now.error == nil && now.attempts == 7)
        }
    }

    @Test("two entries of one job quarantined before the run: replayed once, the duplicate deleted")
    func duplicates() async throws {
        try await withFixture { fixture in
            let job = try await fixture.poisoned()
            var second = try #require(try await fixture.entries().first)
            second.originalMessageId = UUID().uuidString
            try await fixture.queues.send(PipelineNames.poisonQueue, text: try second.messageText(), timeToLive: -1)
            let items = try await fixture.replay.run(selection: .all, dryRun: false)
            #expect(items.map(\.action) == [.replayed, .duplicate])
            #expect(try await fixture.jobs().map(\.jobId) == [job.jobId])
            #expect(try await fixture.entries().isEmpty)
        }
    }

    @Test("an entry without a job (a malformed message) is listed and kept")
    func unreadable() async throws {
        try await withFixture { fixture in
            let entry = PoisonMessage(jobId: nil, code: "malformed", reason: "not a job", dequeueCount: 1, originalMessageId: "m", input: nil, originalText: "garbage")
            try await fixture.queues.send(PipelineNames.poisonQueue, text: try entry.messageText(), timeToLive: -1)
            try await fixture.queues.send(PipelineNames.poisonQueue, text: "not an entry at all", timeToLive: -1)
            let items = try await fixture.replay.run(selection: .all, dryRun: false)
            #expect(items.map(\.action) == [.unreadable, .unreadable])
            #expect(try await fixture.queues.approximateMessageCount(PipelineNames.poisonQueue) == 2)
            #expect(try await fixture.jobs().isEmpty)
        }
    }
}

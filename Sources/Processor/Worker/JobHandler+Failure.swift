import Foundation
import Logging
import MediaKit
import NIOCore
import NIOFoundationCompat
import QueueKit
import StorageKit

/// What one delivery knows about its job's status document: what was read (with its ETag) and,
/// once written, this delivery's `processing` document and its ETag.
struct Attempt: Sendable {
    let job: MediaJob
    /// The document as read at the start, with its ETag (nil: none yet).
    var stored: (status: JobStatus, etag: String)?
    /// This delivery's `processing` document and its ETag, once written.
    private(set) var claimed: (status: JobStatus, etag: String)?

    init(job: MediaJob) { self.job = job }

    mutating func claim(_ status: JobStatus, etag: String) { claimed = (status, etag) }

    /// The document a final write starts from, carrying this job's trace id (documents written
    /// before trace ids were recorded get it here).
    var document: JobStatus {
        var document = claimed?.status ?? stored?.status ?? JobStatus(queued: job)
        document.traceId = document.traceId ?? job.traceId
        return document
    }

    /// When the first attempt started, when known: recorded in a document read or written by this
    /// delivery. Unknown when the status could not be read, or the first attempt's write failed.
    var firstAttemptAt: Date? { claimed?.status.firstAttemptAt ?? stored?.status.firstAttemptAt }

    /// Seconds since the first attempt, else since `fallback` (nil when neither is known).
    func age(orSince fallback: Date? = nil, now: Date = Date()) -> TimeInterval? {
        (firstAttemptAt ?? fallback).map { now.timeIntervalSince($0) }
    }

    /// The condition for a final write: this delivery's `processing` document, else the document
    /// read, else "none may exist yet" — never a blind overwrite of what another delivery wrote.
    var finalWriteCondition: BlobConditions {
        if let etag = claimed?.etag ?? stored?.etag { return BlobConditions(ifMatch: etag) }
        return .createOnly
    }
}

extension JobHandler {
    /// Acts on the policy's decision for a failure under the lease.
    func settle(_ error: any Error, message: QueueMessage, attempt: Attempt, lease: MessageLease, logger: Logger) async throws -> Outcome {
        switch policy.decide(error, delivery: message.dequeueCount, age: attempt.age()) {
        case .stop:
            throw error
        case .release:
            // Shutdown past the grace period (or a lost lease): make the message visible again at
            // once. The request runs in its own task because this one is cancelled.
            let released = await Task { () -> (any Error)? in
                do {
                    try await lease.release(after: 0)
                    return nil
                } catch {
                    return error
                }
            }.value
            if let released {
                logger.warning("stopped; releasing the message failed, it returns after its visibility timeout", metadata: ["error": "\(released)"])
            } else {
                logger.info("stopped; the message was released for another worker")
            }
            throw CancellationError()
        case .retry(let seconds):
            logger.warning(
                "transient failure; retrying later",
                metadata: [
                    "reason": "\(FailurePolicy.describe(error))", "retry.after.seconds": "\(seconds)", "delivery": "\(message.dequeueCount)",
                ])
            try await lease.release(after: seconds)
            return .retrying
        case .poison(let code, let reason):
            return try await giveUp(code: code, reason: reason, message: message, attempt: attempt, lease: lease, logger: logger)
        }
    }

    /// Records `failed` (conditionally: a document another delivery changed since wins), puts the
    /// message on the poison queue, deletes it and notifies.
    func giveUp(code: String, reason: String, message: QueueMessage, attempt: Attempt, lease: MessageLease, logger: Logger) async throws -> Outcome {
        let failed = attempt.document.failed(code: code, reason: reason)
        let written: Bool
        do {
            written = try await writeFinal(failed, attempt: attempt)
        } catch {
            // The status cannot be written now; the poison entry still records why, and replay
            // resets the status either way.
            logger.warning("could not record the failure in the status document", metadata: ["error": "\(error)"])
            written = true
        }
        guard written else {
            logger.info("another delivery changed the job's status; deleting this one without poisoning", metadata: ["code": "\(code)"])
            try await lease.complete()
            return .alreadyDone
        }
        await poison(message, job: attempt.job, code: code, reason: reason, lease: lease, logger: logger)
        await notify(failed, logger: logger)
        return .poisoned
    }

    /// Sends the message to the poison queue (never expiring) with the reason, then deletes it.
    func poison(_ message: QueueMessage, job: MediaJob?, code: String, reason: String, lease: MessageLease?, logger: Logger) async {
        let entry = PoisonMessage(
            jobId: job?.jobId, code: code, reason: reason, dequeueCount: message.dequeueCount, originalMessageId: message.id, input: job?.input,
            originalText: message.text, tenant: job?.tenant)
        do {
            _ = try await queues.send(names.poisonQueue, text: try entry.messageText(), timeToLive: -1)
            if let lease {
                try await lease.complete()
            } else {
                try await queues.delete(names.queue, messageID: message.id, popReceipt: message.popReceipt)
            }
            ProcessorMetrics.poisoned(code: code)
            logger.error("job poisoned", metadata: ["code": "\(code)", "reason": "\(reason)"])
        } catch {
            // The message stays; it comes back and is quarantined again (the poison entry is keyed
            // by the original message id for whoever inspects duplicates).
            logger.error("could not poison the message", metadata: ["error": "\(error)"])
        }
    }

    func notify(_ status: JobStatus, logger: Logger) async {
        guard let webhook = webhook.target(for: status.tenant), let body = try? status.json() else { return }
        await webhook.deliver(body, jobId: status.jobId, traceId: status.traceId, logger: logger)
    }

    /// The job's status document and its ETag (nil when there is none).
    func storedStatus(of jobId: String, tenant: String?) async throws -> (status: JobStatus, etag: String)? {
        do {
            let document = try await blobs.downloadDocument(names.statusContainer, JobStatus.documentName(jobId: jobId, tenant: tenant))
            return (try JobStatus.decode(Data(buffer: document.bytes)), document.properties.etag)
        } catch let error as StorageError where error.isNotFound {
            return nil
        }
    }

    /// The job's status document (nil when there is none).
    func status(of jobId: String, tenant: String? = nil) async throws -> JobStatus? {
        try await storedStatus(of: jobId, tenant: tenant)?.status
    }

    /// Writes a final document (succeeded or failed) under `attempt`'s condition. False when
    /// another delivery changed the document first (412, or 409 for a document that now exists).
    func writeFinal(_ status: JobStatus, attempt: Attempt) async throws -> Bool {
        do {
            try await write(status, conditions: attempt.finalWriteCondition)
            return true
        } catch let error as StorageError where error.status == 412 || error.status == 409 {
            // A retried write whose first attempt succeeded meets its own ETag change: the
            // document then is ours.
            if error.afterUncertainAttempt, let current = try? await storedStatus(of: status.jobId, tenant: status.tenant), current.status.status == status.status,
                current.status.updatedAt == status.updatedAt
            {
                return true
            }
            return false
        }
    }

    /// Writes a status document; returns its ETag.
    @discardableResult
    func write(_ status: JobStatus, conditions: BlobConditions = .none) async throws -> String {
        try await blobs.putBlob(names.statusContainer, status.documentName, body: ByteBuffer(data: try status.json()), options: status.uploadOptions(conditions: conditions)).etag
    }
}

import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import StorageKit

extension PoisonReplay {
    /// Decides and, unless `dryRun`, carries out what happens to one entry. Entries not deleted go
    /// into `run.held`.
    func handle(_ message: QueueMessage, selection: Selection, dryRun: Bool, run: inout Run) async -> Item {
        var item = Item(messageId: message.id, entry: nil, action: .unreadable, status: nil, detail: nil)
        func keep(_ action: Action, _ detail: String? = nil) -> Item {
            run.held[message.id] = message.popReceipt
            item.action = action
            item.detail = detail
            return item
        }
        guard let entry = try? PoisonMessage.decode(messageText: message.text) else {
            return keep(.unreadable, "not a poison entry")
        }
        item.entry = entry
        guard selection.matches(entry) else { return keep(.notSelected) }
        guard let jobId = entry.jobId else { return keep(.unreadable, "the original message could not be read as a job: nothing to replay") }
        if run.jobs.contains(jobId) {
            guard entry.failedAt < run.startedAt else { return keep(.failedAgain, "quarantined again after this run replayed the job") }
            if dryRun { return keep(.duplicate, "another entry of this job would be replayed; this one would be deleted") }
            do {
                run.deleted.insert(message.id)
                try await deleteEntry(message)
                item.action = .duplicate
                item.detail = "another entry of this job was replayed; this one is deleted"
            } catch {
                return keep(.error, "deleting the duplicate entry: \(error)")
            }
            return item
        }
        var resend: Resend
        do {
            resend = try Resend(entry)
        } catch {
            return keep(.unreadable, "\(error)")
        }
        do {
            if refreshInput, !dryRun, case .job(var job) = resend {
                // The operator replaced the input blob: the replayed job claims what is there now.
                let properties = try await blobs.properties(job.input.container, job.input.blob)
                job.input.bytes = properties.contentLength
                job.input.md5 = properties.contentMD5 ?? ""
                resend = .job(job)
            }
            let current = try await readStatus(jobId, tenant: resend.tenant(entry: entry))
            item.status = current.document?.status
            if current.document?.status == .succeeded { return keep(.alreadySucceeded, "the job has succeeded since; nothing to replay") }
            run.jobs.insert(jobId)
            if dryRun { return keep(.wouldReplay) }
            // 1. Status back to `queued` (conditionally); 2. the job again; 3. the entry goes.
            if try await requeue(jobId, resend: resend, entry: entry, read: current) == .alreadySucceeded {
                run.jobs.remove(jobId)
                return keep(.alreadySucceeded, "the job succeeded while being replayed; nothing to replay")
            }
            switch resend {
            case .job(let job): try await queues.send(names.queue, job: job)
            case .text(let text): try await queues.send(names.queue, text: text, timeToLive: MediaJob.messageTimeToLive)
            }
        } catch {
            return keep(.error, "\(error)")
        }
        run.deleted.insert(message.id)
        item.action = .replayed
        do {
            try await deleteEntry(message)
        } catch {
            // The job is back on the queue; the entry stays and a later run replays it again: a
            // duplicate delivery, harmless.
            item.detail = "replayed, but the entry could not be deleted (\(error)); replaying it again later is harmless"
        }
        return item
    }

    private func deleteEntry(_ message: QueueMessage) async throws {
        do {
            try await queues.delete(names.poisonQueue, messageID: message.id, popReceipt: message.popReceipt)
        } catch let error as StorageError where error.code == .messageNotFound {
            return  // gone already (a retried delete whose first answer was lost)
        }
    }

    /// What is sent to the job queue again.
    enum Resend {
        /// A job message (the original, or one rebuilt from a truncated entry).
        case job(MediaJob)
        /// The original text as it was (an Event Grid event: the processor derives the same job id).
        case text(String)

        struct Unreplayable: Error, CustomStringConvertible { let description: String }

        init(_ entry: PoisonMessage) throws {
            if entry.originalTextTruncated != true {
                if let job = try? MediaJob.decode(messageText: entry.originalText), job.jobId == entry.jobId {
                    self = .job(job)
                    return
                }
                if !entry.originalText.isEmpty, entry.input != nil {
                    self = .text(entry.originalText)
                    return
                }
            }
            // Cut to fit in the poison queue: the job is rebuilt from what the entry keeps whole.
            guard let jobId = entry.jobId, let input = entry.input else {
                throw Unreplayable(description: "the original message is cut and the entry names no input blob: nothing to rebuild the job from")
            }
            self = .job(MediaJob(jobId: jobId, input: input, submittedAt: entry.failedAt, tenant: entry.tenant))
        }

        /// The job a new status document is written for.
        func statusJob(entry: PoisonMessage) -> MediaJob? {
            switch self {
            case .job(let job): job
            case .text: entry.jobId.flatMap { id in entry.input.map { MediaJob(jobId: id, input: $0, submittedAt: entry.failedAt, tenant: entry.tenant) } }
            }
        }

        /// The tenant whose status document the replay updates.
        func tenant(entry: PoisonMessage) -> String? {
            switch self {
            case .job(let job): job.tenant
            case .text: entry.tenant
            }
        }
    }

    /// A status document as read: its decoded content (nil when missing or unreadable) and ETag
    /// (nil when missing).
    struct StatusRead {
        var document: JobStatus?
        var etag: String?
    }

    func readStatus(_ jobId: String, tenant: String?) async throws -> StatusRead {
        do {
            let download = try await blobs.download(names.statusContainer, JobStatus.documentName(jobId: jobId, tenant: tenant))
            let body = try await download.body.collect(upTo: 1 << 20)
            return StatusRead(document: try? JobStatus.decode(Data(buffer: body)), etag: download.properties.etag)
        } catch let error as StorageError where error.isNotFound {
            return StatusRead(document: nil, etag: nil)
        }
    }

    enum Requeued { case queued, alreadySucceeded }

    /// Writes the job's status back to `queued`, conditionally on the ETag it read (create-only when
    /// there was none); on a conflict it reads again and decides again.
    func requeue(_ jobId: String, resend: Resend, entry: PoisonMessage, read first: StatusRead) async throws -> Requeued {
        var current = first
        for attempt in 1...5 {
            if attempt > 1 { current = try await readStatus(jobId, tenant: resend.tenant(entry: entry)) }
            if current.document?.status == .succeeded { return .alreadySucceeded }
            if let document = current.document, document.status == .queued, document.error == nil { return .queued }
            var next: JobStatus
            if let document = current.document {
                next = document.requeued()
            } else if let job = resend.statusJob(entry: entry) {
                next = JobStatus(queued: job)  // missing (or unreadable): a fresh `queued` document
            } else {
                return .queued  // no document and nothing to write one from: the processor starts one
            }
            next.jobId = jobId
            next.tenant = resend.tenant(entry: entry)
            if case .job(let job) = resend { next.input = job.input }
            let conditions = current.etag.map { BlobConditions(ifMatch: $0) } ?? .createOnly
            do {
                try await blobs.putBlob(
                    names.statusContainer, next.documentName, body: ByteBuffer(data: try next.json()), options: next.uploadOptions(conditions: conditions))
                return .queued
            } catch let error as StorageError where error.status == 412 || error.code == .blobAlreadyExists {
                logger.info("the job status changed while being replayed; reading it again", metadata: ["job.id": "\(jobId)"])
                continue
            }
        }
        throw StorageError(.conditionNotMet, message: "the status of job \(jobId) kept changing while it was replayed; run again", operation: "PutBlob")
    }
}

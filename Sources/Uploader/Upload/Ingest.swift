import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import QueueKit
import StorageKit

/// The storage side of an upload: stream the bytes into a block blob in `rawfiles`, then — once
/// every file of the request is committed — write each job's `queued` status document and post
/// its message on `jobqueue`. If publishing fails part-way, what was published is taken back, so
/// the client's 503 means no job exists.
struct Ingest: Sendable {
    let blobs: BlobClient
    let queues: QueueClient
    let staging: BlobClient.StagedUploadOptions
    let rawContainer: String
    let statusContainer: String
    let queue: String

    /// Streams one file into a new blob and returns the job that describes it (not yet published).
    /// Nothing is committed if `bytes` throws or the task is cancelled.
    func store<Bytes: AsyncSequence>(
        _ bytes: Bytes, mediaType: MediaType, originalName: String?, traceId: String, tenant: String, now: Date = Date()
    ) async throws -> MediaJob where Bytes.Element == ByteBuffer {
        let jobId = MediaJob.newJobId(at: now)
        let blob = Self.blobName(jobId: jobId, fileExtension: mediaType.fileExtension, date: now)
        let metadata = Self.blobMetadata(jobId: jobId, tenant: tenant, originalName: originalName)
        let result = try await blobs.upload(
            rawContainer, blob, from: bytes,
            options: BlobUploadOptions(contentType: mediaType.mime, metadata: metadata),
            staging: staging)
        let input = BlobReference(
            container: rawContainer, blob: blob, bytes: result.bytes, mediaType: mediaType.mime, md5: result.md5Base64)
        return MediaJob(jobId: jobId, input: input, originalName: originalName, submittedAt: now.jobPrecision, traceId: traceId, tenant: tenant)
    }

    /// Writes each job's `queued` status document, then enqueues the jobs. On failure, removes what
    /// it published (messages by their receipts, status documents) and rethrows.
    func publish(_ jobs: [MediaJob], logger: Logger) async throws {
        var sent: [(job: MediaJob, message: EnqueuedMessage)] = []
        var written: [MediaJob] = []
        do {
            for job in jobs {
                let status = JobStatus(queued: job)
                _ = try await blobs.putBlob(statusContainer, status.documentName, body: ByteBuffer(data: try status.json()), options: status.uploadOptions())
                written.append(job)
            }
            for job in jobs {
                let message = try await queues.send(queue, job: job)
                sent.append((job, message))
                logger.info("job queued", metadata: ["job.id": "\(job.jobId)", "message.id": "\(message.id)", "blob": "\(job.input.blob)"])
            }
        } catch {
            logger.error("publishing failed; taking back what was published", metadata: ["error": "\(error)"])
            for (job, message) in sent {
                do {
                    try await queues.delete(queue, messageID: message.id, popReceipt: message.popReceipt)
                } catch {
                    // A worker received it already: the job runs, which is still consistent (its blob exists).
                    logger.warning("could not withdraw a queued job", metadata: ["job.id": "\(job.jobId)", "error": "\(error)"])
                }
            }
            for job in written {
                _ = try? await blobs.delete(statusContainer, JobStatus.documentName(jobId: job.jobId, tenant: job.tenant))
            }
            throw error
        }
    }

    /// Best-effort removal of committed inputs whose request failed (a lifecycle rule on
    /// `rawfiles` removes whatever a crash leaves behind).
    func discard(_ jobs: [MediaJob], logger: Logger) async {
        for job in jobs {
            do {
                _ = try await blobs.delete(job.input.container, job.input.blob)
            } catch {
                logger.warning("could not remove an unpublished input", metadata: ["blob": "\(job.input.blob)", "error": "\(error)"])
            }
        }
    }

    /// The status document of `tenant`'s job, or nil when there is none — or when it is another
    /// tenant's. A document at the old place (`{jobId}.json`, written before tenants) is found
    /// there too; it names no tenant and stays readable as before.
    func status(jobId: String, tenant: String) async throws -> JobStatus? {
        for name in [JobStatus.documentName(jobId: jobId, tenant: tenant), JobStatus.documentName(jobId: jobId, tenant: nil)] {
            if let status = try await document(name) {
                return status.tenant == nil || status.tenant == tenant ? status : nil
            }
        }
        return nil
    }

    func document(_ name: String) async throws -> JobStatus? {
        do {
            let buffer = try await blobs.downloadData(statusContainer, name, limit: 1 << 20)
            return try JobStatus.decode(Data(buffer: buffer))
        } catch let error as StorageError where error.isNotFound {
            return nil
        }
    }

    /// The metadata an input blob carries (every upload path writes the same).
    static func blobMetadata(jobId: String, tenant: String, originalName: String?) -> [String: String] {
        var metadata = ["jobid": jobId, "tenant": tenant]
        if let originalName { metadata["originalname"] = originalName }
        return metadata
    }

    /// The media type of a file from its first bytes, or the error every upload path answers: 400
    /// for an empty file, 415 for content that is no supported image, video or audio file.
    static func acceptedMediaType(head: ByteBuffer) throws -> MediaType {
        guard head.readableBytes > 0 else { throw UploaderError(.emptyFile, "the file is empty") }
        guard let mediaType = MediaType.sniff(head.readableBytesView) else {
            throw UploaderError(
                .unsupportedMediaType,
                "the content is not a supported image, video or audio file (\(MediaType.acceptedFormats))")
        }
        return mediaType
    }

    /// `2026/11/23/{jobId}.jpg`: generated, never from user input.
    static func blobName(jobId: String, fileExtension: String, date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)/\(two(parts.tm_mon + 1))/\(two(parts.tm_mday))/\(jobId).\(fileExtension)"
    }

}

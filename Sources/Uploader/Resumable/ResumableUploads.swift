import Crypto
import Foundation
import Hummingbird
import Logging
import QueueKit
import NIOCore
import NIOFoundationCompat
import QueueKit
import StorageKit

/// Resumable uploads over storage-backed state, shared by both wire protocols (tus 1.0 at `/files/`,
/// the IETF draft at `/resumable/`):
///
/// - each append (PATCH, or a creation request's body) streams into staged, uncommitted blocks of
///   the target blob in `rawfiles` (`BlockStager`), never more than a few blocks in memory;
/// - the upload's state (offset, block ids, running MD5, first bytes, length, tenant, expiry) is a
///   small blob changed only under its ETag (`ResumableStore`): any replica continues an upload
///   another one started, and of two concurrent appends at one offset only one counts (the other
///   gets 409 and its blocks are never committed);
/// - on the last byte the blob is committed (Put Block List, with the whole file's MD5), its type
///   decided from its first bytes as for `/upload`, and the status document and job published by
///   `Ingest`, exactly as a multipart upload.
///
/// swift-nio-extras' `NIOResumableUpload` keeps its uploads in one process's memory, so it cannot
/// resume on another replica; the draft's wire protocol is implemented over this state instead.
struct ResumableUploads: Sendable {
    let ingest: Ingest
    let store: ResumableStore
    let staging: BlobClient.StagedUploadOptions
    let maxBytes: Int
    /// How long an unfinished upload may be continued (at most 7 days: Azure drops uncommitted blocks then).
    let lifetimeSeconds: Int
    let quotas: TenantQuotas

    /// A committing state untouched this long belongs to a request that died: the next request
    /// finishes it.
    static let staleCommitSeconds: TimeInterval = 60
    /// Azure removes a blob's uncommitted blocks after this long.
    static let maxLifetimeSeconds = 7 * 24 * 3600

    /// A checksum the client sent for one append (tus checksum extension).
    struct Checksum: Sendable {
        enum Algorithm: String, Sendable, CaseIterable { case sha1, md5 }
        var algorithm: Algorithm
        var digest: Data
    }

    // MARK: Creation, lookup, termination

    func create(tenant: String, length: Int?, originalName: String?, traceId: String, now: Date = Date()) async throws -> ResumableStore.Versioned {
        if let length {
            guard length >= 0 else { throw UploaderError(.badRequest, "the upload length must be 0 or more") }
            guard length <= maxBytes else { throw UploaderError(.payloadTooLarge, "the upload is larger than the limit of \(maxBytes) bytes") }
            guard length > 0 else { throw UploaderError(.emptyFile, "the file is empty") }
        }
        let jobId = MediaJob.newJobId(at: now)
        let upload = ResumableUpload(
            id: ResumableUpload.newID(), tenant: tenant, jobId: jobId, blob: ResumableUpload.blobName(jobId: jobId, date: now), length: length,
            originalName: originalName, traceId: traceId, createdAt: now, expiresAt: now.addingTimeInterval(TimeInterval(lifetimeSeconds)),
            updatedAt: now)
        return try await storage { try await store.create(upload) }
    }

    /// The tenant's upload `id`; 404 for none (or another tenant's), 410 once expired. A commit that
    /// failed, or whose request died, is finished here.
    func find(tenant: String, id: String, logger: Logger, now: Date = Date()) async throws -> ResumableStore.Versioned {
        guard ResumableUpload.isValidID(Substring(id)), let version = try await storage({ try await store.read(tenant: tenant, id: id) }) else {
            throw UploaderError(.uploadNotFound, "no such upload")
        }
        if version.upload.phase != .done, version.upload.expiresAt < now {
            throw UploaderError(.uploadExpired, "the upload expired at \(version.upload.expiresAt); start a new one")
        }
        if version.upload.phase == .committing, now.timeIntervalSince(version.upload.updatedAt) > Self.staleCommitSeconds {
            var claimed = version.upload
            claimed.updatedAt = now
            let owned: ResumableStore.Versioned
            do {
                owned = try await storage { try await store.replace(claimed, of: version) }
            } catch is ResumableStore.Conflict {
                return try await find(tenant: tenant, id: id, logger: logger, now: now)
            }
            logger.info("finishing an upload whose commit did not complete", metadata: ["upload.id": "\(id)", "job.id": "\(claimed.jobId)"])
            return try await finish(owned, logger: logger, now: now, retrying: true)
        }
        return version
    }

    /// Ends an upload (tus termination, draft cancellation): its state goes, its staged blocks are
    /// never committed (Azure removes them after 7 days). A finished upload's job is not affected.
    func terminate(_ version: ResumableStore.Versioned) async throws {
        do {
            try await storage { _ = try await store.delete(version) }
        } catch is ResumableStore.Conflict {
            throw UploaderError(.uploadConflict, "the upload changed during the request; try again")
        }
        if version.upload.phase == .receiving {
            await quotas.settle(tenant: version.upload.tenant, files: 0, bytes: 0, admittedAt: version.upload.createdAt)
        }
    }

    // MARK: Appending

    /// What one append asks for.
    struct Append: Sendable {
        /// The offset the client believes the upload is at (`Upload-Offset`).
        var offset: Int
        /// The whole length, declared now (deferred length, or the draft's last request).
        var length: Int?
        /// The draft's `Upload-Complete: ?1`: this request's body ends the upload.
        var completes = false
        var checksum: Checksum?
    }

    /// Streams `body` into the upload at `append.offset` and records it; on the last byte, commits and
    /// publishes. A body cut off mid-way is kept up to where it stopped (unless it carried a checksum,
    /// which cannot be verified then) and the error rethrown.
    func append(
        _ version: ResumableStore.Versioned, _ append: Append, body: RequestBody, contentLength: Int?, minimumRate: MinimumBodyRate,
        logger: Logger, now: @Sendable () -> Date = { Date() }
    ) async throws -> ResumableStore.Versioned {
        var upload = version.upload
        guard upload.phase == .receiving else {
            throw UploaderError(.offsetMismatch, "the upload is complete at \(upload.offset) bytes")
        }
        guard append.offset == upload.offset else {
            throw UploaderError(.offsetMismatch, "the upload is at offset \(upload.offset), not \(append.offset)")
        }
        if let length = append.length {
            if let known = upload.length, known != length {
                throw UploaderError(.badRequest, "the upload's length is \(known) bytes, not \(length)")
            }
            guard length <= maxBytes else { throw UploaderError(.payloadTooLarge, "the upload is larger than the limit of \(maxBytes) bytes") }
            guard length >= upload.offset else { throw UploaderError(.badRequest, "the length \(length) is below the \(upload.offset) bytes already received") }
            upload.length = length
        }
        let allowed = upload.remaining(maxBytes: maxBytes)
        if let contentLength, contentLength > allowed {
            throw UploaderError(.payloadTooLarge, "the body is \(contentLength) bytes; the upload takes at most \(allowed) more")
        }
        let body = BodyReader(body: body, maxBytes: allowed, declaredLength: contentLength, minimumRate: minimumRate)

        let received = try await receive(upload, body: body, checksum: append.checksum, logger: logger)
        upload.offset += received.bytes
        upload.blockIDs += received.blockIDs
        upload.md5 = received.md5
        upload.head = received.head
        upload.updatedAt = now()
        if received.interruption == nil, append.completes {
            if upload.length == nil { upload.length = upload.offset }
            guard upload.length == upload.offset else {
                throw UploaderError(.badRequest, "the upload ended at \(upload.offset) of its \(upload.length ?? 0) bytes")
            }
        }
        guard upload.blockIDs.count <= 50_000 else {
            throw UploaderError(.payloadTooLarge, "more than 50,000 appends: send larger chunks")
        }
        if upload.mediaType == nil, upload.head.count >= MediaType.sniffLength || upload.isComplete {
            do {
                upload.mediaType = try Ingest.acceptedMediaType(head: ByteBuffer(data: upload.head)).mime
            } catch {
                try? await terminate(version)
                throw error
            }
        }
        if upload.isComplete { upload.phase = .committing }
        let written: ResumableStore.Versioned
        do {
            written = try await storage { try await store.replace(upload, of: version) }
        } catch is ResumableStore.Conflict {
            throw UploaderError(.uploadConflict, "another request changed the upload at the same time; ask for its offset and continue")
        }
        if let interruption = received.interruption { throw Interrupted(error: interruption, keptBytes: received.bytes) }
        guard written.upload.phase == .committing else { return written }
        return try await finish(written, logger: logger, now: now())
    }

    /// A piece cut off mid-body (`error`, `incompleteBody`): its first `keptBytes` bytes were kept
    /// (the upload's offset moved past them) and the client resumes from there.
    struct Interrupted: Error {
        var error: UploaderError
        var keptBytes: Int
    }

    private struct Received {
        var bytes = 0
        var blockIDs: [String] = []
        var md5: ResumableMD5
        var head: Data
        /// The body ended early: kept up to here, reported after the state is written.
        var interruption: UploaderError?
    }

    private func receive(_ upload: ResumableUpload, body: BodyReader, checksum: Checksum?, logger: Logger) async throws -> Received {
        var received = Received(md5: upload.md5, head: upload.head)
        var stager = BlockStager(blobs: ingest.blobs, container: ingest.rawContainer, blob: upload.blob, options: staging)
        var sha1 = checksum?.algorithm == .sha1 ? Insecure.SHA1() : nil
        var md5 = checksum?.algorithm == .md5 ? Insecure.MD5() : nil
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            do {
                while let chunk = try await body.next() {
                    chunk.withUnsafeReadableBytes { bytes in
                        received.md5.update(bytes)
                        sha1?.update(bufferPointer: bytes)
                        md5?.update(bufferPointer: bytes)
                        if received.head.count < MediaType.sniffLength {
                            received.head.append(contentsOf: bytes.prefix(MediaType.sniffLength - received.head.count))
                        }
                    }
                    received.bytes += chunk.readableBytes
                    try await stager.append(chunk, in: &group, inFlight: &inFlight)
                }
            } catch let error as UploaderError where error.code == .incompleteBody && checksum == nil {
                logger.info("append cut off; keeping what arrived", metadata: ["upload.id": "\(upload.id)", "bytes": "\(received.bytes)"])
                received.interruption = error
            }
            try await stager.flush(in: &group, inFlight: &inFlight)
            try await group.waitForAll()
        }
        received.blockIDs = stager.blockIDs
        if let checksum {
            let digest = sha1.map { Data($0.finalize()) } ?? md5.map { Data($0.finalize()) } ?? Data()
            guard digest == checksum.digest else {
                throw UploaderError(.checksumMismatch, "the body's \(checksum.algorithm.rawValue) does not match Upload-Checksum; nothing was kept")
            }
        }
        return received
    }

    // MARK: The last byte

    /// Commits the blob and publishes its job, as `/upload` does; marks the upload done. A failure
    /// leaves it `committing` and marked stale, so the next request on it finishes it.
    /// `retrying`: an earlier attempt may have published before it died. Its status document is
    /// written before the message: once the job has moved on from `queued` it is not queued again;
    /// still `queued`, the message may or may not have been sent, and it is sent (a rare duplicate
    /// message rather than a job that never runs).
    private func finish(_ version: ResumableStore.Versioned, logger: Logger, now: Date, retrying: Bool = false) async throws
        -> ResumableStore.Versioned
    {
        let upload = version.upload
        guard let mime = upload.mediaType else { throw UploaderError(.emptyFile, "the file is empty") }
        let job = job(of: upload, submittedAt: now)
        do {
            if retrying, let status = try await ingest.status(jobId: upload.jobId, tenant: upload.tenant) {
                logger.info("the upload's job was published before its request died", metadata: ["job.id": "\(upload.jobId)", "status": "\(status.status.rawValue)"])
                if status.status == .queued { _ = try await ingest.queues.send(ingest.queue, job: job) }
                return try await markDone(version, now: now)
            }
            _ = try await ingest.blobs.putBlockList(
                ingest.rawContainer, upload.blob, blockIDs: upload.blockIDs, contentMD5: upload.md5.finalize(),
                options: BlobUploadOptions(
                    contentType: mime, metadata: Ingest.blobMetadata(jobId: upload.jobId, tenant: upload.tenant, originalName: upload.originalName)))
            try await ingest.publish([job], logger: logger)
        } catch {
            logger.error("committing a resumable upload failed", metadata: ["upload.id": "\(upload.id)", "error": "\(error)"])
            var retry = upload
            retry.updatedAt = .distantPast
            _ = try? await store.replace(retry, of: version)
            throw UploaderError(.storageUnavailable, "storage is unavailable; the upload is kept: ask for its offset to finish it", retryAfter: 5)
        }
        logger.info("resumable upload complete", metadata: ["upload.id": "\(upload.id)", "job.id": "\(upload.jobId)", "bytes": "\(upload.offset)", "type": "\(mime)"])
        await quotas.settle(tenant: upload.tenant, files: 1, bytes: upload.offset, admittedAt: upload.createdAt)
        return try await markDone(version, now: now)
    }

    private func markDone(_ version: ResumableStore.Versioned, now: Date) async throws -> ResumableStore.Versioned {
        var done = version.upload
        done.phase = .done
        done.blockIDs = []
        done.updatedAt = now
        return (try? await store.replace(done, of: version)) ?? ResumableStore.Versioned(upload: done, etag: version.etag)
    }

    /// The job a complete upload becomes.
    func job(of upload: ResumableUpload, submittedAt: Date) -> MediaJob {
        MediaJob(
            jobId: upload.jobId,
            input: BlobReference(
                container: ingest.rawContainer, blob: upload.blob, bytes: upload.offset, mediaType: upload.mediaType ?? "application/octet-stream",
                md5: upload.md5.finalize().base64EncodedString()),
            originalName: upload.originalName, submittedAt: submittedAt, traceId: upload.traceId, tenant: upload.tenant)
    }

    /// Storage failures become 503 (what `/upload` answers), other errors pass.
    private func storage<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as StorageError {
            throw UploaderError(.storageUnavailable, "storage is unavailable (\(error.code)); try again", retryAfter: 5)
        }
    }
}

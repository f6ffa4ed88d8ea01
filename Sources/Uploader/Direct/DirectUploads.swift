import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import QueueKit
import StorageKit

/// Direct-to-Blob uploads: the client puts its bytes into `rawfiles` with a short-lived SAS for one
/// generated blob name, and the uploader only verifies and enqueues (`DirectUploadController`).
///
/// Completion moves the state document (`DirectUpload`) under ETag conditions:
/// `awaitingUpload` → `completing` (one request wins the claim) → `queued` or `failed`. A request
/// that finds it `queued` or `failed` answers the same outcome again without enqueueing; one that
/// finds a fresh claim is told to retry; a claim older than `DirectUpload.claimTimeout` (its
/// request died) is taken over, and the new owner first looks for the job's status document, so a
/// job published just before a crash is not published twice.
struct DirectUploads: Sendable {
    let ingest: Ingest
    /// Lifetime of the SAS URL (`uploader.direct.sas.expiry.seconds`).
    let sasExpirySeconds: Int
    /// The largest blob a completion accepts (`uploader.max.upload.bytes`).
    let maxBytes: Int

    /// The permissions of the upload SAS: create and write (Put Blob, Put Block, Put Block List) on
    /// its one blob; no read, list or delete.
    static let sasPermissions = "cw"
    /// The blob name's extension until the type is known (the job carries the sniffed type).
    static let blobExtension = "upload"

    var blobs: BlobClient { ingest.blobs }

    struct Grant: Sendable {
        var upload: DirectUpload
        var url: URL
    }

    /// A new upload: its state document and a SAS URL for its blob.
    func grant(tenant: String, originalName: String?, traceId: String, now: Date = Date()) async throws -> Grant {
        let jobId = MediaJob.newJobId(at: now)
        let blob = Ingest.blobName(jobId: jobId, fileExtension: Self.blobExtension, date: now)
        let upload = DirectUpload(
            jobId: jobId, tenant: tenant, container: ingest.rawContainer, blob: blob, maxBytes: maxBytes, originalName: originalName,
            traceId: traceId, state: .awaitingUpload, createdAt: now.jobPrecision,
            expiresAt: now.addingTimeInterval(TimeInterval(sasExpirySeconds)).jobPrecision)
        let url = try await blobs.sasURL(
            ingest.rawContainer, blob, permissions: Self.sasPermissions, expiresIn: .seconds(sasExpirySeconds), now: now)
        _ = try await blobs.putBlob(
            ingest.statusContainer, upload.documentName, body: try upload.json(),
            options: BlobUploadOptions(contentType: "application/json", conditions: .createOnly))
        return Grant(upload: upload, url: url)
    }

    /// The outcome of a completion request.
    struct Completion: Sendable {
        var upload: DirectUpload
        /// Whether this request decided it (false: an earlier request did; nothing was done now).
        var decidedNow: Bool
    }

    /// Verifies the blob and publishes its job, or fails it; idempotent.
    /// - Parameter claimedMD5: the client's base64 MD5 of what it uploaded, if it sent one.
    func complete(tenant: String, jobId: String, claimedMD5: String?, logger: Logger, now: Date = Date()) async throws -> Completion {
        for _ in 1...5 {
            guard let (upload, etag) = try await read(tenant: tenant, jobId: jobId) else {
                throw UploaderError(.jobNotFound, "no direct upload \(jobId)")
            }
            switch upload.state {
            case .queued, .failed:
                return Completion(upload: upload, decidedNow: false)
            case .completing where (upload.claimedAt.map { now.timeIntervalSince($0) } ?? .infinity) < DirectUpload.claimTimeout:
                throw UploaderError(.completionInProgress, "this upload is being completed by another request; retry", retryAfter: 2)
            case .awaitingUpload, .completing:
                var claimed = upload
                claimed.state = .completing
                claimed.claimedAt = now.jobPrecision
                let claimETag: String
                do {
                    claimETag = try await write(claimed, ifMatch: etag)
                } catch let error as StorageError where error.status == 412 {
                    continue  // another request changed it first: read it again
                }
                return try await finish(claimed, claimETag: claimETag, tookOver: upload.state == .completing, claimedMD5: claimedMD5, logger: logger, now: now)
            }
        }
        throw UploaderError(.completionInProgress, "this upload is being completed by other requests; retry", retryAfter: 2)
    }

    /// Runs under the claim: verify, then publish or fail.
    private func finish(
        _ claimed: DirectUpload, claimETag: String, tookOver: Bool, claimedMD5: String?, logger: Logger, now: Date
    ) async throws -> Completion {
        var logger = logger
        logger[metadataKey: "job.id"] = "\(claimed.jobId)"
        logger[metadataKey: "trace.id"] = "\(claimed.traceId)"
        if tookOver, let status = try await ingest.status(jobId: claimed.jobId, tenant: claimed.tenant) {
            // The request that held the claim published (or failed) the job before it died.
            var done = claimed
            done.state = status.status == .failed ? .failed : .queued
            done.failure = status.error
            done.bytes = status.input.bytes
            done.mediaType = status.input.mediaType
            done.md5 = status.input.md5
            _ = try await write(done, ifMatch: claimETag)
            return Completion(upload: done, decidedNow: false)
        }
        let verified: Verified
        do {
            switch try await verify(claimed, claimedMD5: claimedMD5) {
            case .failure(let failure, let bytes, let mediaType):
                return try await fail(claimed, claimETag: claimETag, failure: failure, bytes: bytes, mediaType: mediaType, logger: logger, now: now)
            case .success(let result):
                verified = result
            }
        } catch let error as UploaderError {
            try await release(claimed, claimETag: claimETag, logger: logger)
            throw error
        } catch let error as StorageError where error.status == 412 {
            try await release(claimed, claimETag: claimETag, logger: logger)
            throw UploaderError(.completionInProgress, "the blob changed while it was being verified; complete again once the upload is finished", retryAfter: 1)
        } catch {
            try? await release(claimed, claimETag: claimETag, logger: logger)
            throw error
        }

        let job = MediaJob(
            jobId: claimed.jobId,
            input: BlobReference(container: claimed.container, blob: claimed.blob, bytes: verified.bytes, mediaType: verified.mediaType.mime, md5: verified.md5),
            originalName: claimed.originalName, submittedAt: now, traceId: claimed.traceId, tenant: claimed.tenant)
        do {
            try await ingest.publish([job], logger: logger)
        } catch {
            try? await release(claimed, claimETag: claimETag, logger: logger)
            throw error
        }
        var done = claimed
        done.state = .queued
        done.bytes = verified.bytes
        done.mediaType = verified.mediaType.mime
        done.md5 = verified.md5
        do {
            _ = try await write(done, ifMatch: claimETag)
        } catch {
            // The job is queued; a later completion takes the stale claim over and finds its status document.
            logger.warning("the direct upload's state could not be marked queued", metadata: ["error": "\(error)"])
        }
        logger.info("direct upload queued", metadata: ["blob": "\(claimed.blob)", "bytes": "\(verified.bytes)", "type": "\(verified.mediaType.mime)"])
        return Completion(upload: done, decidedNow: true)
    }

    struct Verified: Sendable {
        var bytes: Int
        var mediaType: MediaType
        var md5: String
    }

    enum Verdict: Sendable {
        case success(Verified)
        case failure(JobStatus.Failure, bytes: Int, mediaType: String?)
    }

    /// Size from the blob's properties, type from a ranged read of its first bytes, MD5 from its
    /// property or one read of the blob; every read is conditioned on the ETag first seen, so what
    /// is verified is one version of the blob. Metadata naming the job is set on that version last.
    private func verify(_ upload: DirectUpload, claimedMD5: String?) async throws -> Verdict {
        let properties: BlobProperties
        do {
            properties = try await blobs.properties(upload.container, upload.blob)
        } catch let error as StorageError where error.isNotFound {
            throw UploaderError(.noFile, "nothing has been committed to the upload URL yet: upload the file (Put Blob, or Put Block and Put Block List), then complete")
        }
        let unchanged = BlobConditions(ifMatch: properties.etag)
        if let failure = DirectUploadCheck.size(bytes: properties.contentLength, maxBytes: upload.maxBytes) {
            return .failure(failure, bytes: properties.contentLength, mediaType: nil)
        }
        let head = try await blobs.download(upload.container, upload.blob, range: (offset: 0, count: MediaType.sniffLength), conditions: unchanged)
        let prefix = try await head.body.collect(upTo: MediaType.sniffLength)
        let mediaType: MediaType
        switch DirectUploadCheck.mediaType(prefix: prefix.readableBytesView) {
        case .refused(let failure): return .failure(failure, bytes: properties.contentLength, mediaType: nil)
        case .media(let type): mediaType = type
        }
        let md5: String
        switch DirectUploadCheck.md5Plan(property: properties.contentMD5, claimed: claimedMD5) {
        case .use(let value): md5 = value
        case .mismatch(let failure): return .failure(failure, bytes: properties.contentLength, mediaType: mediaType.mime)
        case .compute(let expected):
            let computed = try await computeMD5(upload, conditions: unchanged)
            if let failure = DirectUploadCheck.computed(computed, expected: expected) {
                return .failure(failure, bytes: properties.contentLength, mediaType: mediaType.mime)
            }
            md5 = computed
        }
        var metadata = properties.metadata
        metadata["jobid"] = upload.jobId
        metadata["tenant"] = upload.tenant
        if let name = upload.originalName { metadata["originalname"] = name }
        _ = try await blobs.setMetadata(upload.container, upload.blob, metadata, conditions: unchanged)
        return .success(Verified(bytes: properties.contentLength, mediaType: mediaType, md5: md5))
    }

    /// The blob's MD5, read once from storage.
    private func computeMD5(_ upload: DirectUpload, conditions: BlobConditions) async throws -> String {
        let download = try await blobs.download(upload.container, upload.blob, conditions: conditions)
        var hash = Insecure.MD5()
        do {
            for try await chunk in download.body {
                chunk.withUnsafeReadableBytes { hash.update(bufferPointer: $0) }
            }
        } catch {
            throw StorageError(.transport, message: "reading the uploaded blob failed: \(error)", operation: "GetBlob")
        }
        return Data(hash.finalize()).base64EncodedString()
    }

    /// A blob that failed verification: deleted, the job's status document says `failed` and why.
    private func fail(
        _ claimed: DirectUpload, claimETag: String, failure: JobStatus.Failure, bytes: Int, mediaType: String?, logger: Logger, now: Date
    ) async throws -> Completion {
        do {
            _ = try await blobs.delete(claimed.container, claimed.blob)
        } catch let error as StorageError where error.isNotFound {
        } catch {
            // The lifecycle rule on `rawfiles` removes it later.
            logger.warning("could not delete a refused direct upload", metadata: ["blob": "\(claimed.blob)", "error": "\(error)"])
        }
        let job = MediaJob(
            jobId: claimed.jobId,
            input: BlobReference(container: claimed.container, blob: claimed.blob, bytes: bytes, mediaType: mediaType ?? "application/octet-stream", md5: ""),
            originalName: claimed.originalName, submittedAt: claimed.createdAt, traceId: claimed.traceId, tenant: claimed.tenant)
        let status = JobStatus(queued: job, now: now).failed(code: failure.code, reason: failure.reason, now: now)
        _ = try await blobs.putBlob(ingest.statusContainer, status.documentName, body: ByteBuffer(data: try status.json()), options: status.uploadOptions())
        var done = claimed
        done.state = .failed
        done.failure = failure
        done.bytes = bytes
        done.mediaType = mediaType
        _ = try await write(done, ifMatch: claimETag)
        logger.info("direct upload refused", metadata: ["blob": "\(claimed.blob)", "code": "\(failure.code)", "reason": "\(failure.reason)"])
        return Completion(upload: done, decidedNow: true)
    }

    /// Gives the claim back (the blob is not there yet, or storage failed): the upload can be completed again.
    private func release(_ claimed: DirectUpload, claimETag: String, logger: Logger) async throws {
        var released = claimed
        released.state = .awaitingUpload
        released.claimedAt = nil
        _ = try await write(released, ifMatch: claimETag)
    }

    /// The tenant's upload and its ETag, or nil (also for another tenant's job id: its document is under that tenant).
    func read(tenant: String, jobId: String) async throws -> (DirectUpload, String)? {
        do {
            let document = try await blobs.downloadDocument(ingest.statusContainer, DirectUpload.documentName(tenant: tenant, jobId: jobId), limit: 64 << 10)
            return (try DirectUpload.decode(document.bytes), document.properties.etag)
        } catch let error as StorageError where error.isNotFound {
            return nil
        }
    }

    private func write(_ upload: DirectUpload, ifMatch etag: String) async throws -> String {
        try await blobs.putBlob(
            ingest.statusContainer, upload.documentName, body: try upload.json(),
            options: BlobUploadOptions(contentType: "application/json", conditions: BlobConditions(ifMatch: etag))
        ).etag
    }
}

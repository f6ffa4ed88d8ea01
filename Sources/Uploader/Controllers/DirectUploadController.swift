import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import QueueKit
import StorageKit

/// Direct-to-Blob uploads (`DirectUploads`):
/// - `POST /uploads` (optional JSON `{"fileName", "size"}`) → 201 with the job id, a SAS URL for one
///   generated blob in `rawfiles` (create and write only), its expiry and the largest size accepted;
/// - the client uploads with any Azure tool (Put Blob, or Put Block + Put Block List);
/// - `POST /uploads/{jobId}/complete` (optional JSON `{"md5"}`, base64) → 202 and the queued job, or
///   422 `UploadRejected` with the reason (the blob is deleted and the job is `failed`); again → the
///   same answer, never a second job.
/// Granting counts against the tenant's rate limit and daily upload quota like `POST /upload`; the
/// bytes are counted when the upload completes. Verification holds one of the tenant's upload slots
/// (it may read the whole blob for its MD5).
struct DirectUploadController: Sendable {
    let uploads: DirectUploads
    let admission: UploadAdmission
    var quotas: TenantQuotas { admission.quotas }
    /// A completion that decided an upload counts as one upload (`uploader_uploads_total`, outcome
    /// `accepted` or `UploadRejected`) with its bytes; the time is the completion's, not the transfer's.
    var metrics: UploaderMetrics { admission.metrics }

    func addRoutes(to group: RouterGroup<UploaderRequestContext>) {
        group.post("uploads", use: create)
        group.post("uploads/:jobId/complete", use: complete)
    }

    struct CreateRequest: Decodable {
        var fileName: String?
        var size: Int?
    }

    struct Created: Encodable {
        let jobId: String
        let uploadUrl: String
        let method = "PUT"
        let headers = ["x-ms-blob-type": "BlockBlob"]
        /// ISO 8601, UTC.
        let expiresAt: String
        let maxBytes: Int
        let completeUrl: String
        let statusUrl: String
        let blob: BlobName

        struct BlobName: Encodable {
            let container: String
            let name: String
        }
    }

    struct CompleteRequest: Decodable {
        var md5: String?
    }

    struct Completed: Encodable {
        let jobId: String
        let status: String
        let statusUrl: String
        let input: BlobReference
        let fileName: String?
    }

    @Sendable func create(request: Request, context: UploaderRequestContext) async throws -> Response {
        guard let tenant = context.tenant else { throw APIKeyMiddleware.unauthorized }
        let body: CreateRequest = try await Self.decode(request, as: CreateRequest(), context: context)
        if let size = body.size {
            guard size >= 0 else { throw UploaderError(.badRequest, "size must be 0 or more") }
            guard size <= uploads.maxBytes else {
                throw UploaderError(.payloadTooLarge, "the upload is larger than the limit of \(uploads.maxBytes) bytes")
            }
        }
        let now = try await admission.admit(tenant: tenant, logger: context.logger)
        let grant: DirectUploads.Grant
        do {
            grant = try await uploads.grant(
                tenant: tenant, originalName: FileNameSanitizer.sanitize(body.fileName), traceId: UploadController.traceId(request.headers), now: now)
        } catch {
            await quotas.settle(tenant: tenant, files: 0, bytes: 0, admittedAt: now)
            if let error = error as? StorageError {
                if error.code == .cannotSign {
                    throw UploaderError(
                        .directUploadUnavailable, "direct uploads need the uploader to run with an account key or Microsoft Entra identity (it cannot sign a SAS)")
                }
                throw Self.storageUnavailable(error, context: context)
            }
            throw error
        }
        let upload = grant.upload
        context.logger.info("direct upload granted", metadata: ["job.id": "\(upload.jobId)", "blob": "\(upload.blob)"])
        let created = Created(
            jobId: upload.jobId, uploadUrl: grant.url.absoluteString, expiresAt: HTTPDate.iso8601(upload.expiresAt), maxBytes: upload.maxBytes,
            completeUrl: "/uploads/\(upload.jobId)/complete", statusUrl: "/jobs/\(upload.jobId)",
            blob: .init(container: upload.container, name: upload.blob))
        return try Self.json(created, status: .created, location: "/uploads/\(upload.jobId)/complete")
    }

    @Sendable func complete(request: Request, context: UploaderRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        guard let tenant = context.tenant else { throw APIKeyMiddleware.unauthorized }
        let jobId = context.parameters.get("jobId") ?? ""
        guard JobsController.isJobId(jobId) else { throw UploaderError(.jobNotFound, "no direct upload \(jobId.prefix(64))") }
        let body: CompleteRequest = try await Self.decode(request, as: CompleteRequest(), context: context)
        if let md5 = body.md5, !DirectUploadCheck.isMD5(md5) {
            throw UploaderError(.badRequest, "md5 must be the base64 of the file's 16-byte MD5 digest (24 characters)")
        }
        let upload = try await admission.withSlot(tenant: tenant) {
            let completion: DirectUploads.Completion
            do {
                completion = try await uploads.complete(tenant: tenant, jobId: jobId, claimedMD5: body.md5, logger: context.logger)
            } catch let error as StorageError {
                throw Self.storageUnavailable(error, context: context)
            }
            let upload = completion.upload
            if completion.decidedNow {
                let queued = upload.state == .queued
                await quotas.settle(tenant: tenant, files: queued ? 1 : 0, bytes: queued ? upload.bytes ?? 0 : 0, admittedAt: upload.createdAt)
                let elapsed = ContinuousClock.now - started
                metrics.record(
                    outcome: queued ? "accepted" : UploaderError.Code.uploadRejected.rawValue, tenant: tenant, bytes: queued ? upload.bytes ?? 0 : 0,
                    seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
            return upload
        }
        if upload.state == .failed {
            let failure = upload.failure ?? JobStatus.Failure(code: "unknown", reason: "the upload was refused")
            throw UploaderError(.uploadRejected, "\(failure.code): \(failure.reason); the blob was deleted and job \(upload.jobId) is failed")
        }
        let completed = Completed(
            jobId: upload.jobId, status: "queued", statusUrl: "/jobs/\(upload.jobId)",
            input: BlobReference(
                container: upload.container, blob: upload.blob, bytes: upload.bytes ?? 0, mediaType: upload.mediaType ?? "", md5: upload.md5 ?? ""),
            fileName: upload.originalName)
        return try Self.json(completed, status: .accepted, location: "/jobs/\(upload.jobId)")
    }

    /// An optional small JSON body: empty → `empty`; anything unreadable → 400.
    static func decode<Body: Decodable>(_ request: Request, as empty: Body, context: UploaderRequestContext) async throws -> Body {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 16 << 10)
        } catch {
            throw UploaderError(.badRequest, "the request body must be a JSON object of at most 16 KiB")
        }
        guard buffer.readableBytes > 0 else { return empty }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(buffer: buffer))
        } catch {
            throw UploaderError(.badRequest, "the request body must be a JSON object: \(error)")
        }
    }

    static func storageUnavailable(_ error: StorageError, context: UploaderRequestContext) -> UploaderError {
        context.logger.error("storage failed during a direct upload", metadata: ["error": "\(error)"])
        return UploaderError(.storageUnavailable, "storage is unavailable; try again", retryAfter: 5)
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status, location: String) throws -> Response {
        let encoder = JSONEncoder.uploader
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .location: location],
            body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}

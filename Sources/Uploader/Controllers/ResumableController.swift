import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import QueueKit
import StorageKit

/// Resumable uploads: tus 1.0 at `/files/` (this file) and the IETF "Resumable Uploads for HTTP"
/// draft at `/resumable/` (`ResumableController+Draft.swift`), both over `ResumableUploads`' state
/// in storage. The same keys, tenants, upload slots, rate limits, quotas and size limit as
/// `/upload`: creating an upload counts as one upload for the rate limit and the daily quota; each
/// request carrying bytes holds one of the tenant's upload slots while it runs. Another tenant's
/// upload is 404.
struct ResumableController: Sendable {
    let uploads: ResumableUploads
    let configuration: UploaderConfiguration
    let admission: UploadAdmission
    var quotas: TenantQuotas { admission.quotas }
    var metrics: UploaderMetrics { admission.metrics }

    typealias H = ResumableHeaders

    /// The routes that need a key (`api`) and the discovery ones that do not (`OPTIONS`).
    func addRoutes(to api: RouterGroup<UploaderRequestContext>, open router: Router<UploaderRequestContext>) {
        router.on("files", method: .options, use: tusOptions)
        api.post("files", use: tusCreate)
        api.head("files/:id", use: tusHead)
        api.patch("files/:id", use: tusPatch)
        api.delete("files/:id", use: tusDelete)
        router.on("resumable", method: .options, use: draftOptions)
        api.post("resumable", use: draftCreate)
        api.head("resumable/:id", use: draftHead)
        api.patch("resumable/:id", use: draftPatch)
        api.delete("resumable/:id", use: draftDelete)
    }

    // MARK: tus 1.0

    @Sendable func tusOptions(request: Request, context: UploaderRequestContext) async throws -> Response {
        Response(
            status: .noContent,
            headers: [
                H.tusResumable: H.tusVersionValue, H.tusVersion: H.tusVersionValue, H.tusExtension: H.tusExtensions,
                H.tusMaxSize: String(configuration.maxUploadBytes), H.tusChecksumAlgorithm: "sha1,md5",
            ])
    }

    @Sendable func tusCreate(request: Request, context: UploaderRequestContext) async throws -> Response {
        try await tus(request, context) { tenant in
            let length = try tusLength(request.headers)
            var originalName: String?
            if let value = request.headers[H.uploadMetadata] {
                guard let metadata = H.metadata(value) else { throw UploaderError(.badRequest, "Upload-Metadata is malformed") }
                originalName = FileNameSanitizer.sanitize(metadata["filename"] ?? metadata["name"])
            }
            let hasBody = (request.headers[.contentLength].flatMap(Int.init) ?? 0) > 0 || request.headers[.transferEncoding] != nil
            if hasBody { try tusContentType(request.headers) }
            let created = try await create(tenant: tenant, length: length, originalName: originalName, request: request, context: context)
            var headers = tusHeaders(created.upload)
            headers[.location] = "/files/\(created.upload.id)"
            guard hasBody else { return Response(status: .created, headers: headers) }
            // creation-with-upload: the body is the first append.
            let appended = try await append(
                created, .init(offset: 0, checksum: try tusChecksum(request.headers)), request: request, context: context, tenant: tenant)
            headers = tusHeaders(appended.upload)
            headers[.location] = "/files/\(created.upload.id)"
            return Response(status: .created, headers: headers)
        }
    }

    @Sendable func tusHead(request: Request, context: UploaderRequestContext) async throws -> Response {
        try await tus(request, context) { tenant in
            let version = try await uploads.find(tenant: tenant, id: try context.parameters.require("id"), logger: context.logger)
            var headers = tusHeaders(version.upload)
            if let name = version.upload.originalName { headers[H.uploadMetadata] = "filename \(Data(name.utf8).base64EncodedString())" }
            return Response(status: .ok, headers: headers)
        }
    }

    @Sendable func tusPatch(request: Request, context: UploaderRequestContext) async throws -> Response {
        try await tus(request, context) { tenant in
            try tusContentType(request.headers)
            guard let offset = H.integer(request.headers[H.uploadOffset]) else {
                throw UploaderError(.badRequest, "Upload-Offset is required: a non-negative integer")
            }
            var length: Int?
            if let value = request.headers[H.uploadLength] {
                guard let parsed = H.integer(value) else { throw UploaderError(.badRequest, "Upload-Length must be a non-negative integer") }
                length = parsed
            }
            let version = try await uploads.find(tenant: tenant, id: try context.parameters.require("id"), logger: context.logger)
            let appended = try await append(
                version, .init(offset: offset, length: length, checksum: try tusChecksum(request.headers)), request: request, context: context,
                tenant: tenant)
            return Response(status: .noContent, headers: tusHeaders(appended.upload))
        }
    }

    @Sendable func tusDelete(request: Request, context: UploaderRequestContext) async throws -> Response {
        try await tus(request, context) { tenant in
            let version = try await uploads.find(tenant: tenant, id: try context.parameters.require("id"), logger: context.logger)
            try await uploads.terminate(version)
            return Response(status: .noContent, headers: [H.tusResumable: H.tusVersionValue])
        }
    }

    /// Runs a tus request: checks `Tus-Resumable`, adds it to every answer (errors too), and the
    /// current `Upload-Offset` to a 409.
    private func tus(
        _ request: Request, _ context: UploaderRequestContext, _ work: (String) async throws -> Response
    ) async throws -> Response {
        do {
            guard request.headers[H.tusResumable] == H.tusVersionValue else {
                throw UploaderError(.unsupportedVersion, "this server speaks tus \(H.tusVersionValue): send Tus-Resumable: \(H.tusVersionValue)")
            }
            return try await work(try tenant(context))
        } catch let error as UploaderError {
            var response = try error.response(from: request, context: context)
            response.headers[H.tusResumable] = H.tusVersionValue
            response.headers[H.tusVersion] = H.tusVersionValue
            if error.code == .offsetMismatch, let offset = await currentOffset(request: request, context: context) {
                response.headers[H.uploadOffset] = String(offset.offset)
            }
            return response
        }
    }

    private func tusHeaders(_ upload: ResumableUpload) -> HTTPFields {
        var headers: HTTPFields = [
            H.tusResumable: H.tusVersionValue, H.uploadOffset: String(upload.offset), .cacheControl: "no-store", H.jobId: upload.jobId,
        ]
        if let length = upload.length { headers[H.uploadLength] = String(length) } else { headers[H.uploadDeferLength] = "1" }
        if upload.phase == .receiving { headers[H.uploadExpires] = H.httpDate(upload.expiresAt) }
        return headers
    }

    private func tusLength(_ headers: HTTPFields) throws -> Int? {
        switch (headers[H.uploadLength], headers[H.uploadDeferLength]) {
        case (let value?, nil):
            guard let length = H.integer(value) else { throw UploaderError(.badRequest, "Upload-Length must be a non-negative integer") }
            return length
        case (nil, "1"): return nil
        default: throw UploaderError(.badRequest, "send either Upload-Length or Upload-Defer-Length: 1")
        }
    }

    private func tusContentType(_ headers: HTTPFields) throws {
        guard headers[.contentType]?.lowercased().hasPrefix(H.tusContentType) == true else {
            throw UploaderError(.wrongContentType, "a tus body must be sent as Content-Type: \(H.tusContentType)")
        }
    }

    private func tusChecksum(_ headers: HTTPFields) throws -> ResumableUploads.Checksum? {
        guard let value = headers[H.uploadChecksum] else { return nil }
        guard let checksum = H.checksum(value) else {
            throw UploaderError(.badRequest, "Upload-Checksum must be `sha1 <base64>` or `md5 <base64>`")
        }
        return checksum
    }

    // MARK: Shared by both protocols

    func tenant(_ context: UploaderRequestContext) throws -> String {
        guard let tenant = context.tenant else { throw UploaderError(.unauthorized, "a valid API key is required (X-API-Key or Authorization: Bearer)") }
        return tenant
    }

    /// The upload's offset now, for a 409's `Upload-Offset` (nil when it cannot be read).
    func currentOffset(request: Request, context: UploaderRequestContext) async -> (offset: Int, complete: Bool)? {
        guard let tenant = context.tenant, let id = context.parameters.get("id"),
            let version = try? await uploads.find(tenant: tenant, id: id, logger: context.logger)
        else { return nil }
        return (version.upload.offset, version.upload.phase != .receiving)
    }

    /// Creates an upload: the rate limit and the daily quota count it as one upload of the tenant.
    func create(tenant: String, length: Int?, originalName: String?, request: Request, context: UploaderRequestContext) async throws
        -> ResumableStore.Versioned
    {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > min(length ?? .max, configuration.maxUploadBytes) {
            throw UploaderError(.payloadTooLarge, "the body is larger than the upload (or the limit of \(configuration.maxUploadBytes) bytes)")
        }
        if let length, length > configuration.maxUploadBytes {
            throw UploaderError(.payloadTooLarge, "the upload is larger than the limit of \(configuration.maxUploadBytes) bytes")
        }
        let now = try await admission.admit(tenant: tenant, logger: context.logger)
        do {
            let created = try await uploads.create(
                tenant: tenant, length: length, originalName: originalName, traceId: UploadController.traceId(request.headers), now: now)
            context.logger.info("resumable upload created", metadata: ["upload.id": "\(created.upload.id)", "job.id": "\(created.upload.jobId)"])
            return created
        } catch {
            await quotas.settle(tenant: tenant, files: 0, bytes: 0, admittedAt: now)
            throw error
        }
    }

    /// Streams the request's body into the upload while holding one of the tenant's upload slots.
    func append(
        _ version: ResumableStore.Versioned, _ append: ResumableUploads.Append, request: Request, context: UploaderRequestContext,
        tenant: String, beforeBody: () -> Void = {}
    ) async throws -> ResumableStore.Versioned {
        try await admission.withSlot(tenant: tenant) {
            try await appendHoldingSlot(version, append, request: request, context: context, tenant: tenant, beforeBody: beforeBody)
        }
    }

    private func appendHoldingSlot(
        _ version: ResumableStore.Versioned, _ append: ResumableUploads.Append, request: Request, context: UploaderRequestContext,
        tenant: String, beforeBody: () -> Void
    ) async throws -> ResumableStore.Versioned {
        // A body declared too large is refused before anything tells the client to send it (an
        // append at the wrong offset is 409 in `ResumableUploads.append`).
        if let declared = request.headers[.contentLength].flatMap(Int.init), version.upload.phase == .receiving,
            append.offset == version.upload.offset, append.length == nil,
            declared > version.upload.remaining(maxBytes: configuration.maxUploadBytes)
        {
            throw UploaderError(
                .payloadTooLarge, "the body is \(declared) bytes; the upload takes at most \(version.upload.remaining(maxBytes: configuration.maxUploadBytes)) more")
        }
        beforeBody()
        context.continueUpload()
        var outcome = UploaderMetrics.appended
        var bytes = 0
        defer { metrics.recordAppend(outcome: outcome, tenant: tenant, bytes: bytes) }
        do {
            let appended = try await uploads.append(
                version, append, body: request.body, contentLength: request.headers[.contentLength].flatMap(Int.init),
                minimumRate: configuration.minimumBodyRate, logger: context.logger)
            bytes = appended.upload.offset - version.upload.offset
            if appended.upload.phase == .done { outcome = "accepted" }
            return appended
        } catch let cut as ResumableUploads.Interrupted {
            // The bytes before the cut are the upload's now: they count as received.
            outcome = cut.error.code.rawValue
            bytes = cut.keptBytes
            context.logger.info("append cut off", metadata: ["code": "\(cut.error.code.rawValue)", "bytes.kept": "\(cut.keptBytes)"])
            throw cut.error
        } catch let error as UploaderError {
            outcome = error.code.rawValue
            context.logger.info("append refused", metadata: ["code": "\(error.code.rawValue)", "reason": "\(error.message)"])
            throw error
        } catch {
            outcome = "failed"
            throw error
        }
    }
}

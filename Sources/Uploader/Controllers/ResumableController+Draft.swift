import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat
import QueueKit

/// The IETF "Resumable Uploads for HTTP" draft (draft-ietf-httpbis-resumable-upload-01/-02) as
/// Apple's URLSession and swift-nio-extras' `NIOResumableUpload` speak it, interop versions 3 to 6
/// (`Upload-Draft-Interop-Version`; up to 4 completeness is `Upload-Incomplete`, from 5
/// `Upload-Complete`; from 6 a PATCH is `Content-Type: application/partial-upload`):
///
/// - `POST /resumable` with `Upload-Complete` creates an upload; once it is admitted the server
///   sends `104 Upload Resumption Supported` with its `Location`, so a client cut off mid-body knows
///   where to resume; its body is the first append.
/// - `HEAD /resumable/{id}` answers the offset (`Upload-Offset`, `Upload-Complete`).
/// - `PATCH /resumable/{id}` with `Upload-Offset` appends; `DELETE` cancels; `OPTIONS /resumable`
///   tells the limit (`Upload-Limit: max-size=…`).
///
/// The request that completes the upload is answered as `/upload` answers (202, the job as JSON),
/// with the draft's headers added. Implemented here over `ResumableUploads` rather than with
/// `NIOResumableUpload`, whose uploads live in one process's memory.
extension ResumableController {
    @Sendable func draftOptions(request: Request, context: UploaderRequestContext) async throws -> Response {
        Response(
            status: .ok,
            headers: [
                H.draftInteropVersion: String(H.draftVersions.upperBound), H.uploadLimit: "max-size=\(configuration.maxUploadBytes), min-size=0",
                .contentLength: "0",
            ])
    }

    @Sendable func draftCreate(request: Request, context: UploaderRequestContext) async throws -> Response {
        try await draft(request, context) { tenant, version in
            guard let completes = draftComplete(request.headers, version: version) else {
                throw UploaderError(.badRequest, version >= 5 ? "Upload-Complete (?1 or ?0) is required" : "Upload-Incomplete (?1 or ?0) is required")
            }
            if let offset = request.headers[H.uploadOffset], H.structuredInteger(offset) != 0 {
                throw UploaderError(.badRequest, "a new upload starts at Upload-Offset 0")
            }
            let length = try draftLength(request.headers)
            let created = try await create(tenant: tenant, length: length, originalName: request.headers[UploadController.fileNameHeader].flatMap { FileNameSanitizer.sanitize($0) }, request: request, context: context)
            let location = "/resumable/\(created.upload.id)"
            var informational = HTTPResponse(status: .init(code: 104, reasonPhrase: "Upload Resumption Supported"))
            informational.headerFields[H.draftInteropVersion] = String(version)
            informational.headerFields[.location] = location
            // The 104 matters while a body is on its way (a client cut off mid-body learns where to
            // resume); a request without one is answered at once.
            let hasBody = (request.headers[.contentLength].flatMap(Int.init) ?? 0) > 0 || request.headers[.transferEncoding] != nil
            let appended = try await append(
                created, .init(offset: 0, length: length, completes: completes), request: request, context: context, tenant: tenant,
                beforeBody: {
                    guard hasBody else { return }
                    context.channel.triggerUserOutboundEvent(UploadConnectionHandler.InformationalEvent(head: informational), promise: nil)
                })
            var response = try draftResponse(appended.upload, version: version)
            response.headers[.location] = location
            return response
        }
    }

    @Sendable func draftHead(request: Request, context: UploaderRequestContext) async throws -> Response {
        try await draft(request, context) { tenant, version in
            let found = try await uploads.find(tenant: tenant, id: try context.parameters.require("id"), logger: context.logger)
            var headers = draftHeaders(found.upload, version: version)
            headers[.cacheControl] = "no-store"
            if let length = found.upload.length { headers[H.uploadLength] = String(length) }
            return Response(status: .noContent, headers: headers)
        }
    }

    @Sendable func draftPatch(request: Request, context: UploaderRequestContext) async throws -> Response {
        try await draft(request, context) { tenant, version in
            guard let offset = H.structuredInteger(request.headers[H.uploadOffset]) else {
                throw UploaderError(.badRequest, "Upload-Offset is required: a non-negative integer")
            }
            if version >= 6, request.headers[.contentType]?.lowercased().hasPrefix(H.draftPatchContentType) != true {
                throw UploaderError(.wrongContentType, "an append is sent as Content-Type: \(H.draftPatchContentType)")
            }
            // An append without Upload-Complete ends the upload, as in NIOResumableUpload.
            let completes = draftComplete(request.headers, version: version) ?? true
            let found = try await uploads.find(tenant: tenant, id: try context.parameters.require("id"), logger: context.logger)
            let appended = try await append(
                found, .init(offset: offset, length: try draftLength(request.headers), completes: completes), request: request, context: context,
                tenant: tenant)
            return try draftResponse(appended.upload, version: version)
        }
    }

    @Sendable func draftDelete(request: Request, context: UploaderRequestContext) async throws -> Response {
        try await draft(request, context) { tenant, version in
            let found = try await uploads.find(tenant: tenant, id: try context.parameters.require("id"), logger: context.logger)
            try await uploads.terminate(found)
            return Response(status: .noContent, headers: [H.draftInteropVersion: String(version)])
        }
    }

    /// Runs a draft request: reads its interop version, adds it to every answer (errors too), and the
    /// current offset to a 409.
    private func draft(
        _ request: Request, _ context: UploaderRequestContext, _ work: (String, Int) async throws -> Response
    ) async throws -> Response {
        let version = H.structuredInteger(request.headers[H.draftInteropVersion]) ?? H.draftVersions.upperBound
        do {
            guard let value = H.structuredInteger(request.headers[H.draftInteropVersion]), H.draftVersions.contains(value) else {
                throw UploaderError(
                    .badRequest,
                    "Upload-Draft-Interop-Version \(H.draftVersions.lowerBound) to \(H.draftVersions.upperBound) is required")
            }
            return try await work(try tenant(context), version)
        } catch let error as UploaderError {
            var response = try error.response(from: request, context: context)
            response.headers[H.draftInteropVersion] = String(H.draftVersions.contains(version) ? version : H.draftVersions.upperBound)
            if error.code == .offsetMismatch, let current = await currentOffset(request: request, context: context) {
                response.headers[H.uploadOffset] = String(current.offset)
                setComplete(&response.headers, current.complete, version: version)
            }
            return response
        }
    }

    /// 202 with the job (as `/upload` answers) once complete; 201 while incomplete.
    private func draftResponse(_ upload: ResumableUpload, version: Int) throws -> Response {
        let headers = draftHeaders(upload, version: version)
        guard upload.phase == .done else { return Response(status: .created, headers: headers) }
        let body = try JSONEncoder.uploader.encode(UploadController.AcceptedJob(uploads.job(of: upload, submittedAt: upload.updatedAt)))
        var response = Response(status: .accepted, headers: headers, body: .init(byteBuffer: ByteBuffer(data: body)))
        response.headers[.contentType] = "application/json; charset=utf-8"
        return response
    }

    private func draftHeaders(_ upload: ResumableUpload, version: Int) -> HTTPFields {
        var headers: HTTPFields = [H.draftInteropVersion: String(version), H.uploadOffset: String(upload.offset), H.jobId: upload.jobId]
        setComplete(&headers, upload.phase != .receiving, version: version)
        return headers
    }

    private func setComplete(_ headers: inout HTTPFields, _ complete: Bool, version: Int) {
        if version >= 5 {
            headers[H.uploadComplete] = complete ? "?1" : "?0"
        } else {
            headers[H.uploadIncomplete] = complete ? "?0" : "?1"
        }
    }

    private func draftComplete(_ headers: HTTPFields, version: Int) -> Bool? {
        version >= 5 ? H.structuredBoolean(headers[H.uploadComplete]) : H.structuredBoolean(headers[H.uploadIncomplete]).map { !$0 }
    }

    private func draftLength(_ headers: HTTPFields) throws -> Int? {
        guard let value = headers[H.uploadLength] else { return nil }
        guard let length = H.structuredInteger(value) else { throw UploaderError(.badRequest, "Upload-Length must be a non-negative integer") }
        return length
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import QueueKit
import StorageKit

/// `POST /upload`: multipart (`curl -F file=@x.jpg`, several files → one job each) or a raw body
/// (`curl --data-binary @x.jpg`). Each file streams into `rawfiles` as it arrives; only when every
/// file of the request is committed are the jobs published, so a request either queues all its
/// files or none.
struct UploadController: Sendable {
    let ingest: Ingest
    let configuration: UploaderConfiguration
    let admission: UploadAdmission
    var quotas: TenantQuotas { admission.quotas }
    var metrics: UploaderMetrics { admission.metrics }

    static let fileNameHeader = HTTPField.Name("X-File-Name")!

    func addRoutes(to group: RouterGroup<UploaderRequestContext>) {
        group.post("upload", use: upload)
    }

    /// The JSON answer for one job.
    struct AcceptedJob: Encodable {
        let jobId: String
        let status = "queued"
        let statusUrl: String
        let input: BlobReference
        let fileName: String?

        init(_ job: MediaJob) {
            jobId = job.jobId
            statusUrl = "/jobs/\(job.jobId)"
            input = job.input
            fileName = job.originalName
        }
    }

    @Sendable func upload(request: Request, context: UploaderRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        var outcome = "accepted"
        var bytes = 0
        defer {
            let elapsed = ContinuousClock.now - started
            metrics.record(outcome: outcome, tenant: context.tenant, bytes: bytes, seconds: Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))
        }
        do {
            let (response, stored) = try await accept(request: request, context: context)
            bytes = stored
            return response
        } catch let error as UploaderError {
            outcome = error.code.rawValue
            context.logger.info("upload refused", metadata: ["code": "\(error.code.rawValue)", "reason": "\(error.message)"])
            throw error
        } catch {
            outcome = "failed"
            throw error
        }
    }

    private func accept(request: Request, context: UploaderRequestContext) async throws -> (Response, Int) {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > configuration.maxUploadBytes {
            throw UploaderError(.payloadTooLarge, "the upload is larger than the limit of \(configuration.maxUploadBytes) bytes")
        }
        // Limits are the tenant's: its keys (and tokens) share them.
        guard let tenant = context.tenant else { throw UploaderError(.unauthorized, "a valid API key is required (X-API-Key or Authorization: Bearer)") }
        try admission.checkRate(tenant: tenant)
        return try await admission.withSlot(tenant: tenant) {
            let admittedAt = Date()
            try await admission.admitQuota(tenant: tenant, now: admittedAt, logger: context.logger)
            // Every check that can refuse the request before its body has passed: only now is a client
            // that sent `Expect: 100-continue` told to send the body.
            context.continueUpload()
            do {
                let (response, jobs) = try await receive(request: request, context: context, declared: declared, tenant: tenant)
                let bytes = jobs.reduce(0) { $0 + $1.input.bytes }
                await quotas.settle(tenant: tenant, files: jobs.count, bytes: bytes, admittedAt: admittedAt)
                return (response, bytes)
            } catch {
                await quotas.settle(tenant: tenant, files: 0, bytes: 0, admittedAt: admittedAt)
                throw error
            }
        }
    }

    /// Reads the body into blobs and publishes its jobs.
    private func receive(request: Request, context: UploaderRequestContext, declared: Int?, tenant: String) async throws -> (Response, [MediaJob]) {
        let traceId = Self.traceId(request.headers)
        var logger = context.logger
        logger[metadataKey: "trace.id"] = "\(traceId)"
        // Bound as the task's logger too: StorageKit's own lines (retries, failed calls) during this
        // upload carry its trace id.
        let jobs = try await withLogger(logger) { logger in
            try await storeAndPublish(request: request, declared: declared, traceId: traceId, tenant: tenant, logger: logger)
        }

        let body: Data
        if jobs.count == 1 {
            body = try JSONEncoder.uploader.encode(AcceptedJob(jobs[0]))
        } else {
            body = try JSONEncoder.uploader.encode(["jobs": jobs.map(AcceptedJob.init)])
        }
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if jobs.count == 1 { headers[.location] = "/jobs/\(jobs[0].jobId)" }
        return (Response(status: .accepted, headers: headers, body: .init(byteBuffer: ByteBuffer(data: body))), jobs)
    }

    /// Streams the body into blobs and publishes their jobs; if anything fails, discards what it stored.
    private func storeAndPublish(request: Request, declared: Int?, traceId: String, tenant: String, logger: Logger) async throws -> [MediaJob] {
        let reader = BodyReader(
            body: request.body, maxBytes: configuration.maxUploadBytes, declaredLength: declared, minimumRate: configuration.minimumBodyRate)
        var jobs: [MediaJob] = []
        do {
            if let contentType = request.headers[.contentType], let boundary = MultipartReader.boundary(contentType: contentType) {
                jobs = try await storeMultipart(reader: reader, boundary: boundary, traceId: traceId, tenant: tenant, logger: logger)
            } else {
                let name = request.headers[Self.fileNameHeader]
                    ?? request.headers[.contentDisposition].flatMap { MultipartReader.Part.parameters($0)["filename"] }
                jobs = [try await storeFile(name: name, traceId: traceId, tenant: tenant, logger: logger, pull: reader.next)]
            }
            try await ingest.publish(jobs, logger: logger)
        } catch {
            await ingest.discard(jobs, logger: logger)
            if let error = error as? StorageError {
                logger.error("storage failed during an upload", metadata: ["error": "\(error)"])
                throw UploaderError(.storageUnavailable, "storage is unavailable; nothing was queued, try again", retryAfter: 5)
            }
            throw error
        }
        return jobs
    }

    /// Every file part becomes a job; other fields are read and ignored (at most 64 KiB each).
    private func storeMultipart(reader: BodyReader, boundary: String, traceId: String, tenant: String, logger: Logger) async throws -> [MediaJob] {
        let multipart = try MultipartReader(reader: reader, boundary: boundary, limits: configuration.multipart)
        var jobs: [MediaJob] = []
        do {
            while let part = try await multipart.nextPart() {
                let isFile = part.fileName != nil || ["file", "files", "file[]", "files[]"].contains(part.fieldName ?? "")
                guard isFile else {
                    var size = 0
                    while let chunk = try await multipart.nextBodyChunk() {
                        size += chunk.readableBytes
                        if size > 64 << 10 { throw UploaderError(.badRequest, "form field \(part.fieldName ?? "?") is larger than 64 KiB") }
                    }
                    continue
                }
                guard jobs.count < configuration.maxFiles else {
                    throw UploaderError(.tooManyParts, "more than \(configuration.maxFiles) files in one request")
                }
                jobs.append(try await storeFile(name: part.fileName, traceId: traceId, tenant: tenant, logger: logger, pull: multipart.nextBodyChunk))
            }
        } catch {
            await ingest.discard(jobs, logger: logger)
            throw error
        }
        guard !jobs.isEmpty else { throw UploaderError(.noFile, "no file in the request: send it in a form field named `file`") }
        return jobs
    }

    /// Sniffs the first bytes, then streams the file into a blob.
    private func storeFile(
        name: String?, traceId: String, tenant: String, logger: Logger, pull: @escaping () async throws -> ByteBuffer?
    ) async throws -> MediaJob {
        var prefix = ByteBuffer()
        while prefix.readableBytes < MediaType.sniffLength, var chunk = try await pull() {
            prefix.writeBuffer(&chunk)
        }
        let mediaType = try Ingest.acceptedMediaType(head: prefix)
        let originalName = FileNameSanitizer.sanitize(name)
        let job = try await ingest.store(
            PulledBytes(prefix: prefix, pull: pull), mediaType: mediaType, originalName: originalName, traceId: traceId, tenant: tenant)
        logger.info("file stored", metadata: ["job.id": "\(job.jobId)", "blob": "\(job.input.blob)", "bytes": "\(job.input.bytes)", "type": "\(mediaType.mime)"])
        return job
    }

    /// The trace id of a W3C `traceparent` header, or a new one.
    static func traceId(_ headers: HTTPFields) -> String {
        if let parent = headers[HTTPField.Name("traceparent")!] {
            let fields = parent.split(separator: "-")
            if fields.count == 4, fields[1].count == 32, fields[1].allSatisfy(\.isHexDigit) { return String(fields[1]).lowercased() }
        }
        return UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    }
}

extension JSONEncoder {
    static let uploader: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

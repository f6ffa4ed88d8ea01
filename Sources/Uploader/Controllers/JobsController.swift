import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import QueueKit
import StorageKit

/// `GET /jobs`: the caller's jobs, newest first, paged (`Ingest+List.swift`);
/// `GET /jobs/{jobId}`: the job's status document, with a download `url` on each output;
/// `GET /jobs/{jobId}/outputs/{name}`: an output streamed through the uploader (its link in the
/// status document is signed, so it opens without the key); text that names other files of the job
/// (the storyboard's WebVTT, the HLS playlists) is always served here, each reference replaced by
/// that file's own signed link (`JobsController+References.swift`), and the files beside a listed
/// HLS master (`hls/720p/index.m3u8`, segments) are served under their paths too.
/// A job is its tenant's only: to any other tenant it is 404, exactly as an unknown id.
struct JobsController: Sendable {
    let ingest: Ingest
    let links: UploaderConfiguration.Links
    let linksTTLSeconds: Int
    let signer: OutputLinkSigner

    func addRoutes(to group: RouterGroup<UploaderRequestContext>) {
        group.get("jobs", use: list)
        group.get("jobs/:jobId", use: status)
        group.get("jobs/:jobId/outputs/**", use: output)  // a name (`video.mp4`) or a path (`hls/720p/index.m3u8`)
    }

    /// The page size of `GET /jobs` when `limit` is not given, and its largest.
    static let defaultPageSize = 20
    static let maxPageSize = 100

    struct JobList: Encodable {
        let jobs: [JobStatus]
        let nextCursor: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(jobs, forKey: .jobs)
            try container.encode(nextCursor, forKey: .nextCursor)  // explicit null on the last page
        }

        enum CodingKeys: String, CodingKey { case jobs, nextCursor }
    }

    @Sendable func list(request: Request, context: UploaderRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        var state: JobStatus.State?
        if let value = query["status"], !value.isEmpty {
            guard let parsed = JobStatus.State(rawValue: String(value)) else {
                throw UploaderError(.badRequest, "status must be queued, processing, succeeded or failed")
            }
            state = parsed
        }
        var limit = Self.defaultPageSize
        if let value = query["limit"] {
            guard let parsed = Int(String(value)), (1...Self.maxPageSize).contains(parsed) else {
                throw UploaderError(.badRequest, "limit must be a number from 1 to \(Self.maxPageSize)")
            }
            limit = parsed
        }
        let cursor = query["cursor"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let page: Ingest.JobPage
        do {
            page = try await ingest.jobs(tenant: tenant(context), status: state, limit: limit, cursor: cursor)
        } catch is JobCursor.Invalid {
            throw UploaderError(.badRequest, "cursor is not one this listing gave")
        } catch let error as StorageError {
            context.logger.error("cannot list jobs", metadata: ["error": "\(error)"])
            throw UploaderError(.storageUnavailable, "storage is unavailable; try again", retryAfter: 5)
        }
        var jobs: [JobStatus] = []
        let tenant = try tenant(context)
        for job in page.jobs { jobs.append(try await presented(job, tenant: tenant)) }
        return try json(JobList(jobs: jobs, nextCursor: page.cursor))
    }

    @Sendable func status(request: Request, context: UploaderRequestContext) async throws -> Response {
        try json(try await presented(try await load(context), tenant: tenant(context)))
    }

    /// The document as clients see it: a download `url` on each output, and not where the output lives.
    private func presented(_ job: JobStatus, tenant: String) async throws -> JobStatus {
        var status = job
        for index in status.outputs.indices {
            status.outputs[index].url = try await link(for: status.outputs[index], of: status, tenant: tenant)
            // Where the output lives is the deployment's business; the url is the client's.
            status.outputs[index].container = nil
            status.outputs[index].blob = nil
        }
        return status
    }

    private func json(_ value: some Encodable) throws -> Response {
        let body = try JobCoding.encoder().encode(value)
        return Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    /// The tenant the request acts for (`APIKeyMiddleware` sets it on every request it lets through).
    private func tenant(_ context: UploaderRequestContext) throws -> String {
        guard let tenant = context.tenant else { throw UploaderError(.unauthorized, "a valid API key is required (X-API-Key or Authorization: Bearer)") }
        return tenant
    }

    @Sendable func output(request: Request, context: UploaderRequestContext) async throws -> Response {
        let status = try await load(context)
        // One segment (`video.mp4`) or a path (`hls/master.m3u8`, `hls/720p/seg_00001.m4s`).
        let name = context.parameters.getCatchAll().joined(separator: "/")
        guard let file = Self.servedFile(named: name, of: status) else {
            throw UploaderError(.outputNotFound, "job \(status.jobId) has no output named \(name.prefix(256))")
        }
        if let kind = ReferencingText(contentType: file.contentType) {
            return try await referencing(file, kind: kind, of: status, tenant: tenant(context))
        }
        let download: BlobClient.Download
        do {
            download = try await ingest.blobs.download(file.container, file.blob)
        } catch let error as StorageError where error.isNotFound {
            throw UploaderError(.outputNotFound, "job \(status.jobId) has no output named \(name.prefix(256))")
        }
        var headers: HTTPFields = [
            .contentType: file.contentType,
            .contentLength: String(download.properties.contentLength),
            .cacheControl: "private, max-age=3600",
        ]
        headers[.eTag] = download.properties.etag
        return Response(status: .ok, headers: headers, body: .init(asyncSequence: download.body))
    }

    /// A file the outputs route serves: a listed output, or a file beside a listed HLS playlist
    /// (its variant playlists, init sections and segments, which the status does not list).
    struct ServedFile: Sendable, Equatable {
        var name: String
        var contentType: String
        var container: String
        var blob: String
    }

    /// `name` as a file of `job`: a listed output by its name, or a plain relative path under the
    /// directory of a listed playlist output (`hls/…` beside `hls/master.m3u8`), stored under the
    /// same blob directory; nil for anything else (no `..`, no other directories, no unknown types).
    static func servedFile(named name: String, of job: JobStatus) -> ServedFile? {
        if let output = job.outputs.first(where: { $0.name == name }) {
            guard let container = output.container, let blob = output.blob else { return nil }
            return ServedFile(name: name, contentType: output.contentType, container: container, blob: blob)
        }
        guard name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy(isPlainComponent),
            let type = companionContentType(of: name)
        else { return nil }
        for playlist in job.outputs where ReferencingText(contentType: playlist.contentType) == .playlist {
            guard let container = playlist.container, let blob = playlist.blob, let slash = playlist.name.lastIndex(of: "/"),
                let blobSlash = blob.lastIndex(of: "/")
            else { continue }
            let directory = playlist.name[...slash]  // "hls/"
            guard name.hasPrefix(directory) else { continue }
            let blobDirectory = String(blob[...blobSlash])  // "{jobId}/hls/"
            return ServedFile(name: name, contentType: type, container: container, blob: blobDirectory + String(name.dropFirst(directory.count)))
        }
        return nil
    }

    /// A text output (WebVTT cues, an HLS playlist) with each relative reference replaced by the named
    /// file's own link: a player follows them without the key, in both link modes. Served fresh each
    /// time: the links in it expire.
    private func referencing(_ file: ServedFile, kind: ReferencingText, of job: JobStatus, tenant: String) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await ingest.blobs.downloadData(file.container, file.blob, limit: Self.maxReferencingBytes)
        } catch let error as StorageError where error.isNotFound {
            throw UploaderError(.outputNotFound, "job \(job.jobId) has no output named \(file.name)")
        }
        let text = String(buffer: body)
        var links: [String: String] = [:]
        for reference in Self.references(in: text, kind: kind) {
            guard let name = Self.outputName(of: reference, from: file.name), name != file.name, let target = Self.servedFile(named: name, of: job)
            else { continue }
            links[reference] = try await link(to: target, of: job, tenant: tenant)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "\(file.contentType); charset=utf-8", .cacheControl: "private, no-cache"],
            body: .init(byteBuffer: ByteBuffer(string: Self.resolving(text, kind: kind, links: links))))
    }

    private func load(_ context: UploaderRequestContext) async throws -> JobStatus {
        let jobId = context.parameters.get("jobId") ?? ""
        guard Self.isJobId(jobId) else { throw UploaderError(.jobNotFound, "no job \(jobId.prefix(64))") }
        do {
            guard let status = try await ingest.status(jobId: jobId, tenant: tenant(context)) else {
                throw UploaderError(.jobNotFound, "no job \(jobId)")
            }
            return status
        } catch let error as StorageError {
            context.logger.error("cannot read a job status", metadata: ["job.id": "\(jobId)", "error": "\(error)"])
            throw UploaderError(.storageUnavailable, "storage is unavailable; try again", retryAfter: 5)
        }
    }

    private func link(for output: JobStatus.Output, of job: JobStatus, tenant: String) async throws -> String? {
        guard let container = output.container, let blob = output.blob else { return output.url }
        return try await link(to: ServedFile(name: output.name, contentType: output.contentType, container: container, blob: blob), of: job, tenant: tenant)
    }

    /// A signed link to one of the job's files: through us (proxy mode, and always for text that
    /// names other files, which `referencing` resolves), else a read SAS straight to the blob.
    private func link(to file: ServedFile, of job: JobStatus, tenant: String) async throws -> String {
        let path = "/jobs/\(job.jobId)/outputs/\(file.name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? file.name)"
        // The link reads the job as its tenant (a job from before tenants: as the tenant that asked).
        let proxy = signer.sign(path: path, tenant: job.tenant ?? tenant, ttlSeconds: linksTTLSeconds)
        guard links == .sas, ReferencingText(contentType: file.contentType) == nil else { return proxy }
        do {
            return try await ingest.blobs.sasURL(file.container, file.blob, expiresIn: .seconds(linksTTLSeconds)).absoluteString
        } catch {
            // A credential that cannot sign (no key, no delegation rights): stream through us instead.
            return proxy
        }
    }

    /// Job ids are lowercase UUIDs; anything else is not looked up.
    static func isJobId(_ value: String) -> Bool {
        value.count == 36 && UUID(uuidString: value) != nil && value == value.lowercased()
    }
}

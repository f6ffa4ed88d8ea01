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
/// status document is signed, so it opens without the key); a WebVTT output (the storyboard's cues)
/// is always served here, its cues pointing at the sheet's own signed link.
/// A job is its tenant's only: to any other tenant it is 404, exactly as an unknown id.
struct JobsController: Sendable {
    let ingest: Ingest
    let links: UploaderConfiguration.Links
    let linksTTLSeconds: Int
    let signer: OutputLinkSigner

    func addRoutes(to group: RouterGroup<UploaderRequestContext>) {
        group.get("jobs", use: list)
        group.get("jobs/:jobId", use: status)
        group.get("jobs/:jobId/outputs/:name", use: output)
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
        let name = context.parameters.get("name") ?? ""
        guard let output = status.outputs.first(where: { $0.name == name }), let container = output.container, let blob = output.blob else {
            throw UploaderError(.outputNotFound, "job \(status.jobId) has no output named \(name)")
        }
        if output.contentType == Self.cuesType {
            return try await cues(output, of: status, tenant: tenant(context))
        }
        let download = try await ingest.blobs.download(container, blob)
        var headers: HTTPFields = [
            .contentType: output.contentType,
            .contentLength: String(download.properties.contentLength),
            .cacheControl: "private, max-age=3600",
        ]
        headers[.eTag] = download.properties.etag
        return Response(status: .ok, headers: headers, body: .init(asyncSequence: download.body))
    }

    /// WebVTT (the storyboard's cues): what the player fetches the sheet from is in the file.
    static let cuesType = "text/vtt"
    /// A storyboard's cues are a few kB (one line per thumbnail, at most a few hundred).
    static let maxCuesBytes = 1 << 20

    /// A WebVTT output with each cue's sibling reference (`storyboard.webp#xywh=…`, relative as the
    /// processor writes it) replaced by that output's link in this response, so the player's request
    /// for the sheet carries a signature too (a relative reference resolved against a signed link
    /// keeps the path and drops the query). Served fresh each time: the links in it expire.
    private func cues(_ output: JobStatus.Output, of job: JobStatus, tenant: String) async throws -> Response {
        guard let container = output.container, let blob = output.blob else { throw UploaderError(.outputNotFound, "job \(job.jobId) has no output named \(output.name)") }
        let body = try await ingest.blobs.downloadData(container, blob, limit: Self.maxCuesBytes)
        var siblings: [String: String] = [:]
        for sibling in job.outputs where sibling.name != output.name {
            if let link = try await link(for: sibling, of: job, tenant: tenant) { siblings[sibling.name] = link }
        }
        let text = Self.resolvingCueTargets(String(buffer: body), links: siblings)
        return Response(
            status: .ok,
            headers: [.contentType: "\(Self.cuesType); charset=utf-8", .cacheControl: "private, no-cache"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// `text` with every cue payload line that names one of `links`' outputs (`name` or
    /// `name#fragment`) pointing at that link instead, fragment kept. Timing lines, the header and
    /// anything else are left as they are.
    static func resolvingCueTargets(_ text: String, links: [String: String]) -> String {
        // Split on the scalar: "\r\n" is one Swift Character, which a Character split on "\n" never matches.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
        for index in lines.indices {
            let line = lines[index].hasSuffix("\r") ? String(lines[index].dropLast()) : lines[index]
            let name = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? line
            guard let link = links[name] else { continue }
            lines[index] = link + line.dropFirst(name.count) + (lines[index].hasSuffix("\r") ? "\r" : "")
        }
        return lines.joined(separator: "\n")
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
        let path = "/jobs/\(job.jobId)/outputs/\(output.name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? output.name)"
        // The link reads the job as its tenant (a job from before tenants: as the tenant that asked).
        let proxy = signer.sign(path: path, tenant: job.tenant ?? tenant, ttlSeconds: linksTTLSeconds)
        // Cues always through us, even with SAS links: `output(…)` points them at their sheet's link.
        guard links == .sas, output.contentType != Self.cuesType else { return proxy }
        do {
            return try await ingest.blobs.sasURL(container, blob, expiresIn: .seconds(linksTTLSeconds)).absoluteString
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

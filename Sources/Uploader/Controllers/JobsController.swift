import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import QueueKit
import StorageKit

/// `GET /jobs/{jobId}`: the job's status document, with a download `url` on each output;
/// `GET /jobs/{jobId}/outputs/{name}`: an output streamed through the uploader (its link in the
/// status document is signed, so it opens without the key).
struct JobsController: Sendable {
    let ingest: Ingest
    let links: UploaderConfiguration.Links
    let linksTTLSeconds: Int
    let signer: OutputLinkSigner

    func addRoutes(to group: RouterGroup<UploaderRequestContext>) {
        group.get("jobs/:jobId", use: status)
        group.get("jobs/:jobId/outputs/:name", use: output)
    }

    @Sendable func status(request: Request, context: UploaderRequestContext) async throws -> Response {
        var status = try await load(context)
        for index in status.outputs.indices {
            status.outputs[index].url = try await link(for: status.outputs[index], jobId: status.jobId)
            // Where the output lives is the deployment's business; the url is the client's.
            status.outputs[index].container = nil
            status.outputs[index].blob = nil
        }
        let body = try JobCoding.encoder().encode(status)
        return Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    @Sendable func output(request: Request, context: UploaderRequestContext) async throws -> Response {
        let status = try await load(context)
        let name = context.parameters.get("name") ?? ""
        guard let output = status.outputs.first(where: { $0.name == name }), let container = output.container, let blob = output.blob else {
            throw UploaderError(.outputNotFound, "job \(status.jobId) has no output named \(name)")
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

    private func load(_ context: UploaderRequestContext) async throws -> JobStatus {
        let jobId = context.parameters.get("jobId") ?? ""
        guard Self.isJobId(jobId) else { throw UploaderError(.jobNotFound, "no job \(jobId.prefix(64))") }
        do {
            guard let status = try await ingest.status(jobId: jobId) else { throw UploaderError(.jobNotFound, "no job \(jobId)") }
            return status
        } catch let error as StorageError {
            context.logger.error("cannot read a job status", metadata: ["job.id": "\(jobId)", "error": "\(error)"])
            throw UploaderError(.storageUnavailable, "storage is unavailable; try again", retryAfter: 5)
        }
    }

    private func link(for output: JobStatus.Output, jobId: String) async throws -> String? {
        guard let container = output.container, let blob = output.blob else { return output.url }
        let path = "/jobs/\(jobId)/outputs/\(output.name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? output.name)"
        let proxy = signer.sign(path: path, ttlSeconds: linksTTLSeconds)
        guard links == .sas else { return proxy }
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

import Foundation
import HTTPTypes
import Hummingbird
import MultipartKit
import NIOCore
import StorageKit

extension BlobController {
    /// Most sub-requests in one batch (Blob Batch reference: "up to 256 subrequests").
    static let maximumBatchRequests = 256

    /// Blob Batch (`POST /{account}/?comp=batch` or `POST /{account}/{container}?restype=container&comp=batch`):
    /// up to 256 Delete Blob or Set Blob Tier sub-requests, all of one kind, each authorized on its
    /// own and answered in a `multipart/mixed` body with status 202 for the batch.
    func blobBatch(_ call: StorageCall) async throws -> Response {
        let boundary = try BlobBatchBody.boundary(contentType: call.request.headers[.contentType])
        _ = try RequestBodies.contentLength(call.request, limit: 4 << 20)
        let body = try await RequestBodies.collect(call.request, limit: 4 << 20)
        let subrequests = try BlobBatchBody.parse(body, boundary: boundary)
        guard !subrequests.isEmpty else { throw StorageServiceError.invalidBatchBody("the batch holds no sub-request") }
        guard subrequests.count <= Self.maximumBatchRequests else { throw StorageServiceError.batchTooLarge }
        let routed = try subrequests.map { subrequest throws(StorageServiceError) in try route(subrequest, call) }
        guard Set(routed.map(\.operation)).count == 1 else { throw StorageServiceError.batchMixedOperations }

        var parts: [MultipartPart] = []
        for (subrequest, (target, operation)) in zip(subrequests, routed) {
            let requestID = UUID().uuidString.lowercased()
            var headers: HTTPFields = [.xMsRequestID: requestID]
            headers[.xMsVersion] = subrequest.headers[.xMsVersion] ?? call.request.headers[.xMsVersion] ?? StorageDefaults.serviceVersion
            do {
                let request = Request(
                    head: HTTPRequest(method: subrequest.method, scheme: nil, authority: call.request.head.authority,
                        path: subrequest.target, headerFields: subrequest.headers),
                    body: RequestBody(buffer: ByteBuffer()))
                let query = QueryParameters(rawQuery: target.rawQuery)
                let grant = try authorize(request, sentPath: subrequest.target, target: target, query: query, operation: operation, call)
                let sub = StorageCall(
                    request: request, target: target, query: query, operation: operation, grant: grant, now: call.now,
                    logger: call.logger, remoteAddress: call.remoteAddress)
                let response = try await handle(sub)
                for field in response.headers where field.name != .contentLength { headers.append(field) }
                parts.append(BlobBatchBody.part(
                    contentID: subrequest.contentID, status: response.status, reason: response.status.reasonPhrase, headers: headers, body: nil))
            } catch let error as StorageServiceError {
                headers[.xMsErrorCode] = error.code
                headers[.contentType] = "application/xml"
                for field in error.headers { headers[field.name] = field.value }
                parts.append(BlobBatchBody.part(
                    contentID: subrequest.contentID, status: error.status, reason: error.message, headers: headers,
                    body: error.xmlBody(requestID: requestID, now: Date())))
            }
        }
        let responseBoundary = "batchresponse_" + UUID().uuidString.lowercased()
        let buffer = try BlobBatchBody.serialize(parts, boundary: responseBoundary)
        return Response(
            status: .accepted, headers: [.contentType: "multipart/mixed; boundary=\(responseBoundary)"],
            body: ResponseBody(byteBuffer: buffer))
    }

    /// The blob a sub-request addresses and its operation (Delete Blob or Set Blob Tier only).
    /// SDKs send the path with the account (`/{account}/{container}/{blob}`, as Microsoft's Python SDK
    /// does for path-style URLs) or without it (`/{container}/{blob}`); a container-scoped batch
    /// may only address its own container.
    func route(_ subrequest: BlobBatchBody.Subrequest, _ call: StorageCall) throws(StorageServiceError) -> (target: RequestTarget, operation: StorageOperation) {
        let account = call.target.account
        let prefix = "/" + QueryString.percentEncode(account) + "/"
        var target = RequestTarget(requestTarget: subrequest.target.hasPrefix(prefix) ? subrequest.target : "/" + account + subrequest.target)
        target.rawPath = RequestTarget(requestTarget: subrequest.target).rawPath
        guard target.rest != nil else { throw .invalidBatchBody("a sub-request does not address a blob") }
        if let container = call.target.resource, target.resource != container {
            throw .invalidBatchBody("a container batch may only address blobs of its container")
        }
        let operation = Self.operation(
            method: subrequest.method, target: target, query: QueryParameters(rawQuery: target.rawQuery), headers: subrequest.headers)
        guard operation == .deleteBlob || operation == .setBlobTier else {
            throw .invalidBatchBody("only Delete Blob and Set Blob Tier may be batched")
        }
        return (target, operation)
    }

    /// A sub-request with its own `Authorization` is verified like a request (Shared Key over the
    /// path as sent, with or without the account segment); one without it is covered by the batch's
    /// SAS when the batch has one, which must allow the sub-request's resource and operation.
    func authorize(
        _ request: Request, sentPath: String, target: RequestTarget, query: QueryParameters, operation: StorageOperation, _ call: StorageCall
    ) throws(StorageServiceError) -> AccessGrant {
        if request.headers[.authorization] == nil, let sas = call.grant.sas {
            guard let keys = authenticator.accounts.keys(for: target.account) else { throw .resourceNotFound }
            return try SASVerifier(service: .blob, account: target.account, keys: keys)
                .verify(sas, target: target, operation: operation, remoteAddress: call.remoteAddress, now: Date())
        }
        var candidates = [target.rawPath]
        if !target.rawPath.hasPrefix("/" + QueryString.percentEncode(target.account) + "/") {
            candidates.append("/" + QueryString.percentEncode(target.account) + target.rawPath)
        }
        var firstError: StorageServiceError?
        for path in candidates {
            var signed = target
            signed.rawPath = path
            do {
                return try authenticator.authenticate(
                    request, target: signed, query: query, operation: operation, remoteAddress: call.remoteAddress, now: Date())
            } catch {
                firstError = firstError ?? error
            }
        }
        throw firstError ?? .resourceNotFound
    }
}

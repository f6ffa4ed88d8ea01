import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// Every error the uploader answers with. One opaque code per failure, one place that maps codes
/// to HTTP (`response(from:context:)`), one JSON shape: `{"error": {"code", "message"}}`.
struct UploaderError: Error, HTTPResponseError, CustomStringConvertible {
    /// A stable, documented error code (see `openapi.yaml`).
    struct Code: RawRepresentable, Hashable, Sendable {
        let rawValue: String
        static let unauthorized = Code(rawValue: "Unauthorized")
        static let rateLimited = Code(rawValue: "RateLimited")
        /// The key already has its share of the upload slots (`uploader.max.uploads.per.key`).
        static let tooManyUploadsForKey = Code(rawValue: "TooManyUploadsForKey")
        /// The tenant has used its daily quota of uploads or bytes (`uploader.quota.daily.*`).
        static let quotaExceeded = Code(rawValue: "QuotaExceeded")
        /// The body arrived below the minimum rate (`uploader.body.min.rate`).
        static let bodyTooSlow = Code(rawValue: "BodyTooSlow")
        static let busy = Code(rawValue: "ServerBusy")
        static let payloadTooLarge = Code(rawValue: "PayloadTooLarge")
        static let unsupportedMediaType = Code(rawValue: "UnsupportedMediaType")
        static let emptyFile = Code(rawValue: "EmptyFile")
        static let noFile = Code(rawValue: "NoFile")
        static let malformedMultipart = Code(rawValue: "MalformedMultipart")
        static let tooManyParts = Code(rawValue: "TooManyParts")
        static let partHeadersTooLarge = Code(rawValue: "PartHeadersTooLarge")
        static let incompleteBody = Code(rawValue: "IncompleteBody")
        static let storageUnavailable = Code(rawValue: "StorageUnavailable")
        static let jobNotFound = Code(rawValue: "JobNotFound")
        static let outputNotFound = Code(rawValue: "OutputNotFound")
        static let badRequest = Code(rawValue: "BadRequest")
        static let shuttingDown = Code(rawValue: "ShuttingDown")
        /// A direct upload's blob failed verification: it was deleted and the job is `failed`.
        static let uploadRejected = Code(rawValue: "UploadRejected")
        /// Another request is completing the same direct upload.
        static let completionInProgress = Code(rawValue: "CompletionInProgress")
        /// The uploader's credential cannot sign a SAS (it runs with a SAS itself).
        static let directUploadUnavailable = Code(rawValue: "DirectUploadUnavailable")
        /// Resumable uploads (`/files/`, `/resumable/`): no such upload for this tenant.
        static let uploadNotFound = Code(rawValue: "UploadNotFound")
        /// The resumable upload expired (`uploader.resumable.expiry.seconds`).
        static let uploadExpired = Code(rawValue: "UploadExpired")
        /// The request's `Upload-Offset` is not the upload's offset (or it is complete already).
        static let offsetMismatch = Code(rawValue: "OffsetMismatch")
        /// Another request changed the upload at the same time (its state's ETag moved).
        static let uploadConflict = Code(rawValue: "UploadConflict")
        /// tus checksum extension: the body does not match `Upload-Checksum` (460).
        static let checksumMismatch = Code(rawValue: "ChecksumMismatch")
        /// tus: a `Tus-Resumable` version other than 1.0.0 (412).
        static let unsupportedVersion = Code(rawValue: "UnsupportedVersion")
        /// A PATCH whose `Content-Type` is not the protocol's (415).
        static let wrongContentType = Code(rawValue: "WrongContentType")
    }

    let code: Code
    let message: String
    /// Seconds the client should wait before trying again (429 and 503).
    var retryAfter: Int?

    init(_ code: Code, _ message: String, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    var status: HTTPResponse.Status {
        switch code {
        case .unauthorized: .unauthorized
        case .rateLimited, .tooManyUploadsForKey, .quotaExceeded: .tooManyRequests
        case .bodyTooSlow: .requestTimeout
        case .busy, .storageUnavailable, .shuttingDown: .serviceUnavailable
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .partHeadersTooLarge: .requestHeaderFieldsTooLarge
        case .uploadRejected: .unprocessableContent
        case .completionInProgress: .conflict
        case .directUploadUnavailable: .notImplemented
        case .jobNotFound, .outputNotFound, .uploadNotFound: .notFound
        case .uploadExpired: .gone
        case .offsetMismatch, .uploadConflict: .conflict
        case .checksumMismatch: HTTPResponse.Status(code: 460, reasonPhrase: "Checksum Mismatch")
        case .unsupportedVersion: .preconditionFailed
        case .wrongContentType: .unsupportedMediaType
        default: .badRequest
        }
    }

    struct ErrorBody: Codable {
        struct Detail: Codable { let code: String; let message: String }
        let error: Detail
    }

    var description: String { "\(code.rawValue): \(message)" }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder.uploader.encode(ErrorBody(error: .init(code: code.rawValue, message: message)))
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if code == .unauthorized { headers[.wwwAuthenticate] = #"Bearer realm="uploader", X-API-Key"# }
        // An answer given before the whole body was read also ends the connection (so the client
        // does not have to send, nor we drain, the rest): `UploadConnectionHandler` decides that for
        // every response, whatever produced it.
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}

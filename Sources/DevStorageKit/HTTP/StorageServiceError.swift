import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StorageKit

/// An Azure-shaped failure: status, error code, message and optional extra XML elements.
///
/// Every failure devstorage reports is one of these; `response(requestID:isHead:now:)` is the one
/// place that turns it into `<Error><Code>…</Code><Message>…</Message></Error>` plus
/// `x-ms-error-code` (headers only for HEAD).
struct StorageServiceError: Error, HTTPResponseError, CustomStringConvertible {
    /// HTTP status.
    var status: HTTPResponse.Status
    /// Azure error code (`BlobNotFound`, `AuthenticationFailed`, …).
    var code: String
    /// Human-readable message (request id and time are appended in the body).
    var message: String
    /// Extra child elements of `<Error>` after `<Message>` (e.g. `AuthenticationErrorDetail`).
    var details: [(name: String, value: String)] = []
    /// Extra response headers (e.g. `Retry-After`, `Content-Range` on 416).
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, details: [(name: String, value: String)] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    var description: String { "\(status.code) \(code): \(message)" }

    /// HTTPResponseError conformance: used if an error ever escapes to Hummingbird.
    func response(from request: Request, context: some RequestContext) throws -> Response {
        response(requestID: UUID().uuidString.lowercased(), isHead: request.method == .head, now: Date())
    }

    /// The error response. HEAD answers carry the headers only.
    func response(requestID: String, isHead: Bool, now: Date) -> Response {
        var fields = headers
        fields[.xMsErrorCode] = code
        fields[.contentType] = "application/xml"
        let body = ByteBuffer(string: xmlBody(requestID: requestID, now: now))
        if isHead {
            fields[.contentLength] = "\(body.readableBytes)"
            return Response(status: status, headers: fields, body: .init())
        }
        return Response(status: status, headers: fields, body: .init(byteBuffer: body))
    }

    /// The `<Error>` document.
    func xmlBody(requestID: String, now: Date) -> String {
        var xml = XMLWriter()
        xml.open("Error")
        xml.element("Code", code)
        xml.element("Message", "\(message)\nRequestId:\(requestID)\nTime:\(Self.time(now))")
        for detail in details { xml.element(detail.name, detail.value) }
        xml.close("Error")
        return xml.text
    }

    /// `2025-01-15T10:00:00.1234567Z`, as Azure writes error times.
    static func time(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let fraction = Int((date.timeIntervalSince1970 - seconds) * 10_000_000)
        let digits = String(fraction)
        return String(HTTPDate.iso8601(Date(timeIntervalSince1970: seconds)).dropLast())
            + "." + String(repeating: "0", count: max(0, 7 - digits.count)) + digits + "Z"
    }
}

// MARK: - The error codes devstorage uses (wire doc §5)

extension StorageServiceError {
    static func authenticationFailed(_ detail: String) -> Self {
        .init(
            .forbidden, "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
            details: [("AuthenticationErrorDetail", detail)])
    }
    static func invalidAuthenticationInfo(_ detail: String) -> Self {
        .init(.badRequest, "InvalidAuthenticationInfo", "Authentication information is not given in the correct format. Check the value of Authorization header.",
            details: [("AuthenticationErrorDetail", detail)])
    }
    static let authorizationPermissionMismatch = Self(
        .forbidden, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.")
    static let authorizationProtocolMismatch = Self(
        .forbidden, "AuthorizationProtocolMismatch", "This request is not authorized to perform this operation using this protocol.")
    static let authorizationServiceMismatch = Self(
        .forbidden, "AuthorizationServiceMismatch", "This request is not authorized to perform this operation using this service.")
    static let authorizationResourceTypeMismatch = Self(
        .forbidden, "AuthorizationResourceTypeMismatch", "This request is not authorized to perform this operation using this resource type.")
    static let authorizationSourceIPMismatch = Self(
        .forbidden, "AuthorizationSourceIPMismatch", "This request is not authorized to perform this operation using this source IP.")
    static let resourceNotFound = Self(.notFound, "ResourceNotFound", "The specified resource does not exist.")
    static let containerNotFound = Self(.notFound, "ContainerNotFound", "The specified container does not exist.")
    static let containerAlreadyExists = Self(.conflict, "ContainerAlreadyExists", "The specified container already exists.")
    static let blobNotFound = Self(.notFound, "BlobNotFound", "The specified blob does not exist.")
    static let blobAlreadyExists = Self(.conflict, "BlobAlreadyExists", "The specified blob already exists.")
    static let queueNotFound = Self(.notFound, "QueueNotFound", "The specified queue does not exist.")
    static let queueAlreadyExists = Self(.conflict, "QueueAlreadyExists", "The specified queue already exists.")
    static let messageNotFound = Self(.notFound, "MessageNotFound", "The specified message does not exist.")
    static let popReceiptMismatch = Self(
        .badRequest, "PopReceiptMismatch", "The specified pop receipt did not match the pop receipt for a dequeued message.")
    static let conditionNotMet = Self(.preconditionFailed, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
    static let multipleConditionHeaders = Self(
        .badRequest, "MultipleConditionHeadersNotSupported", "Multiple condition headers are not supported.")
    static let invalidBlockList = Self(.badRequest, "InvalidBlockList", "The specified block list is invalid.")
    static let invalidBlobOrBlock = Self(.badRequest, "InvalidBlobOrBlock", "The specified blob or block content is invalid.")
    static let invalidBlockID = Self(.badRequest, "InvalidBlockId", "The specified block ID is invalid. The block ID must be Base64-encoded.")
    static let md5Mismatch = Self(.badRequest, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
    static let invalidMD5 = Self(.badRequest, "InvalidMd5", "The MD5 value specified in the request is invalid. The MD5 value must be 128 bits and Base64-encoded.")
    static let invalidXML = Self(.badRequest, "InvalidXmlDocument", "XML specified is not syntactically valid.")
    static let lengthRequired = Self(.lengthRequired, "MissingContentLengthHeader", "Content-Length header value must be specified.")
    static let messageTooLarge = Self(.badRequest, "MessageTooLarge", "The message exceeds the maximum allowed size.")
    static let metadataTooLarge = Self(.badRequest, "MetadataTooLarge", "The size of the specified metadata exceeds the maximum size permitted.")
    static let serverBusy = Self(.serviceUnavailable, "ServerBusy", "The server is currently unable to receive requests. Please retry your request.")
    static let internalError = Self(.internalServerError, "InternalError", "The server encountered an internal error. Please retry the request.")
    static let unsupportedVerb = Self(.methodNotAllowed, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.")
    static let blockCountExceedsLimit = Self(.conflict, "BlockCountExceedsLimit", "The uncommitted block count cannot exceed the maximum limit of 100,000 blocks.")

    // Copy, tier and batch (Blob service error codes, learn.microsoft.com/rest/api/storageservices/blob-service-error-codes).
    static let blobArchived = Self(.conflict, "BlobArchived", "This operation is not permitted on an archived blob.")
    static let noPendingCopyOperation = Self(.conflict, "NoPendingCopyOperation", "There is currently no pending copy operation.")
    static let copyIDMismatch = Self(
        .conflict, "CopyIdMismatch", "The specified copy ID did not match the copy ID for the pending copy operation.")
    static let sourceConditionNotMet = Self(
        .preconditionFailed, "SourceConditionNotMet", "The source condition specified using HTTP conditional header(s) is not met.")
    static let copySourceNotFound = Self(.notFound, "CannotVerifyCopySource", "The specified resource does not exist.")
    static let copySourceNotAuthorized = Self(
        .forbidden, "CannotVerifyCopySource", "This request is not authorized to perform this operation.")
    static let invalidBlobTier = Self(.badRequest, "InvalidBlobTier", "The specified blob tier is invalid.")
    static let batchMixedOperations = Self(.badRequest, "AllBatchSubRequestsShouldBeSameApi", "All batch subrequests should be the same api.")
    static let batchTooLarge = Self(
        .badRequest, "ExceedsMaxBatchRequestCount", "The batch operation exceeds maximum number of allowed subrequests.")
    static func invalidBatchBody(_ reason: String) -> Self {
        .init(.badRequest, "InvalidInput", "One of the request inputs is not valid: \(reason).")
    }

    static func requestBodyTooLarge(limit: Int64) -> Self {
        .init(.contentTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.",
            details: [("MaxLimit", "\(limit)")])
    }
    static func invalidRange(size: Int64) -> Self {
        var error = Self(.rangeNotSatisfiable, "InvalidRange", "The range specified is invalid for the current size of the resource.")
        error.headers[.contentRange] = "bytes */\(size)"
        return error
    }
    static func invalidResourceName() -> Self {
        .init(.badRequest, "InvalidResourceName", "The specifed resource name contains invalid characters.")
    }
    static func outOfRangeInput(_ what: String) -> Self {
        .init(.badRequest, "OutOfRangeInput", "One of the request inputs is out of range: \(what).")
    }
    static func invalidHeaderValue(_ name: String, _ value: String) -> Self {
        .init(.badRequest, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.",
            details: [("HeaderName", name), ("HeaderValue", value)])
    }
    static func missingRequiredHeader(_ name: String) -> Self {
        .init(.badRequest, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.",
            details: [("HeaderName", name)])
    }
    static func invalidQueryParameter(_ name: String, _ value: String) -> Self {
        .init(.badRequest, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid.",
            details: [("QueryParameterName", name), ("QueryParameterValue", value)])
    }
    static func outOfRangeQueryParameter(_ name: String, _ value: String) -> Self {
        .init(.badRequest, "OutOfRangeQueryParameterValue", "One of the query parameters specified in the request URI is outside the permissible range.",
            details: [("QueryParameterName", name), ("QueryParameterValue", value)])
    }
    static func missingRequiredQueryParameter(_ name: String) -> Self {
        .init(.badRequest, "MissingRequiredQueryParameter", "A query parameter that's mandatory for this request is not specified.",
            details: [("QueryParameterName", name)])
    }
    static func invalidMetadata(_ name: String) -> Self {
        .init(.badRequest, "InvalidMetadata", "The metadata specified is invalid. It has characters that are not permitted: \(name).")
    }
    static func injected(status: Int, retryAfterSeconds: Int?) -> Self {
        var error = status == 500 ? Self.internalError : Self.serverBusy
        if status != 500, status != 503 {
            error = Self(.init(code: status), "InjectedFault", "Injected fault.")
        }
        error.message = "Injected fault: " + error.message
        if let retryAfterSeconds { error.headers[.retryAfter] = "\(retryAfterSeconds)" }
        return error
    }
}

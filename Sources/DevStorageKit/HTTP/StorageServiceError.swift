import Foundation
import StorageKit
import HTTPTypes
import Hummingbird
import NIOCore

/// An Azure-shaped error answer: status, `x-ms-error-code` and the XML `<Error>` body.
/// Every failure devstorage reports goes through this one type.
struct StorageServiceError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var detail: String?

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, detail: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
    }

    var headers: HTTPFields {
        var fields = HTTPFields()
        fields[.init("x-ms-error-code")!] = code
        fields[.contentType] = "application/xml"
        return fields
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        response(isHead: request.method == .head)
    }

    /// The answer: XML body, or headers only for HEAD.
    func response(isHead: Bool) -> Response {
        var fields = headers
        if isHead {
            return Response(status: status, headers: fields)
        }
        var xml = #"<?xml version="1.0" encoding="utf-8"?><Error><Code>\#(code)</Code><Message>"#
            + StorageXML.escape(message) + "\nRequestId:\(UUID().uuidString.lowercased())\nTime:\(ISO8601DateFormatter().string(from: Date()))</Message>"
        if let detail { xml += "<AuthenticationErrorDetail>\(StorageXML.escape(detail))</AuthenticationErrorDetail>" }
        xml += "</Error>"
        fields[.contentLength] = "\(xml.utf8.count)"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: xml)))
    }

    static func authenticationFailed(_ detail: String) -> Self {
        .init(.forbidden, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of the Authorization header is formed correctly including the signature.", detail: detail)
    }
    static let containerNotFound = Self(.notFound, "ContainerNotFound", "The specified container does not exist.")
    static let blobNotFound = Self(.notFound, "BlobNotFound", "The specified blob does not exist.")
    static let queueNotFound = Self(.notFound, "QueueNotFound", "The specified queue does not exist.")
    static let messageNotFound = Self(.notFound, "MessageNotFound", "The specified message does not exist.")
    static let popReceiptMismatch = Self(.badRequest, "PopReceiptMismatch", "The specified pop receipt did not match the pop receipt for a dequeued message.")
    static let conditionNotMet = Self(.preconditionFailed, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
    static func outOfRange(_ name: String) -> Self {
        .init(.badRequest, "OutOfRangeQueryParameterValue", "One of the query parameters specified in the request URI is outside the permissible range: \(name).")
    }
    static func invalidQuery(_ name: String) -> Self {
        .init(.badRequest, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid: \(name).")
    }
    static let unsupported = Self(.badRequest, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.")
}

import Foundation
import HTTPTypes
import MultipartKit
import NIOCore
import NIOHTTP1

/// The body of a Blob Batch request and response (`multipart/mixed`, each part an
/// `application/http` message), as the Blob Batch REST reference shows it
/// (learn.microsoft.com/rest/api/storageservices/blob-batch). MultipartKit does the MIME framing;
/// the embedded HTTP/1.1 messages are read and written here.
enum BlobBatchBody {
    /// One embedded request: request line, headers (no body: Delete Blob and Set Blob Tier have none).
    struct Subrequest: Sendable {
        var contentID: String?
        var method: HTTPRequest.Method
        /// The request-target exactly as sent (path and query, percent-encoded).
        var target: String
        var headers: HTTPFields
    }

    /// The boundary of `multipart/mixed; boundary=…`; 400 `InvalidHeaderValue` otherwise.
    static func boundary(contentType: String?) throws(StorageServiceError) -> String {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/mixed") else {
            throw .invalidHeaderValue("Content-Type", contentType ?? "")
        }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "boundary", !pair[1].isEmpty {
                return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        throw .invalidHeaderValue("Content-Type", contentType)
    }

    /// Splits the body into its sub-requests; 400 `InvalidInput` for anything that is not one.
    static func parse(_ body: Data, boundary: String) throws(StorageServiceError) -> [Subrequest] {
        let parser = MultipartParser(boundary: boundary)
        var parts: [(headers: [(String, String)], body: ByteBuffer)] = []
        var headers: [(String, String)] = []
        var partBody = ByteBuffer()
        parser.onHeader = { headers.append(($0, $1)) }
        parser.onBody = { partBody.writeBuffer(&$0) }
        parser.onPartComplete = {
            parts.append((headers, partBody))
            headers = []
            partBody = ByteBuffer()
        }
        do {
            try parser.execute(ByteBuffer(bytes: body))
        } catch {
            throw .invalidBatchBody("the multipart/mixed body does not parse (\(error))")
        }
        return try parts.map { part throws(StorageServiceError) in
            let contentID = part.headers.first { $0.0.lowercased() == "content-id" }?.1
            return try subrequest(String(buffer: part.body), contentID: contentID)
        }
    }

    /// `METHOD target HTTP/1.1`, then `Name: value` lines up to an empty line.
    static func subrequest(_ text: String, contentID: String?) throws(StorageServiceError) -> Subrequest {
        // "\r\n" is one Character in Swift: normalise line ends before splitting.
        var lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        while lines.first?.isEmpty == true { lines.removeFirst() }
        guard let requestLine = lines.first else { throw .invalidBatchBody("a part holds no request") }
        let words = requestLine.split(separator: " ")
        guard words.count == 3, words[2].hasPrefix("HTTP/1."), words[1].hasPrefix("/"),
            let method = HTTPRequest.Method(String(words[0]))
        else { throw .invalidBatchBody("a part's request line is not METHOD /path HTTP/1.1") }
        var headers = HTTPFields()
        for line in lines.dropFirst() {
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":"), let name = HTTPField.Name(String(line[..<colon])) else {
                throw .invalidBatchBody("a sub-request header is malformed")
            }
            headers.append(HTTPField(name: name, value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return Subrequest(contentID: contentID, method: method, target: String(words[1]), headers: headers)
    }

    /// One answer: status line with the reason phrase (Azure puts the error message there), headers,
    /// and the error document if any.
    static func part(contentID: String?, status: HTTPResponse.Status, reason: String, headers: HTTPFields, body: String?) -> MultipartPart {
        var message = "HTTP/1.1 \(status.code) \(reason)\r\n"
        for field in headers { message += "\(field.name.rawName): \(field.value)\r\n" }
        if let body {
            message += "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        } else {
            message += "\r\n"
        }
        var partHeaders: NIOHTTP1.HTTPHeaders = ["Content-Type": "application/http"]
        if let contentID { partHeaders.add(name: "Content-ID", value: contentID) }
        return MultipartPart(headers: partHeaders, body: message)
    }

    /// The whole response body.
    static func serialize(_ parts: [MultipartPart], boundary: String) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try MultipartSerializer().serialize(parts: parts, boundary: boundary, into: &buffer)
        return buffer
    }
}

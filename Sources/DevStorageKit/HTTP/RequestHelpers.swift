import Foundation
import HTTPTypes
import Hummingbird
import StorageKit

/// Decoded query parameters (first value wins, names case-insensitive).
struct Query {
    let pairs: [(name: String, value: String)]
    init(_ request: Request) { pairs = QueryString.decode(request.uri.query ?? "") }
    subscript(_ name: String) -> String? { pairs.first { $0.name.lowercased() == name }?.value }
}

/// Header helpers: metadata, blob properties.
enum Headers {
    /// `x-ms-meta-*` headers, names with their case as sent.
    static func metadata(_ request: Request) -> [String: String] {
        var metadata: [String: String] = [:]
        for field in request.headers where field.name.rawName.lowercased().hasPrefix("x-ms-meta-") {
            metadata[String(field.name.rawName.dropFirst("x-ms-meta-".count))] = field.value
        }
        return metadata
    }

    static func addMetadata(_ metadata: [String: String], to headers: inout HTTPFields) {
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name("x-ms-meta-\(name)") { headers.append(HTTPField(name: field, value: value)) }
        }
    }

    static func newRecord(_ request: Request, name: String, dataFile: String, size: Int, now: Date, created: Date?) -> BlobRecord {
        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { request.headers[$0] } }
        return BlobRecord(
            name: name, dataFile: dataFile, size: size,
            contentType: header("x-ms-blob-content-type") ?? header("Content-Type") ?? "application/octet-stream",
            contentEncoding: header("x-ms-blob-content-encoding"), contentLanguage: header("x-ms-blob-content-language"),
            contentDisposition: header("x-ms-blob-content-disposition"), cacheControl: header("x-ms-blob-cache-control"),
            contentMD5: nil, etag: ETag.make(now), created: created ?? now, lastModified: now, metadata: metadata(request))
    }

    static func properties(_ record: BlobRecord) -> HTTPFields {
        var headers: HTTPFields = [
            .eTag: record.etag, .lastModified: HTTPDate.format(record.lastModified), .acceptRanges: "bytes",
            .contentLength: "\(record.size)", .init("x-ms-blob-type")!: "BlockBlob",
            .init("x-ms-creation-time")!: HTTPDate.format(record.created), .init("x-ms-server-encrypted")!: "true",
            .init("x-ms-lease-state")!: "available", .init("x-ms-lease-status")!: "unlocked", .init("x-ms-access-tier")!: "Hot",
        ]
        if let value = record.contentType { headers[.contentType] = value }
        if let value = record.contentEncoding { headers[.contentEncoding] = value }
        if let value = record.contentLanguage { headers[.contentLanguage] = value }
        if let value = record.contentDisposition { headers[.contentDisposition] = value }
        if let value = record.cacheControl { headers[.cacheControl] = value }
        if let value = record.contentMD5 { headers[.init("Content-MD5")!] = value }
        addMetadata(record.metadata, to: &headers)
        return headers
    }
}

/// Conditional headers (wire doc §6.3).
enum Conditions {
    static func etagMatches(_ header: String, _ etag: String) -> Bool { header == "*" || header == etag }

    /// For GET/HEAD: a 304 response, nil to go on, or a thrown 412.
    static func checkRead(_ request: Request, _ record: BlobRecord) throws -> Response? {
        if let ifMatch = request.headers[.ifMatch], !etagMatches(ifMatch, record.etag) { throw StorageServiceError.conditionNotMet }
        if let since = request.headers[.ifUnmodifiedSince].flatMap(HTTPDate.parse), record.lastModified.timeIntervalSince(since) >= 1 {
            throw StorageServiceError.conditionNotMet
        }
        if let ifNoneMatch = request.headers[.ifNoneMatch], etagMatches(ifNoneMatch, record.etag) {
            return Response(status: .notModified, headers: [.eTag: record.etag])
        }
        if let since = request.headers[.ifModifiedSince].flatMap(HTTPDate.parse), record.lastModified.timeIntervalSince(since) < 1 {
            return Response(status: .notModified, headers: [.eTag: record.etag])
        }
        return nil
    }

    /// For writes and deletes against `existing` (nil when the blob does not exist).
    static func checkWrite(_ request: Request, existing: BlobRecord?) throws {
        if let ifNoneMatch = request.headers[.ifNoneMatch] {
            if ifNoneMatch == "*", existing != nil {
                throw StorageServiceError(.conflict, "BlobAlreadyExists", "The specified blob already exists.")
            }
            if let existing, ifNoneMatch == existing.etag { throw StorageServiceError.conditionNotMet }
        }
        if let ifMatch = request.headers[.ifMatch] {
            guard let existing, etagMatches(ifMatch, existing.etag) else {
                if existing == nil, request.method == .delete { throw StorageServiceError.blobNotFound }
                throw StorageServiceError.conditionNotMet
            }
        }
        if let existing {
            if let since = request.headers[.ifModifiedSince].flatMap(HTTPDate.parse), existing.lastModified.timeIntervalSince(since) < 1 {
                throw StorageServiceError.conditionNotMet
            }
            if let since = request.headers[.ifUnmodifiedSince].flatMap(HTTPDate.parse), existing.lastModified.timeIntervalSince(since) >= 1 {
                throw StorageServiceError.conditionNotMet
            }
        }
    }
}

/// `bytes=START-END` / `bytes=START-`.
enum Ranges {
    static func parse(_ value: String) -> (start: Int, end: Int?)? {
        guard value.hasPrefix("bytes=") else { return nil }
        let parts = value.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Int(parts[0]), start >= 0 else { return nil }
        if parts[1].isEmpty { return (start, nil) }
        guard let end = Int(parts[1]), end >= start else { return nil }
        return (start, end)
    }
}

/// Container and queue name rules (3–63 chars, lowercase letters, digits, single dashes).
enum Names {
    static func valid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-"), !name.contains("--") else { return false }
        return bytes.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") }
    }

    static func validateContainer(_ name: String) throws {
        guard name.utf8.count >= 3, name.utf8.count <= 63 else {
            throw StorageServiceError(.badRequest, "OutOfRangeInput", "The specified resource name length is not within the permissible limits.")
        }
        guard valid(name) else { throw StorageServiceError(.badRequest, "InvalidResourceName", "The specifed resource name contains invalid characters.") }
    }
}

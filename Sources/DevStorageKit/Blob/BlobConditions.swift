import Foundation
import HTTPTypes
import StorageKit

/// The conditional headers of a blob request (wire doc §6.3), parsed once and evaluated against the
/// blob as the store sees it at commit time.
struct BlobConditions: Sendable {
    var ifMatch: String?
    var ifNoneMatch: String?
    var ifModifiedSince: Date?
    var ifUnmodifiedSince: Date?

    /// No conditions.
    init() {}

    /// Reads `If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`.
    /// Several ETags in one header → 400 `MultipleConditionHeadersNotSupported`.
    init(headers: HTTPFields) throws(StorageServiceError) {
        try self.init(headers: headers, names: (.ifMatch, .ifNoneMatch, .ifModifiedSince, .ifUnmodifiedSince))
    }

    /// The conditions on a copy's source: `x-ms-source-if-match`, `-if-none-match`,
    /// `-if-modified-since`, `-if-unmodified-since`.
    static func source(_ headers: HTTPFields) throws(StorageServiceError) -> BlobConditions {
        try BlobConditions(headers: headers, names: (
            HTTPField.Name("x-ms-source-if-match")!, HTTPField.Name("x-ms-source-if-none-match")!,
            HTTPField.Name("x-ms-source-if-modified-since")!, HTTPField.Name("x-ms-source-if-unmodified-since")!))
    }

    private init(
        headers: HTTPFields, names: (match: HTTPField.Name, noneMatch: HTTPField.Name, modified: HTTPField.Name, unmodified: HTTPField.Name)
    ) throws(StorageServiceError) {
        ifMatch = headers[names.match]
        ifNoneMatch = headers[names.noneMatch]
        for value in [ifMatch, ifNoneMatch].compactMap({ $0 }) where value.contains(",") {
            throw .multipleConditionHeaders
        }
        if let value = headers[names.modified] {
            guard let date = HTTPDate.parse(value) else { throw .invalidHeaderValue(names.modified.rawName, value) }
            ifModifiedSince = date
        }
        if let value = headers[names.unmodified] {
            guard let date = HTTPDate.parse(value) else { throw .invalidHeaderValue(names.unmodified.rawName, value) }
            ifUnmodifiedSince = date
        }
    }

    /// Whether any condition is present.
    var isEmpty: Bool { ifMatch == nil && ifNoneMatch == nil && ifModifiedSince == nil && ifUnmodifiedSince == nil }

    /// Reads (GET/HEAD): throws 412 for `If-Match`/`If-Unmodified-Since` failures; returns true when
    /// the answer is 304 Not Modified.
    ///
    /// Azure evaluates read conditions (version 2013-08-15 on) as
    /// `If-Match && If-Unmodified-Since && (If-None-Match || If-Modified-Since)`
    /// (learn.microsoft.com/rest/api/storageservices/specifying-conditional-headers-for-blob-service-operations,
    /// "read operations"): a different ETag in `If-None-Match` lets the read through even when the
    /// blob was not modified since `If-Modified-Since` — the ETag wins. Dates compare in whole
    /// seconds; at equality the blob counts as not modified since.
    func isNotModified(_ record: BlobRecord) throws(StorageServiceError) -> Bool {
        if let ifMatch, !Self.matches(ifMatch, record.etag) { throw .conditionNotMet }
        if let ifUnmodifiedSince, Self.seconds(record.lastModified) > Self.seconds(ifUnmodifiedSince) { throw .conditionNotMet }
        let either = [
            ifNoneMatch.map { !Self.matches($0, record.etag) },
            ifModifiedSince.map { Self.seconds(record.lastModified) > Self.seconds($0) },
        ].compactMap { $0 }
        return !either.isEmpty && !either.contains(true)
    }

    /// Writes and deletes. `creates` is true for Put Blob / Put Block List, where `If-None-Match: *`
    /// on an existing blob is 409 `BlobAlreadyExists` and `If-Match` on a missing blob is 412.
    func checkWrite(existing: BlobRecord?, creates: Bool) throws(StorageServiceError) {
        guard let existing else {
            if ifMatch != nil { throw creates ? .conditionNotMet : .blobNotFound }
            return
        }
        if let ifMatch, !Self.matches(ifMatch, existing.etag) { throw .conditionNotMet }
        if let ifNoneMatch {
            if ifNoneMatch == "*" { throw creates ? .blobAlreadyExists : .conditionNotMet }
            if Self.matches(ifNoneMatch, existing.etag) { throw .conditionNotMet }
        }
        if let ifModifiedSince, Self.seconds(existing.lastModified) <= Self.seconds(ifModifiedSince) { throw .conditionNotMet }
        if let ifUnmodifiedSince, Self.seconds(existing.lastModified) > Self.seconds(ifUnmodifiedSince) { throw .conditionNotMet }
    }

    /// ETag comparison: `*` matches anything; quotes are optional on either side.
    static func matches(_ condition: String, _ etag: String) -> Bool {
        let condition = condition.trimmingCharacters(in: .whitespaces)
        if condition == "*" { return true }
        return unquote(condition) == unquote(etag)
    }

    static func unquote(_ value: String) -> Substring {
        var value = Substring(value)
        if value.hasPrefix("W/") { value = value.dropFirst(2) }
        if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
        return value
    }

    /// HTTP dates have second precision: compare whole seconds.
    static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }
}

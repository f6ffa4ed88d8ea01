import Foundation
import HTTPTypes
import StorageKit

/// Blob properties from request headers, and blob response headers.
enum BlobHeaders {
    /// Put Blob: `x-ms-blob-content-*` headers, falling back to the request's own content headers.
    static func putBlobProperties(_ headers: HTTPFields) -> BlobProperties {
        BlobProperties(
            contentType: headers[.xMsBlobContentType] ?? headers[.contentType] ?? "application/octet-stream",
            contentEncoding: headers[.xMsBlobContentEncoding] ?? headers[.contentEncoding],
            contentLanguage: headers[.xMsBlobContentLanguage] ?? headers[.contentLanguage],
            contentDisposition: headers[.xMsBlobContentDisposition] ?? headers[.contentDisposition],
            cacheControl: headers[.xMsBlobCacheControl] ?? headers[.cacheControl])
    }

    /// Put Block List: only the `x-ms-blob-content-*` headers (the request's own describe the XML).
    static func blockListProperties(_ headers: HTTPFields) -> BlobProperties {
        BlobProperties(
            contentType: headers[.xMsBlobContentType] ?? "application/octet-stream",
            contentEncoding: headers[.xMsBlobContentEncoding],
            contentLanguage: headers[.xMsBlobContentLanguage],
            contentDisposition: headers[.xMsBlobContentDisposition],
            cacheControl: headers[.xMsBlobCacheControl])
    }

    /// ETag and Last-Modified.
    static func versionHeaders(etag: String, lastModified: Date) -> HTTPFields {
        [.eTag: etag, .lastModified: HTTPDate.format(lastModified)]
    }

    /// The headers of Get Blob / Get Blob Properties (without Content-Length and Content-MD5).
    static func properties(_ record: BlobRecord, overrides: SASValues?) -> HTTPFields {
        var headers = versionHeaders(etag: record.etag, lastModified: record.lastModified)
        headers[.acceptRanges] = "bytes"
        headers[.xMsBlobType] = "BlockBlob"
        headers[.xMsCreationTime] = HTTPDate.format(record.created)
        headers[.xMsLeaseState] = "available"
        headers[.xMsLeaseStatus] = "unlocked"
        headers[.xMsServerEncrypted] = "true"
        let properties = record.properties
        if let value = overrides?.contentType ?? properties.contentType { headers[.contentType] = value }
        if let value = overrides?.contentEncoding ?? properties.contentEncoding { headers[.contentEncoding] = value }
        if let value = overrides?.contentLanguage ?? properties.contentLanguage { headers[.contentLanguage] = value }
        if let value = overrides?.contentDisposition ?? properties.contentDisposition { headers[.contentDisposition] = value }
        if let value = overrides?.cacheControl ?? properties.cacheControl { headers[.cacheControl] = value }
        if let copy = record.copy {
            headers[.xMsCopyID] = copy.id
            headers[.xMsCopySource] = copy.source
            headers[.xMsCopyStatus] = "success"
            headers[.xMsCopyProgress] = copy.progress
            headers[.xMsCopyCompletionTime] = HTTPDate.format(copy.completed)
        }
        Metadata.add(record.metadata, to: &headers)
        return headers
    }

    /// Set Blob Properties: every `x-ms-blob-*` content header replaces the stored one; one not sent
    /// is cleared (Content-Type falls back to `application/octet-stream`), as the Set Blob Properties
    /// reference describes for each of these headers.
    static func setProperties(_ headers: HTTPFields) -> BlobProperties {
        blockListProperties(headers)
    }
}

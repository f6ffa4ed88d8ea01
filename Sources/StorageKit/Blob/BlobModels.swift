import Foundation

/// Conditions on a blob operation (`If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`).
public struct BlobConditions: Sendable, Equatable {
    /// Only if the blob's ETag is this one (quoted, as returned), or `*` for "exists".
    public var ifMatch: String?
    /// Only if the ETag differs, or `*` for "does not exist" (create-only writes).
    public var ifNoneMatch: String?
    /// Only if modified after this date.
    public var ifModifiedSince: Date?
    /// Only if not modified after this date.
    public var ifUnmodifiedSince: Date?

    /// Creates conditions.
    public init(ifMatch: String? = nil, ifNoneMatch: String? = nil, ifModifiedSince: Date? = nil, ifUnmodifiedSince: Date? = nil) {
        self.ifMatch = ifMatch
        self.ifNoneMatch = ifNoneMatch
        self.ifModifiedSince = ifModifiedSince
        self.ifUnmodifiedSince = ifUnmodifiedSince
    }

    /// No conditions.
    public static let none = BlobConditions()
    /// Create-only: fail with `BlobAlreadyExists` when the blob exists.
    public static let createOnly = BlobConditions(ifNoneMatch: "*")
}

/// Properties to store with an uploaded blob.
public struct BlobUploadOptions: Sendable {
    /// The blob's `Content-Type`.
    public var contentType: String?
    /// The blob's `Content-Disposition`.
    public var contentDisposition: String?
    /// The blob's `Cache-Control`.
    public var cacheControl: String?
    /// User metadata (names must be C# identifiers).
    public var metadata: [String: String]
    /// Conditions on the final write.
    public var conditions: BlobConditions

    /// Creates options.
    public init(
        contentType: String? = nil, contentDisposition: String? = nil, cacheControl: String? = nil,
        metadata: [String: String] = [:], conditions: BlobConditions = .none
    ) {
        self.contentType = contentType
        self.contentDisposition = contentDisposition
        self.cacheControl = cacheControl
        self.metadata = metadata
        self.conditions = conditions
    }
}

/// What an upload committed.
public struct BlobUploadResult: Sendable, Equatable {
    /// The new ETag (quoted).
    public var etag: String
    /// The blob's size in bytes.
    public var bytes: Int
    /// The MD5 of the whole content, computed on the way.
    public var md5: Data
    /// Blocks staged (0 for a single Put Blob).
    public var blockCount: Int

    /// The MD5 as base64, as Azure shows it.
    public var md5Base64: String { md5.base64EncodedString() }
}

/// A blob's system properties and metadata.
public struct BlobProperties: Sendable, Equatable {
    /// Size in bytes.
    public var contentLength: Int
    /// `Content-Type`.
    public var contentType: String?
    /// `Content-Disposition`.
    public var contentDisposition: String?
    /// The ETag (quoted).
    public var etag: String
    /// `Last-Modified`.
    public var lastModified: Date?
    /// The stored whole-blob MD5 (base64), if any.
    public var contentMD5: String?
    /// User metadata.
    public var metadata: [String: String]
    /// `Content-Encoding`, `Content-Language` and `Cache-Control` as stored.
    public var contentEncoding: String? = nil
    public var contentLanguage: String? = nil
    public var cacheControl: String? = nil
    /// `x-ms-copy-id` and `x-ms-copy-status` when Copy Blob wrote this version.
    public var copyID: String? = nil
    public var copyStatus: String? = nil

    /// Creates properties.
    public init(
        contentLength: Int, contentType: String? = nil, contentDisposition: String? = nil, etag: String,
        lastModified: Date? = nil, contentMD5: String? = nil, metadata: [String: String] = [:]
    ) {
        self.contentLength = contentLength
        self.contentType = contentType
        self.contentDisposition = contentDisposition
        self.etag = etag
        self.lastModified = lastModified
        self.contentMD5 = contentMD5
        self.metadata = metadata
    }
}

/// One entry of a blob listing.
public struct BlobItem: Sendable, Equatable {
    /// The blob name.
    public var name: String
    /// Its properties (metadata only when the listing asked for it).
    public var properties: BlobProperties
}

/// One page of a blob listing.
public struct BlobListPage: Sendable, Equatable {
    /// The blobs on this page.
    public var blobs: [BlobItem]
    /// "Directory" prefixes, when listing with a delimiter.
    public var prefixes: [String]
    /// Pass back as `marker` for the next page; `nil` at the end.
    public var nextMarker: String?
}

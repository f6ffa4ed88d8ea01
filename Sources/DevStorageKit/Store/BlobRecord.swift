import Foundation

/// A committed block blob as stored in its JSON sidecar. The sidecar's atomic rename is the commit
/// point: the data file it names is always complete and durable before the sidecar is written.
struct BlobRecord: Codable, Sendable, Equatable {
    /// The blob name (decoded, any UTF-8, `/` allowed).
    var name: String
    /// File name of the data in the container's `data` directory.
    var dataFile: String
    /// Size in bytes.
    var size: Int64
    /// Content headers stored with the blob.
    var properties: BlobProperties
    /// Base64 MD5 of the whole blob, if known (always for Put Blob; Put Block List only when sent).
    var contentMD5: String?
    /// `x-ms-meta-*` values, names with their case as sent.
    var metadata: [String: String]
    /// Quoted ETag.
    var etag: String
    /// Creation time.
    var created: Date
    /// Last write time (data, properties or metadata).
    var lastModified: Date
    /// The committed block list, as ranges of the data file (empty for Put Blob).
    var committedBlocks: [CommittedBlock]
}

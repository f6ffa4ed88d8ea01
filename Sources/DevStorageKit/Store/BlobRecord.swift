import Foundation

/// A committed block blob as stored in its JSON sidecar. The sidecar's atomic rename is the commit
/// point: the data files it names are always complete and durable before the sidecar is written.
///
/// A blob's bytes are the concatenation of its `segments`: one whole file for Put Blob; for Put
/// Block List one segment per listed block, each a block file hard-linked into the data directory
/// (never copied) or a segment re-used from the blob's previous version.
struct BlobRecord: Codable, Sendable, Equatable {
    /// The blob name (decoded, any UTF-8, `/` allowed).
    var name: String
    /// The byte ranges of data files that make up the blob, in order.
    var segments: [BlobSegment]
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
    /// The committed block list (Put Block List); `committedBlocks[i]` is stored in `segments[i]`.
    /// Empty for Put Blob.
    var committedBlocks: [CommittedBlock]
    /// The Copy Blob that wrote this version, if any (cleared by the next Put Blob / Put Block List).
    var copy: BlobCopyState? = nil
    /// The tier set with Set Blob Tier (nil: inferred Hot).
    var accessTier: String? = nil
    /// When the tier was last set.
    var accessTierChanged: Date? = nil

    /// The data file names this record refers to.
    var files: Set<String> { Set(segments.map(\.file)) }
}

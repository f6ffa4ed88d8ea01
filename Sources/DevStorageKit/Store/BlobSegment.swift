/// A byte range of a data file in a container's `data` directory. Data files are written once and
/// never modified, so segments can be shared between a blob's versions.
struct BlobSegment: Codable, Sendable, Equatable {
    /// File name in the container's `data` directory.
    var file: String
    /// Where the range starts.
    var offset: Int64
    /// How many bytes.
    var length: Int64
}

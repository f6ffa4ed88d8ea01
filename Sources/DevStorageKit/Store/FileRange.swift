/// A byte range of a file: a source for assembling a blob from blocks.
struct FileRange: Sendable, Equatable {
    /// The file.
    var path: String
    /// Where the range starts.
    var offset: Int64
    /// How many bytes.
    var length: Int64
}

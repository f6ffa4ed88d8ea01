/// An uncommitted block: a file in the blob's staging directory.
struct StagedBlock: Sendable, Equatable {
    /// Full path of the block file.
    var path: String
    /// Size in bytes.
    var size: Int64
    /// Staging order; the newest upload of an id wins.
    var sequence: UInt64
}

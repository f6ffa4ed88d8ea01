/// One committed block: its id and where its bytes sit in the blob's data file.
struct CommittedBlock: Codable, Sendable, Equatable {
    /// The base64 block id as the client sent it.
    var id: String
    /// Offset in the data file.
    var offset: Int64
    /// Size in bytes.
    var size: Int64
}

/// One committed block: its id and size (its bytes are the segment at the same index).
struct CommittedBlock: Codable, Sendable, Equatable {
    /// The base64 block id as the client sent it.
    var id: String
    /// Size in bytes.
    var size: Int64
}

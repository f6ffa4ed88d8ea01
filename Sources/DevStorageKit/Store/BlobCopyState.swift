import Foundation

/// The copy properties of a blob written by Copy Blob. devstorage copies within the account
/// synchronously, so the status is always `success` and the progress `size/size`.
struct BlobCopyState: Codable, Sendable, Equatable {
    /// `x-ms-copy-id`: a GUID naming the copy (Abort Copy must quote it).
    var id: String
    /// `x-ms-copy-source`: the source URL as the client sent it.
    var source: String
    /// `x-ms-copy-progress`: `copied/total` bytes.
    var progress: String
    /// `x-ms-copy-completion-time`.
    var completed: Date
}

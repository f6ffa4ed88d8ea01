import Foundation
import QueueKit

/// The state of one resumable upload (tus or the IETF draft: both speak to the same state), kept
/// in storage as a small JSON blob beside the staged blocks of its target blob, and replaced only
/// under an ETag condition (`ResumableStore`). Any replica can continue an upload from it.
struct ResumableUpload: Codable, Sendable, Equatable {
    /// Where the upload is.
    enum Phase: String, Codable, Sendable {
        /// Receiving bytes.
        case receiving
        /// Every byte is staged; the blob is being committed and the job published.
        case committing
        /// The job is published (`jobId` is queued).
        case done
    }

    /// The upload's id in its URL (`/files/{id}`): 32 random hex digits.
    var id: String
    /// The tenant that created it; every other tenant gets 404.
    var tenant: String
    /// The job the upload becomes (its id is fixed at creation; queued only at the end).
    var jobId: String
    /// The target blob in `rawfiles`: dated, named by the job id, without an extension (the name is
    /// fixed before the first byte is seen; the processor reads the type from the content).
    var blob: String
    /// The whole length, or nil while deferred (tus `Upload-Defer-Length`, draft uploads before their
    /// last request).
    var length: Int?
    /// Bytes received and staged.
    var offset = 0
    /// The staged blocks in order: committed with Put Block List on the last byte.
    var blockIDs: [String] = []
    /// The running MD5 of the bytes so far.
    var md5 = ResumableMD5()
    /// The first `MediaType.sniffLength` bytes (fewer while not yet received): the type is decided
    /// from them as soon as they are in, so a file that is no media is refused early.
    var head = Data()
    /// The sniffed MIME type, once `head` is complete.
    var mediaType: String?
    /// The user's file name (tus `filename` / `name` metadata), sanitised.
    var originalName: String?
    var traceId: String
    var createdAt: Date
    /// After this, the upload is refused (410) and its staged blocks are left to Azure, which
    /// removes uncommitted blocks after 7 days.
    var expiresAt: Date
    var updatedAt: Date
    var phase = Phase.receiving

    /// Bytes still allowed: up to the declared length, or up to the size limit while deferred.
    func remaining(maxBytes: Int) -> Int { (length ?? maxBytes) - offset }

    /// Whether every byte has arrived.
    var isComplete: Bool { length == offset }

    /// `2026/11/27/{jobId}`.
    static func blobName(jobId: String, date: Date) -> String {
        let dated = Ingest.blobName(jobId: jobId, fileExtension: "x", date: date)
        return String(dated.dropLast(2))
    }

    /// 32 random hex digits.
    static func newID() -> String { UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") }

    /// Whether `id` can be an upload id (anything else is 404 without a storage read).
    static func isValidID(_ id: Substring) -> Bool { id.count == 32 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase } }
}

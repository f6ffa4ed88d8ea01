import Foundation
import NIOCore
import NIOFoundationCompat
import QueueKit

/// One direct-to-Blob upload: granted by `POST /uploads`, finished by `POST /uploads/{jobId}/complete`.
/// Its state document lives at `jobstatus/_direct/{tenant}/{jobId}.json` (tenant names start with a
/// letter or digit, so the prefix is no tenant's and "my jobs" listings never see it) and changes
/// only under an ETag condition, which is what makes completion idempotent across requests and
/// replicas: exactly one request moves it from `awaitingUpload` to `completing`.
struct DirectUpload: Codable, Sendable, Equatable {
    enum State: String, Codable, Sendable {
        /// The SAS URL was handed out; nothing was verified yet.
        case awaitingUpload
        /// A completion request claimed it (at `claimedAt`) and is verifying and enqueueing.
        case completing
        /// Verified; the status document and the job message are written.
        case queued
        /// Verification refused the blob (deleted); the job's status document says why.
        case failed
    }

    var jobId: String
    var tenant: String
    var container: String
    var blob: String
    /// The largest blob the completion accepts.
    var maxBytes: Int
    var originalName: String?
    var traceId: String
    var state: State
    var createdAt: Date
    /// When the SAS URL stops working.
    var expiresAt: Date
    var claimedAt: Date?
    /// Set once queued.
    var bytes: Int?
    var mediaType: String?
    var md5: String?
    /// Set once failed.
    var failure: JobStatus.Failure?

    static let prefix = "_direct/"

    static func documentName(tenant: String, jobId: String) -> String { "\(prefix)\(tenant)/\(jobId).json" }

    var documentName: String { Self.documentName(tenant: tenant, jobId: jobId) }

    /// A claim older than this is taken to belong to a request (or replica) that died.
    static let claimTimeout: TimeInterval = 120

    func json() throws -> ByteBuffer { ByteBuffer(data: try JobCoding.encoder().encode(self)) }

    static func decode(_ buffer: ByteBuffer) throws -> DirectUpload { try JobCoding.decoder().decode(DirectUpload.self, from: Data(buffer: buffer)) }
}

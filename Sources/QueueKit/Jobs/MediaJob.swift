import Foundation

/// A reference to an input blob: where it is and what it holds. Messages carry references, never bytes.
public struct BlobReference: Codable, Sendable, Equatable {
    /// The container (normally `rawfiles`).
    public var container: String
    /// The blob name.
    public var blob: String
    /// Size in bytes.
    public var bytes: Int
    /// The media type detected from magic bytes (e.g. `image/jpeg`).
    public var mediaType: String
    /// Base64 MD5 of the content.
    public var md5: String

    /// Creates a reference.
    public init(container: String, blob: String, bytes: Int, mediaType: String, md5: String) {
        self.container = container
        self.blob = blob
        self.bytes = bytes
        self.mediaType = mediaType
        self.md5 = md5
    }
}

/// The job message the uploader puts on `jobqueue` and the processor consumes. Versioned: a
/// reader refuses a version it does not know and ignores fields it does not know.
public struct MediaJob: Codable, Sendable, Equatable {
    /// The contract version this code writes.
    public static let currentVersion = 1

    /// Contract version.
    public var version: Int
    /// The job id (lowercase UUID).
    public var jobId: String
    /// The input blob.
    public var input: BlobReference
    /// The user's file name, sanitised and length-capped (metadata only, never a blob name).
    public var originalName: String?
    /// When the upload was accepted.
    public var submittedAt: Date
    /// The trace id that follows the job through both daemons' logs.
    public var traceId: String
    /// The tenant that uploaded it (`Tenant`); absent for jobs from before tenants. It decides
    /// where the status document lives and who may read it.
    public var tenant: String?

    /// Creates a job.
    public init(
        jobId: String = MediaJob.newJobId(), input: BlobReference, originalName: String? = nil, submittedAt: Date = Date(),
        traceId: String = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""), tenant: String? = nil
    ) {
        self.version = Self.currentVersion
        self.jobId = jobId
        self.input = input
        self.originalName = originalName
        self.submittedAt = submittedAt.jobPrecision
        self.traceId = traceId
        self.tenant = tenant
    }

    /// The decoding failure for a message this code cannot read.
    public struct UnsupportedVersion: Error, Sendable, Equatable {
        /// The version found.
        public let version: Int
        /// Creates the error.
        public init(version: Int) { self.version = version }
    }

    enum CodingKeys: String, CodingKey { case version, jobId, input, originalName, submittedAt, traceId, tenant }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let version = try container.decode(Int.self, forKey: .version)
        guard version == Self.currentVersion else { throw UnsupportedVersion(version: version) }
        self.version = version
        self.jobId = try container.decode(String.self, forKey: .jobId)
        self.input = try container.decode(BlobReference.self, forKey: .input)
        self.originalName = try container.decodeIfPresent(String.self, forKey: .originalName)
        self.submittedAt = try container.decode(Date.self, forKey: .submittedAt)
        self.traceId = try container.decode(String.self, forKey: .traceId)
        self.tenant = try container.decodeIfPresent(String.self, forKey: .tenant)
        if let tenant, !Tenant.isValid(tenant) {
            throw DecodingError.dataCorruptedError(forKey: .tenant, in: container, debugDescription: "not a tenant name")
        }
    }

    /// The queue message text: base64 of the JSON.
    public func messageText() throws -> String { try JobCoding.messageText(self) }

    /// Reads a job from queue message text (base64 JSON or plain JSON).
    public static func decode(messageText: String) throws -> MediaJob {
        try JobCoding.decoder().decode(MediaJob.self, from: JobCoding.json(fromMessageText: messageText))
    }
}

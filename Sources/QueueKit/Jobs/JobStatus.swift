import Foundation

/// The job status document (`jobstatus/{tenant}/{jobId}.json`, `documentName`): written `queued` by the uploader, then
/// `processing`, and last `succeeded` or `failed` by the processor. Written last, it is what marks a
/// job done.
public struct JobStatus: Codable, Sendable, Equatable {
    /// Where a job is.
    public enum State: String, Codable, Sendable { case queued, processing, succeeded, failed }

    /// One processed output.
    public struct Output: Codable, Sendable, Equatable {
        public var name: String
        public var contentType: String
        public var bytes: Int
        public var width: Int?
        public var height: Int?
        public var durationSeconds: Double?
        public var container: String?
        public var blob: String?
        public var url: String?

        /// Creates an output entry.
        public init(name: String, contentType: String, bytes: Int, width: Int? = nil, height: Int? = nil, durationSeconds: Double? = nil, container: String? = nil, blob: String? = nil, url: String? = nil) {
            self.name = name
            self.contentType = contentType
            self.bytes = bytes
            self.width = width
            self.height = height
            self.durationSeconds = durationSeconds
            self.container = container
            self.blob = blob
            self.url = url
        }
    }

    /// Why a job failed.
    public struct Failure: Codable, Sendable, Equatable {
        /// A stable code, e.g. `unsupported`, `corrupt`, `pixelLimit`, `maxDeliveries`.
        public var code: String
        /// A sentence for people.
        public var reason: String

        /// Creates a failure.
        public init(code: String, reason: String) {
            self.code = code
            self.reason = reason
        }
    }

    /// What a source video is (set by the processor for videos).
    public struct SourceMedia: Codable, Sendable, Equatable {
        public var container: String?
        public var durationSeconds: Double?
        public var width: Int?
        public var height: Int?
        public var videoCodec: String?
        public var audioCodec: String?
        public var bitRate: Int?
        public var frameRate: Double?
        public var rotation: Int?

        /// Creates a description.
        public init(
            container: String? = nil, durationSeconds: Double? = nil, width: Int? = nil, height: Int? = nil, videoCodec: String? = nil,
            audioCodec: String? = nil, bitRate: Int? = nil, frameRate: Double? = nil, rotation: Int? = nil
        ) {
            self.container = container
            self.durationSeconds = durationSeconds
            self.width = width
            self.height = height
            self.videoCodec = videoCodec
            self.audioCodec = audioCodec
            self.bitRate = bitRate
            self.frameRate = frameRate
            self.rotation = rotation
        }

        enum CodingKeys: String, CodingKey { case container, durationSeconds, width, height, videoCodec, audioCodec, bitRate, frameRate, rotation }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(container, forKey: .container)
            try c.encodeIfPresent(durationSeconds, forKey: .durationSeconds)
            try c.encodeIfPresent(width, forKey: .width)
            try c.encodeIfPresent(height, forKey: .height)
            try c.encodeIfPresent(videoCodec, forKey: .videoCodec)
            try c.encode(audioCodec, forKey: .audioCodec)  // null: the source has no audio
            try c.encodeIfPresent(bitRate, forKey: .bitRate)
            try c.encodeIfPresent(frameRate, forKey: .frameRate)
            try c.encodeIfPresent(rotation, forKey: .rotation)
        }
    }

    public var jobId: String
    /// The tenant the job belongs to (absent for jobs from before tenants).
    public var tenant: String?
    /// The uploaded file's (sanitised) name, when it had one.
    public var originalName: String?
    /// The job's trace id (32 hex digits: the upload's W3C `traceparent` trace id, or a new one),
    /// as it appears in both daemons' logs (`trace.id`) and the webhook's `traceparent`.
    public var traceId: String?
    public var status: State
    public var input: BlobReference
    public var outputs: [Output]
    /// `null` unless failed.
    public var error: Failure?
    /// Stage name → seconds (`upload`, `queueWait`, `download`, `decode`, `encode`, `total`, …).
    public var timings: [String: Double]
    /// Deliveries so far.
    public var attempts: Int
    /// When the first delivery started processing (the retry policy's age of the job); absent
    /// until then, and reset when an operator replays the job.
    public var firstAttemptAt: Date?
    /// The source video, for videos.
    public var media: SourceMedia?
    /// Bytes of the main output / bytes of the input, when done.
    public var compressionRatio: Double?
    public var createdAt: Date
    public var updatedAt: Date

    /// The `queued` document for a new job.
    public init(queued job: MediaJob, timings: [String: Double] = [:], now: Date = Date()) {
        self.jobId = job.jobId
        self.tenant = job.tenant
        self.originalName = job.originalName
        self.traceId = job.traceId
        self.status = .queued
        self.input = job.input
        self.outputs = []
        self.error = nil
        self.timings = timings
        self.attempts = 0
        self.createdAt = job.submittedAt
        self.updatedAt = now.jobPrecision
    }

    enum CodingKeys: String, CodingKey { case jobId, tenant, originalName, traceId, status, input, outputs, error, timings, attempts, firstAttemptAt, media, compressionRatio, createdAt, updatedAt }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(jobId, forKey: .jobId)
        try container.encodeIfPresent(tenant, forKey: .tenant)
        try container.encodeIfPresent(originalName, forKey: .originalName)
        try container.encodeIfPresent(traceId, forKey: .traceId)
        try container.encode(status, forKey: .status)
        try container.encode(input, forKey: .input)
        try container.encode(outputs, forKey: .outputs)
        try container.encode(error, forKey: .error)  // explicit null
        try container.encode(timings, forKey: .timings)
        try container.encode(attempts, forKey: .attempts)
        try container.encodeIfPresent(firstAttemptAt, forKey: .firstAttemptAt)
        try container.encodeIfPresent(media, forKey: .media)
        try container.encodeIfPresent(compressionRatio, forKey: .compressionRatio)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }

    /// Now processing (attempt `attempt`).
    public func processing(attempt: Int, now: Date = Date()) -> JobStatus {
        var next = self
        next.status = .processing
        next.attempts = attempt
        next.firstAttemptAt = firstAttemptAt ?? now.jobPrecision
        next.updatedAt = now.jobPrecision
        return next
    }

    /// Done, with its outputs.
    public func succeeded(outputs: [Output], timings: [String: Double], now: Date = Date()) -> JobStatus {
        var next = self
        next.status = .succeeded
        next.outputs = outputs
        next.error = nil
        next.timings.merge(timings) { $1 }
        next.updatedAt = now.jobPrecision
        return next
    }

    /// Given up, with the reason.
    public func failed(code: String, reason: String, now: Date = Date()) -> JobStatus {
        var next = self
        next.status = .failed
        next.error = Failure(code: code, reason: reason)
        next.updatedAt = now.jobPrecision
        return next
    }

    /// The document as JSON.
    public func json() throws -> Data { try JobCoding.encoder().encode(self) }

    /// Reads a document.
    public static func decode(_ data: Data) throws -> JobStatus { try JobCoding.decoder().decode(JobStatus.self, from: data) }
}

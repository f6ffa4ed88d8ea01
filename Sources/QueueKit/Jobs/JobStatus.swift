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
        /// The picture's ThumbHash (base64), on outputs that are a picture of the source (`image.webp`,
        /// `image.avif`, `image.jpg`, `thumb.webp`, `poster.webp`): what a client paints before the image arrives.
        public var thumbHash: String?
        /// The picture's average colour, `#rrggbb`, beside `thumbHash`.
        public var averageColor: String?

        /// Creates an output entry.
        public init(
            name: String, contentType: String, bytes: Int, width: Int? = nil, height: Int? = nil, durationSeconds: Double? = nil, container: String? = nil,
            blob: String? = nil, url: String? = nil, thumbHash: String? = nil, averageColor: String? = nil
        ) {
            self.name = name
            self.contentType = contentType
            self.bytes = bytes
            self.width = width
            self.height = height
            self.durationSeconds = durationSeconds
            self.container = container
            self.blob = blob
            self.url = url
            self.thumbHash = thumbHash
            self.averageColor = averageColor
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

    /// What the source is (set by the processor when a job succeeds: videos and images). Fields that do
    /// not apply to a kind of source are absent (`audioCodec` alone is `null` when there is no audio).
    public struct SourceMedia: Codable, Sendable, Equatable {
        /// Videos: the container (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, …).
        public var container: String?
        public var durationSeconds: Double?
        /// Displayed size (images: after the EXIF orientation; videos: as coded).
        public var width: Int?
        public var height: Int?
        public var videoCodec: String?
        public var audioCodec: String?
        /// Bits per second of the whole file.
        public var bitRate: Int?
        public var frameRate: Double?
        /// Videos: clockwise degrees of the display matrix, applied to the pixels.
        public var rotation: Int?
        /// Images: `jpeg`, `png`, `webp`, `gif` or `heif`.
        public var format: String?
        /// Images: the EXIF orientation (1…8), and whether the pixels were turned or mirrored for it.
        public var orientation: Int?
        public var orientationApplied: Bool?
        /// Images: the embedded ICC profile's description or `sRGB`; videos: the stream's matrix (`bt709`, `bt2020nc`, …).
        public var colorSpace: String?
        /// Images: true when the pixels were converted from the embedded profile to sRGB.
        public var iccConverted: Bool?
        /// Videos: `pq`, `hlg` or `none` (SDR).
        public var hdrTransfer: String?
        /// Videos: true when an HDR source was tone-mapped to SDR.
        public var toneMapped: Bool?
        /// Bits per sample of the source (images) or of the video's pixel format.
        public var bitDepth: Int?
        /// Frames: decoded video frames, or an image's (1 for a still).
        public var frameCount: Int?
        /// Videos: bits per second of the video and the audio stream.
        public var videoBitRate: Int?
        public var audioBitRate: Int?
        /// The source's audio channels and sample rate (Hz).
        public var audioChannels: Int?
        public var audioSampleRate: Int?
        /// When the picture was taken: EXIF DateTimeOriginal as ISO 8601 (with OffsetTimeOriginal when
        /// present), or a video's `creation_time`.
        public var captureTime: String?
        public var cameraMake: String?
        public var cameraModel: String?
        /// True when the source carried location data (EXIF GPS tags, a video's location tag): the
        /// outputs never carry it, and its values are never read.
        public var locationRemoved: Bool?

        /// Creates a description.
        public init(
            container: String? = nil, durationSeconds: Double? = nil, width: Int? = nil, height: Int? = nil, videoCodec: String? = nil,
            audioCodec: String? = nil, bitRate: Int? = nil, frameRate: Double? = nil, rotation: Int? = nil, format: String? = nil,
            orientation: Int? = nil, orientationApplied: Bool? = nil, colorSpace: String? = nil, iccConverted: Bool? = nil,
            hdrTransfer: String? = nil, toneMapped: Bool? = nil, bitDepth: Int? = nil, frameCount: Int? = nil, videoBitRate: Int? = nil,
            audioBitRate: Int? = nil, audioChannels: Int? = nil, audioSampleRate: Int? = nil, captureTime: String? = nil,
            cameraMake: String? = nil, cameraModel: String? = nil, locationRemoved: Bool? = nil
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
            self.format = format
            self.orientation = orientation
            self.orientationApplied = orientationApplied
            self.colorSpace = colorSpace
            self.iccConverted = iccConverted
            self.hdrTransfer = hdrTransfer
            self.toneMapped = toneMapped
            self.bitDepth = bitDepth
            self.frameCount = frameCount
            self.videoBitRate = videoBitRate
            self.audioBitRate = audioBitRate
            self.audioChannels = audioChannels
            self.audioSampleRate = audioSampleRate
            self.captureTime = captureTime
            self.cameraMake = cameraMake
            self.cameraModel = cameraModel
            self.locationRemoved = locationRemoved
        }

        enum CodingKeys: String, CodingKey {
            case container, durationSeconds, width, height, videoCodec, audioCodec, bitRate, frameRate, rotation
            case format, orientation, orientationApplied, colorSpace, iccConverted, hdrTransfer, toneMapped, bitDepth, frameCount
            case videoBitRate, audioBitRate, audioChannels, audioSampleRate, captureTime, cameraMake, cameraModel, locationRemoved
        }

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
            try c.encodeIfPresent(format, forKey: .format)
            try c.encodeIfPresent(orientation, forKey: .orientation)
            try c.encodeIfPresent(orientationApplied, forKey: .orientationApplied)
            try c.encodeIfPresent(colorSpace, forKey: .colorSpace)
            try c.encodeIfPresent(iccConverted, forKey: .iccConverted)
            try c.encodeIfPresent(hdrTransfer, forKey: .hdrTransfer)
            try c.encodeIfPresent(toneMapped, forKey: .toneMapped)
            try c.encodeIfPresent(bitDepth, forKey: .bitDepth)
            try c.encodeIfPresent(frameCount, forKey: .frameCount)
            try c.encodeIfPresent(videoBitRate, forKey: .videoBitRate)
            try c.encodeIfPresent(audioBitRate, forKey: .audioBitRate)
            try c.encodeIfPresent(audioChannels, forKey: .audioChannels)
            try c.encodeIfPresent(audioSampleRate, forKey: .audioSampleRate)
            try c.encodeIfPresent(captureTime, forKey: .captureTime)
            try c.encodeIfPresent(cameraMake, forKey: .cameraMake)
            try c.encodeIfPresent(cameraModel, forKey: .cameraModel)
            try c.encodeIfPresent(locationRemoved, forKey: .locationRemoved)
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
    /// What the source is: set when the job succeeds (videos and images).
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

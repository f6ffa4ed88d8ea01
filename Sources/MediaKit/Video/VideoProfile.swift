/// How videos are turned into web MP4s (the `video` section of the processing profile file).
/// Missing keys keep their defaults, so a profile names only what it changes.
public struct VideoProfile: Codable, Sendable, Equatable {
    /// A size tier: inputs smaller than `maxInputBytes` (nil: any size) get this box and encoder
    /// settings. The first matching tier wins.
    public struct Tier: Codable, Sendable, Equatable {
        public var maxInputBytes: Int?
        /// The box is orientation-free: the long side fits the larger of the two numbers, the short
        /// side the smaller, so portrait videos get the same treatment as landscape ones.
        public var maxWidth: Int
        public var maxHeight: Int
        /// x264 constant rate factor (0…51, lower is better).
        public var crf: Double
        /// x264 preset (`ultrafast` … `veryslow`).
        public var preset: String

        public init(maxInputBytes: Int?, maxWidth: Int, maxHeight: Int, crf: Double, preset: String) {
            self.maxInputBytes = maxInputBytes
            self.maxWidth = maxWidth
            self.maxHeight = maxHeight
            self.crf = crf
            self.preset = preset
        }
    }

    /// The audio track of every output: AAC-LC.
    public struct Audio: Codable, Sendable, Equatable {
        public var bitRate: Int
        public var sampleRate: Int
        public var channels: Int
        public init(bitRate: Int = 128_000, sampleRate: Int = 48_000, channels: Int = 2) {
            self.bitRate = bitRate
            self.sampleRate = sampleRate
            self.channels = channels
        }
        enum CodingKeys: String, CodingKey { case bitRate, sampleRate, channels }
        public init(from decoder: any Decoder) throws {
            let d = Audio()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            bitRate = try c.decodeIfPresent(Int.self, forKey: .bitRate) ?? d.bitRate
            sampleRate = try c.decodeIfPresent(Int.self, forKey: .sampleRate) ?? d.sampleRate
            channels = try c.decodeIfPresent(Int.self, forKey: .channels) ?? d.channels
        }
    }

    /// The poster frame (`poster.webp`, the output video's size).
    public struct Poster: Codable, Sendable, Equatable {
        /// Taken at this fraction of the duration…
        public var atFraction: Double
        /// …or at this many seconds when the duration is unknown.
        public var fallbackSeconds: Double
        public var quality: Float
        public init(atFraction: Double = 0.1, fallbackSeconds: Double = 1, quality: Float = 80) {
            self.atFraction = atFraction
            self.fallbackSeconds = fallbackSeconds
            self.quality = quality
        }
        enum CodingKeys: String, CodingKey { case atFraction, fallbackSeconds, quality }
        public init(from decoder: any Decoder) throws {
            let d = Poster()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            atFraction = try c.decodeIfPresent(Double.self, forKey: .atFraction) ?? d.atFraction
            fallbackSeconds = try c.decodeIfPresent(Double.self, forKey: .fallbackSeconds) ?? d.fallbackSeconds
            quality = try c.decodeIfPresent(Float.self, forKey: .quality) ?? d.quality
        }
    }

    /// Frame samples (`frames.zip`: `frame-0001.webp`, …), one every `everySeconds`.
    public struct FrameSamples: Codable, Sendable, Equatable {
        public var everySeconds: Double
        public var maxCount: Int
        /// Long side of each sample.
        public var maxSize: Int
        public var quality: Float
        public init(everySeconds: Double = 2, maxCount: Int = 30, maxSize: Int = 640, quality: Float = 75) {
            self.everySeconds = everySeconds
            self.maxCount = maxCount
            self.maxSize = maxSize
            self.quality = quality
        }
        enum CodingKeys: String, CodingKey { case everySeconds, maxCount, maxSize, quality }
        public init(from decoder: any Decoder) throws {
            let d = FrameSamples()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            everySeconds = try c.decodeIfPresent(Double.self, forKey: .everySeconds) ?? d.everySeconds
            maxCount = try c.decodeIfPresent(Int.self, forKey: .maxCount) ?? d.maxCount
            maxSize = try c.decodeIfPresent(Int.self, forKey: .maxSize) ?? d.maxSize
            quality = try c.decodeIfPresent(Float.self, forKey: .quality) ?? d.quality
        }
    }

    public var tiers: [Tier]
    /// Frames closer together than 1/maxFrameRate are dropped (timestamps are otherwise kept).
    public var maxFrameRate: Double
    public var audio: Audio
    public var poster: Poster
    /// nil: no `frames.zip`.
    public var frameSamples: FrameSamples?
    /// `storyboard.webp` + `storyboard.vtt` (on by default).
    public var storyboard: Storyboard
    /// Codec threads per job (decoder and x264); 0 lets each library pick from the core count.
    public var threads: Int
    /// The HLS ladder (`hls/`; off by default).
    public var hls: HLS

    /// The original design: under 10 MB keep the resolution up to 1080p at CRF 23; 10–50 MB fit
    /// 854×480 at CRF 25; larger files fit 1280×720 at CRF 27 with the `fast` preset.
    public static let standardTiers: [Tier] = [
        .init(maxInputBytes: 10 << 20, maxWidth: 1920, maxHeight: 1080, crf: 23, preset: "medium"),
        .init(maxInputBytes: 50 << 20, maxWidth: 854, maxHeight: 480, crf: 25, preset: "medium"),
        .init(maxInputBytes: nil, maxWidth: 1280, maxHeight: 720, crf: 27, preset: "fast"),
    ]

    public init(
        tiers: [Tier] = VideoProfile.standardTiers, maxFrameRate: Double = 60, audio: Audio = .init(), poster: Poster = .init(),
        frameSamples: FrameSamples? = nil, storyboard: Storyboard = .init(), threads: Int = 0, hls: HLS = .off
    ) {
        self.tiers = tiers
        self.maxFrameRate = maxFrameRate
        self.audio = audio
        self.poster = poster
        self.frameSamples = frameSamples
        self.storyboard = storyboard
        self.threads = threads
        self.hls = hls
    }

    enum CodingKeys: String, CodingKey { case tiers, maxFrameRate, audio, poster, frameSamples, storyboard, threads, hls }

    public init(from decoder: any Decoder) throws {
        let d = VideoProfile()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tiers = try c.decodeIfPresent([Tier].self, forKey: .tiers) ?? d.tiers
        maxFrameRate = try c.decodeIfPresent(Double.self, forKey: .maxFrameRate) ?? d.maxFrameRate
        audio = try c.decodeIfPresent(Audio.self, forKey: .audio) ?? d.audio
        poster = try c.decodeIfPresent(Poster.self, forKey: .poster) ?? d.poster
        frameSamples = try c.decodeIfPresent(FrameSamples.self, forKey: .frameSamples)
        // Absent: the default (on); an explicit null: off.
        if c.contains(.storyboard), try c.decodeNil(forKey: .storyboard) {
            storyboard = .off
        } else {
            storyboard = try c.decodeIfPresent(Storyboard.self, forKey: .storyboard) ?? d.storyboard
        }
        threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? d.threads
        // Absent or null: off.
        hls = try c.decodeIfPresent(HLS.self, forKey: .hls) ?? d.hls
    }

    /// The tier for an input of `inputBytes`.
    public func tier(forInputBytes inputBytes: Int) -> Tier {
        tiers.first { $0.maxInputBytes.map { inputBytes < $0 } ?? true } ?? tiers.last ?? VideoProfile.standardTiers[0]
    }

    /// `width`×`height` fitted inside the orientation-free box, never enlarged, both even (≥ 2).
    public static func fit(width: Int, height: Int, box: (width: Int, height: Int)) -> (width: Int, height: Int) {
        let long = max(box.width, box.height)
        let short = min(box.width, box.height)
        let (boxW, boxH) = width >= height ? (long, short) : (short, long)
        let fitted = ImageProfile.fit(width: width, height: height, box: (boxW, boxH))
        return (max(2, fitted.width & ~1), max(2, fitted.height & ~1))
    }
}

/// Limits a video is checked against before and while it is decoded.
public struct VideoLimits: Codable, Sendable, Equatable {
    /// Streams in the container (FFmpeg's `max_streams`).
    public var maxStreams: Int
    /// Pixels per frame (checked from the header and by the decoder's `max_pixels`). Default 8K.
    public var maxPixels: Int
    /// Media duration, from the header and while decoding.
    public var maxDurationSeconds: Double
    /// Wall-clock time one job may take.
    public var maxJobSeconds: Double
    /// Bytes and seconds FFmpeg may read to identify the streams.
    public var probeSizeBytes: Int
    public var analyzeDurationSeconds: Double

    public init(
        maxStreams: Int = 16, maxPixels: Int = 8192 * 4320, maxDurationSeconds: Double = 4 * 3600, maxJobSeconds: Double = 3600,
        probeSizeBytes: Int = 5_000_000, analyzeDurationSeconds: Double = 10
    ) {
        self.maxStreams = maxStreams
        self.maxPixels = maxPixels
        self.maxDurationSeconds = maxDurationSeconds
        self.maxJobSeconds = maxJobSeconds
        self.probeSizeBytes = probeSizeBytes
        self.analyzeDurationSeconds = analyzeDurationSeconds
    }

    enum CodingKeys: String, CodingKey { case maxStreams, maxPixels, maxDurationSeconds, maxJobSeconds, probeSizeBytes, analyzeDurationSeconds }

    public init(from decoder: any Decoder) throws {
        let d = VideoLimits()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxStreams = try c.decodeIfPresent(Int.self, forKey: .maxStreams) ?? d.maxStreams
        maxPixels = try c.decodeIfPresent(Int.self, forKey: .maxPixels) ?? d.maxPixels
        maxDurationSeconds = try c.decodeIfPresent(Double.self, forKey: .maxDurationSeconds) ?? d.maxDurationSeconds
        maxJobSeconds = try c.decodeIfPresent(Double.self, forKey: .maxJobSeconds) ?? d.maxJobSeconds
        probeSizeBytes = try c.decodeIfPresent(Int.self, forKey: .probeSizeBytes) ?? d.probeSizeBytes
        analyzeDurationSeconds = try c.decodeIfPresent(Double.self, forKey: .analyzeDurationSeconds) ?? d.analyzeDurationSeconds
    }
}

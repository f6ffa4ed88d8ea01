/// How images are turned into web media (part of the processing profile file).
public struct ImageProfile: Codable, Sendable, Equatable {
    /// WebP output settings: quality and method, and libwebp's other lossy-encoder parameters
    /// (`WebPConfig`). Every key is optional; the defaults are libwebp's own (`WebPConfigInit`) and
    /// give the same bytes as before these keys existed. `bench/webp-search.sh` searches them.
    public struct WebP: Codable, Sendable, Equatable {
        /// 0…100.
        public var quality: Float
        /// 0 (fast) … 6 (small).
        public var method: Int
        /// Spatial noise shaping (`sns_strength`): 0 (off) … 100.
        public var sns: Int
        /// Loop-filter strength (`filter_strength`): 0 (off) … 100.
        public var filterStrength: Int
        /// Loop-filter sharpness (`filter_sharpness`): 0 (off) … 7 (least sharp).
        public var filterSharpness: Int
        /// Maximum number of segments: 1…4.
        public var segments: Int
        /// log2 of the number of token partitions: 0…3 (methods 0…2 only: from method 3 on libwebp
        /// buffers the tokens and writes one partition).
        public var partitions: Int
        /// Entropy-analysis passes: 1…10 (methods 0…2 only, as `partitions`).
        public var pass: Int
        /// libwebp's preprocessing bits, 0…7: 1 segment smoothing, 2 pseudo-random dithering,
        /// 4 sharp RGB→YUV (as `sharpYUV`).
        public var preprocessing: Int
        /// Sharp (slower) RGB→YUV conversion (`use_sharp_yuv`).
        public var sharpYUV: Bool
        /// 0 or 1: 1 lets libwebp run its analysis pass (and alpha) on a second thread; the bytes do not change.
        public var threadLevel: Int

        public init(
            quality: Float = 85, method: Int = 4, sns: Int = 50, filterStrength: Int = 60, filterSharpness: Int = 0, segments: Int = 4,
            partitions: Int = 0, pass: Int = 1, preprocessing: Int = 0, sharpYUV: Bool = false, threadLevel: Int = 1
        ) {
            self.quality = quality
            self.method = method
            self.sns = sns
            self.filterStrength = filterStrength
            self.filterSharpness = filterSharpness
            self.segments = segments
            self.partitions = partitions
            self.pass = pass
            self.preprocessing = preprocessing
            self.sharpYUV = sharpYUV
            self.threadLevel = threadLevel
        }

        enum CodingKeys: String, CodingKey {
            case quality, method, sns, filterStrength, filterSharpness, segments, partitions, pass, preprocessing, sharpYUV, threadLevel
        }

        public init(from decoder: any Decoder) throws {
            let d = WebP()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            quality = try c.decodeIfPresent(Float.self, forKey: .quality) ?? d.quality
            method = try c.decodeIfPresent(Int.self, forKey: .method) ?? d.method
            sns = try c.decodeIfPresent(Int.self, forKey: .sns) ?? d.sns
            filterStrength = try c.decodeIfPresent(Int.self, forKey: .filterStrength) ?? d.filterStrength
            filterSharpness = try c.decodeIfPresent(Int.self, forKey: .filterSharpness) ?? d.filterSharpness
            segments = try c.decodeIfPresent(Int.self, forKey: .segments) ?? d.segments
            partitions = try c.decodeIfPresent(Int.self, forKey: .partitions) ?? d.partitions
            pass = try c.decodeIfPresent(Int.self, forKey: .pass) ?? d.pass
            preprocessing = try c.decodeIfPresent(Int.self, forKey: .preprocessing) ?? d.preprocessing
            sharpYUV = try c.decodeIfPresent(Bool.self, forKey: .sharpYUV) ?? d.sharpYUV
            threadLevel = try c.decodeIfPresent(Int.self, forKey: .threadLevel) ?? d.threadLevel
            guard quality.isFinite, (0...100).contains(quality) else {
                throw DecodingError.dataCorruptedError(forKey: .quality, in: c, debugDescription: "webp.quality must be 0…100, not \(quality)")
            }
            let ranges: [(CodingKeys, Int, ClosedRange<Int>)] = [
                (.method, method, 0...6), (.sns, sns, 0...100), (.filterStrength, filterStrength, 0...100),
                (.filterSharpness, filterSharpness, 0...7), (.segments, segments, 1...4), (.partitions, partitions, 0...3),
                (.pass, pass, 1...10), (.preprocessing, preprocessing, 0...7), (.threadLevel, threadLevel, 0...1),
            ]
            for (key, value, range) in ranges where !range.contains(value) {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c, debugDescription: "webp.\(key.stringValue) must be \(range.lowerBound)…\(range.upperBound), not \(value)")
            }
        }
    }

    /// The AVIF rendition (`image.avif`, beside `image.webp`; off unless a profile turns it on).
    public struct AVIF: Codable, Sendable, Equatable {
        /// Write `image.avif` (stills only: an animation keeps its animated WebP alone).
        public var enabled: Bool
        /// 0 (worst) … 100 (lossless quantization), mapped onto libavif 0.11's quantizers as
        /// libavif 1.x maps its `quality`: quantizer = round((100 − quality) × 63 / 100), used as
        /// both the minimum and the maximum (constant quality). 60 gives about the SSIM of WebP q85
        /// on photos (`bench/images.sh`).
        public var quality: Int
        /// libaom speed, 0 (slowest, smallest) … 10 (fastest).
        public var speed: Int
        /// Encoder threads; 0 for one per core (as `video.threads`).
        public var threads: Int
        public init(enabled: Bool = false, quality: Int = 60, speed: Int = 6, threads: Int = 0) {
            self.enabled = enabled
            self.quality = quality
            self.speed = speed
            self.threads = threads
        }

        enum CodingKeys: String, CodingKey { case enabled, quality, speed, threads }

        public init(from decoder: any Decoder) throws {
            let d = AVIF()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? d.enabled
            quality = try c.decodeIfPresent(Int.self, forKey: .quality) ?? d.quality
            speed = try c.decodeIfPresent(Int.self, forKey: .speed) ?? d.speed
            threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? d.threads
            guard (0...100).contains(quality) else {
                throw DecodingError.dataCorruptedError(forKey: .quality, in: c, debugDescription: "avif.quality must be 0…100, not \(quality)")
            }
            guard (0...10).contains(speed) else {
                throw DecodingError.dataCorruptedError(forKey: .speed, in: c, debugDescription: "avif.speed must be 0…10, not \(speed)")
            }
            guard (0...64).contains(threads) else {
                throw DecodingError.dataCorruptedError(forKey: .threads, in: c, debugDescription: "avif.threads must be 0…64, not \(threads)")
            }
        }
    }

    /// JPEG output settings.
    public struct JPEG: Codable, Sendable, Equatable {
        public var quality: Int
        public var progressive: Bool
        public init(quality: Int = 85, progressive: Bool = true) {
            self.quality = quality
            self.progressive = progressive
        }

        enum CodingKeys: String, CodingKey { case quality, progressive }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            quality = try c.decodeIfPresent(Int.self, forKey: .quality) ?? 85
            progressive = try c.decodeIfPresent(Bool.self, forKey: .progressive) ?? true
        }
    }

    /// A size tier: inputs of at least `minInputBytes` fit inside this box instead.
    public struct Tier: Codable, Sendable, Equatable {
        public var minInputBytes: Int
        public var maxWidth: Int
        public var maxHeight: Int
        public init(minInputBytes: Int, maxWidth: Int, maxHeight: Int) {
            self.minInputBytes = minInputBytes
            self.maxWidth = maxWidth
            self.maxHeight = maxHeight
        }
    }

    /// The box the main output fits inside (never enlarged).
    public var maxWidth: Int
    public var maxHeight: Int
    public var webp: WebP
    /// Also write `image.jpg` when set.
    public var jpeg: JPEG?
    /// Also write `image.avif` when enabled (default off).
    public var avif: AVIF
    /// Long side of the `thumb.webp` thumbnail; nil for none.
    public var thumbnailSize: Int?
    public var thumbnailQuality: Float
    /// Larger inputs get stronger downscaling: the tier with the largest `minInputBytes` not above
    /// the input's size replaces the box.
    public var tiers: [Tier]

    public init(
        maxWidth: Int = 2048, maxHeight: Int = 2048, webp: WebP = .init(), jpeg: JPEG? = nil, thumbnailSize: Int? = 320,
        thumbnailQuality: Float = 80, tiers: [Tier] = [], avif: AVIF = .init()
    ) {
        self.avif = avif
        self.maxWidth = maxWidth
        self.maxHeight = maxHeight
        self.webp = webp
        self.jpeg = jpeg
        self.thumbnailSize = thumbnailSize
        self.thumbnailQuality = thumbnailQuality
        self.tiers = tiers
    }

    enum CodingKeys: String, CodingKey { case maxWidth, maxHeight, webp, jpeg, avif, thumbnailSize, thumbnailQuality, tiers }

    public init(from decoder: any Decoder) throws {
        let defaults = ImageProfile()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxWidth = try c.decodeIfPresent(Int.self, forKey: .maxWidth) ?? defaults.maxWidth
        maxHeight = try c.decodeIfPresent(Int.self, forKey: .maxHeight) ?? defaults.maxHeight
        webp = try c.decodeIfPresent(WebP.self, forKey: .webp) ?? defaults.webp
        jpeg = try c.decodeIfPresent(JPEG.self, forKey: .jpeg)
        avif = try c.decodeIfPresent(AVIF.self, forKey: .avif) ?? defaults.avif
        // Absent: the default thumbnail; `null`: none.
        thumbnailSize = c.contains(.thumbnailSize) ? try c.decodeIfPresent(Int.self, forKey: .thumbnailSize) : defaults.thumbnailSize
        thumbnailQuality = try c.decodeIfPresent(Float.self, forKey: .thumbnailQuality) ?? defaults.thumbnailQuality
        tiers = try c.decodeIfPresent([Tier].self, forKey: .tiers) ?? []
    }

    /// The box for an input of `inputBytes`.
    public func box(forInputBytes inputBytes: Int) -> (width: Int, height: Int) {
        if let tier = tiers.filter({ inputBytes >= $0.minInputBytes }).max(by: { $0.minInputBytes < $1.minInputBytes }) {
            return (tier.maxWidth, tier.maxHeight)
        }
        return (maxWidth, maxHeight)
    }

    /// The size of `width`×`height` fitted inside `box`, never larger than the original, at least 1×1.
    public static func fit(width: Int, height: Int, box: (width: Int, height: Int)) -> (width: Int, height: Int) {
        guard width > box.width || height > box.height else { return (width, height) }
        let scale = min(Double(box.width) / Double(width), Double(box.height) / Double(height))
        return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }
}

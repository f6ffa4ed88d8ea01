/// How images are turned into web media (part of the processing profile file).
public struct ImageProfile: Codable, Sendable, Equatable {
    /// WebP output settings.
    public struct WebP: Codable, Sendable, Equatable {
        /// 0…100.
        public var quality: Float
        /// 0 (fast) … 6 (small).
        public var method: Int
        public init(quality: Float = 85, method: Int = 4) {
            self.quality = quality
            self.method = method
        }

        enum CodingKeys: String, CodingKey { case quality, method }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            quality = try c.decodeIfPresent(Float.self, forKey: .quality) ?? 85
            method = try c.decodeIfPresent(Int.self, forKey: .method) ?? 4
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
    /// Long side of the `thumb.webp` thumbnail; nil for none.
    public var thumbnailSize: Int?
    public var thumbnailQuality: Float
    /// Larger inputs get stronger downscaling: the tier with the largest `minInputBytes` not above
    /// the input's size replaces the box.
    public var tiers: [Tier]

    public init(
        maxWidth: Int = 2048, maxHeight: Int = 2048, webp: WebP = .init(), jpeg: JPEG? = nil, thumbnailSize: Int? = 320,
        thumbnailQuality: Float = 80, tiers: [Tier] = []
    ) {
        self.maxWidth = maxWidth
        self.maxHeight = maxHeight
        self.webp = webp
        self.jpeg = jpeg
        self.thumbnailSize = thumbnailSize
        self.thumbnailQuality = thumbnailQuality
        self.tiers = tiers
    }

    enum CodingKeys: String, CodingKey { case maxWidth, maxHeight, webp, jpeg, thumbnailSize, thumbnailQuality, tiers }

    public init(from decoder: any Decoder) throws {
        let defaults = ImageProfile()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxWidth = try c.decodeIfPresent(Int.self, forKey: .maxWidth) ?? defaults.maxWidth
        maxHeight = try c.decodeIfPresent(Int.self, forKey: .maxHeight) ?? defaults.maxHeight
        webp = try c.decodeIfPresent(WebP.self, forKey: .webp) ?? defaults.webp
        jpeg = try c.decodeIfPresent(JPEG.self, forKey: .jpeg)
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

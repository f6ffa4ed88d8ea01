/// Limits checked from headers before any pixel is allocated.
public struct MediaLimits: Codable, Sendable, Equatable {
    /// Pixels per image; for animations, summed over all frames. Default 50 MP (imgproxy's).
    public var maxPixels: Int
    /// Width or height.
    public var maxDimension: Int
    /// Frames of an animation.
    public var maxFrames: Int
    /// Input bytes.
    public var maxInputBytes: Int
    /// Input bytes of an image (sniffed from its first bytes before the rest is downloaded): an
    /// image is decoded from memory, so its cap is far below the video cap. Default 200 MiB.
    public var maxImageInputBytes: Int
    /// What the process that decodes one file may use (`processor` runs each job in a child).
    public var child: ChildLimits
    /// Limits for videos (streams, frame size, duration, job time, probing).
    public var video: VideoLimits
    /// Wall-clock seconds one image job may take (an isolated child is killed past it: `limit`).
    /// Default 300: a 50 MP photo takes seconds; a decoder that spins on a hostile file does not
    /// hold a worker slot for the video job limit.
    public var maxImageSeconds: Double

    public init(
        maxPixels: Int = 50_000_000, maxDimension: Int = 30_000, maxFrames: Int = 1_000, maxInputBytes: Int = 2 << 30,
        maxImageInputBytes: Int = 200 << 20, video: VideoLimits = .init(), child: ChildLimits = .init(), maxImageSeconds: Double = 300
    ) {
        self.maxImageSeconds = maxImageSeconds
        self.maxPixels = maxPixels
        self.maxDimension = maxDimension
        self.maxFrames = maxFrames
        self.maxInputBytes = maxInputBytes
        self.maxImageInputBytes = maxImageInputBytes
        self.video = video
        self.child = child
    }

    enum CodingKeys: String, CodingKey { case maxPixels, maxDimension, maxFrames, maxInputBytes, maxImageInputBytes, maxImageSeconds, video, child }

    /// Missing keys keep their defaults, so a profile names only what it changes.
    public init(from decoder: any Decoder) throws {
        let defaults = MediaLimits()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxPixels = try c.decodeIfPresent(Int.self, forKey: .maxPixels) ?? defaults.maxPixels
        maxDimension = try c.decodeIfPresent(Int.self, forKey: .maxDimension) ?? defaults.maxDimension
        maxFrames = try c.decodeIfPresent(Int.self, forKey: .maxFrames) ?? defaults.maxFrames
        maxInputBytes = try c.decodeIfPresent(Int.self, forKey: .maxInputBytes) ?? defaults.maxInputBytes
        maxImageInputBytes = try c.decodeIfPresent(Int.self, forKey: .maxImageInputBytes) ?? defaults.maxImageInputBytes
        maxImageSeconds = try c.decodeIfPresent(Double.self, forKey: .maxImageSeconds) ?? defaults.maxImageSeconds
        video = try c.decodeIfPresent(VideoLimits.self, forKey: .video) ?? defaults.video
        child = try c.decodeIfPresent(ChildLimits.self, forKey: .child) ?? defaults.child
    }

    /// The input cap for a file of this kind.
    public func maxInputBytes(isImage: Bool) -> Int { isImage ? min(maxImageInputBytes, maxInputBytes) : maxInputBytes }

    /// Throws a `limit` failure when an image of this canvas and frame count is over a limit.
    public func check(width: Int, height: Int, frames: Int = 1) throws(MediaError) {
        guard width > 0, height > 0 else { throw MediaError(.corrupt, "the image has no pixels (\(width)×\(height))") }
        guard width <= maxDimension, height <= maxDimension else {
            throw MediaError(.limit, "pixel limit: \(width)×\(height) is over the \(maxDimension)-pixel dimension limit")
        }
        guard frames <= maxFrames else { throw MediaError(.limit, "frame limit: \(frames) frames is over the limit of \(maxFrames)") }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        let (total, overflow2) = pixels.multipliedReportingOverflow(by: max(frames, 1))
        guard !overflow, !overflow2, total <= maxPixels else {
            throw MediaError(.limit, "pixel limit: \(width)×\(height)\(frames > 1 ? " × \(frames) frames" : "") is over \(maxPixels / 1_000_000) MP")
        }
    }
}

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
    /// Limits for videos (streams, frame size, duration, job time, probing).
    public var video: VideoLimits

    public init(
        maxPixels: Int = 50_000_000, maxDimension: Int = 30_000, maxFrames: Int = 1_000, maxInputBytes: Int = 2 << 30, video: VideoLimits = .init()
    ) {
        self.maxPixels = maxPixels
        self.maxDimension = maxDimension
        self.maxFrames = maxFrames
        self.maxInputBytes = maxInputBytes
        self.video = video
    }

    enum CodingKeys: String, CodingKey { case maxPixels, maxDimension, maxFrames, maxInputBytes, video }

    /// Missing keys keep their defaults, so a profile names only what it changes.
    public init(from decoder: any Decoder) throws {
        let defaults = MediaLimits()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxPixels = try c.decodeIfPresent(Int.self, forKey: .maxPixels) ?? defaults.maxPixels
        maxDimension = try c.decodeIfPresent(Int.self, forKey: .maxDimension) ?? defaults.maxDimension
        maxFrames = try c.decodeIfPresent(Int.self, forKey: .maxFrames) ?? defaults.maxFrames
        maxInputBytes = try c.decodeIfPresent(Int.self, forKey: .maxInputBytes) ?? defaults.maxInputBytes
        video = try c.decodeIfPresent(VideoLimits.self, forKey: .video) ?? defaults.video
    }

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

extension VideoProfile {
    /// The scrub-bar storyboard (`storyboard.webp` + `storyboard.vtt`): thumbnails at evenly spaced
    /// times, tiled row by row into one WebP sheet, and a WebVTT file whose cues point at their
    /// `#xywh=` regions. On by default; `"storyboard": null` or `{ "enabled": false }` turns it off.
    ///
    /// The count comes from the duration: one thumbnail per `everySeconds`, at most `maxCount`,
    /// the interval then stretched to `duration / count` so the thumbnails are evenly spaced and the
    /// cues cover the whole video. When the container does not say how long it is, thumbnails are
    /// collected every `everySeconds` and every other one is dropped (the interval doubled) whenever
    /// `maxCount` would be passed.
    public struct Storyboard: Codable, Sendable, Equatable {
        public var enabled: Bool
        /// The densest spacing, in seconds (short videos get one thumbnail per this many seconds).
        public var everySeconds: Double
        /// The most thumbnails in one sheet (long videos stretch the interval instead).
        public var maxCount: Int
        /// Each thumbnail fits inside this many pixels on both sides (160: 160×90 for 16:9, 90×160
        /// for 9:16), at the display aspect, never enlarged.
        public var thumbnailSize: Int
        /// Thumbnails per row of the sheet.
        public var columns: Int
        /// WebP quality of the sheet.
        public var quality: Float

        /// The largest side libwebp encodes.
        static let maxSheetSide = 16_383
        /// The most pixels a full sheet may have: 48 MB of RGB while it is encoded (the default is
        /// 100 thumbnails of at most 160×160: 2.6 MP).
        static let maxSheetPixels = 16_000_000

        public init(enabled: Bool = true, everySeconds: Double = 2, maxCount: Int = 100, thumbnailSize: Int = 160, columns: Int = 10, quality: Float = 75) {
            self.enabled = enabled
            self.everySeconds = everySeconds
            self.maxCount = maxCount
            self.thumbnailSize = thumbnailSize
            self.columns = columns
            self.quality = quality
        }

        /// Off: no storyboard outputs.
        public static let off = Storyboard(enabled: false)

        enum CodingKeys: String, CodingKey { case enabled, everySeconds, maxCount, thumbnailSize, columns, quality }

        public init(from decoder: any Decoder) throws {
            let d = Storyboard()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? d.enabled
            everySeconds = try c.decodeIfPresent(Double.self, forKey: .everySeconds) ?? d.everySeconds
            maxCount = try c.decodeIfPresent(Int.self, forKey: .maxCount) ?? d.maxCount
            thumbnailSize = try c.decodeIfPresent(Int.self, forKey: .thumbnailSize) ?? d.thumbnailSize
            columns = try c.decodeIfPresent(Int.self, forKey: .columns) ?? d.columns
            quality = try c.decodeIfPresent(Float.self, forKey: .quality) ?? d.quality
            if let problem {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: problem))
            }
        }

        /// Why the values cannot be used, if they cannot.
        public var problem: String? {
            guard everySeconds.isFinite, everySeconds >= 0.1, everySeconds <= 3600 else { return "video.storyboard.everySeconds must be 0.1…3600" }
            guard (1...1000).contains(maxCount) else { return "video.storyboard.maxCount must be 1…1000" }
            guard (16...1024).contains(thumbnailSize) else { return "video.storyboard.thumbnailSize must be 16…1024" }
            guard (1...100).contains(columns) else { return "video.storyboard.columns must be 1…100" }
            guard quality.isFinite, (0...100).contains(quality) else { return "video.storyboard.quality must be 0…100" }
            let rows = (maxCount + columns - 1) / columns
            guard min(columns, maxCount) * thumbnailSize <= Self.maxSheetSide, rows * thumbnailSize <= Self.maxSheetSide else {
                return "video.storyboard: a full sheet (\(min(columns, maxCount)) × \(rows) thumbnails of up to \(thumbnailSize) px) is over WebP's \(Self.maxSheetSide)-pixel side"
            }
            guard maxCount * thumbnailSize * thumbnailSize <= Self.maxSheetPixels else {
                return "video.storyboard: maxCount × thumbnailSize² must be at most \(Self.maxSheetPixels / 1_000_000) MP (the sheet is held in memory)"
            }
            return nil
        }
    }
}

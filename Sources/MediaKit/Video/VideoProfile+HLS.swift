extension VideoProfile {
    /// The HLS ladder (`processed/{jobId}/hls/`): 2–4 H.264 renditions ("rungs") of the video in
    /// CMAF/fMP4 segments, one AAC rendition, a media playlist each and a master playlist, encoded
    /// in one pass over the source (one decoder, a scaler and an x264 encoder per rung). Off by
    /// default; `{ "enabled": true }` turns it on with the rungs below, `"hls": null` is off.
    ///
    /// Every rung gets the same frames (the `maxFrameRate` cap of the MP4 applies, never more than
    /// the source has) and a keyframe at the first frame of every `segmentSeconds` (x264's scene-cut
    /// detection off), so segment boundaries are at the same times in every rung. Which rungs a source
    /// gets: `plan(width:height:)`.
    public struct HLS: Codable, Sendable, Equatable {
        /// One rendition: a box (orientation-free, like a tier's: the long side fits the larger
        /// number) and its x264 rate control.
        public struct Rung: Codable, Sendable, Equatable {
            public var maxWidth: Int
            public var maxHeight: Int
            /// x264 constant rate factor (0…51, lower is better).
            public var crf: Double
            /// x264's VBV cap in bits per second (`maxrate`, with a `bufsize` of twice as much): CRF
            /// quality, but never above this rate over the buffer. nil: CRF alone.
            public var maxBitRate: Int?

            public init(maxWidth: Int, maxHeight: Int, crf: Double, maxBitRate: Int?) {
                self.maxWidth = maxWidth
                self.maxHeight = maxHeight
                self.crf = crf
                self.maxBitRate = maxBitRate
            }

            enum CodingKeys: String, CodingKey { case maxWidth, maxHeight, crf, maxBitRate }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(maxWidth, forKey: .maxWidth)
                try c.encode(maxHeight, forKey: .maxHeight)
                try c.encode(crf, forKey: .crf)
                try c.encode(maxBitRate, forKey: .maxBitRate)  // null: uncapped
            }
        }

        public var enabled: Bool
        /// Target segment length in seconds (the muxer's `hls_time`; keyframes are forced this far apart).
        public var segmentSeconds: Double
        /// x264 preset of every rung (`ultrafast` … `veryslow`).
        public var preset: String
        /// 2–4 boxes, any order (planned from the largest down).
        public var rungs: [Rung]

        /// 1080p, 720p, 480p and 360p at CRF 23, capped at 6, 3, 1.5 and 0.8 Mb/s.
        public static let standardRungs: [Rung] = [
            .init(maxWidth: 1920, maxHeight: 1080, crf: 23, maxBitRate: 6_000_000),
            .init(maxWidth: 1280, maxHeight: 720, crf: 23, maxBitRate: 3_000_000),
            .init(maxWidth: 854, maxHeight: 480, crf: 23, maxBitRate: 1_500_000),
            .init(maxWidth: 640, maxHeight: 360, crf: 23, maxBitRate: 800_000),
        ]

        /// The x264 presets, fastest first.
        public static let presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"]

        public init(enabled: Bool = false, segmentSeconds: Double = 4, preset: String = "veryfast", rungs: [Rung] = HLS.standardRungs) {
            self.enabled = enabled
            self.segmentSeconds = segmentSeconds
            self.preset = preset
            self.rungs = rungs
        }

        /// Off: no `hls/` outputs.
        public static let off = HLS(enabled: false)

        enum CodingKeys: String, CodingKey { case enabled, segmentSeconds, preset, rungs }

        public init(from decoder: any Decoder) throws {
            let d = HLS()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? d.enabled
            segmentSeconds = try c.decodeIfPresent(Double.self, forKey: .segmentSeconds) ?? d.segmentSeconds
            preset = try c.decodeIfPresent(String.self, forKey: .preset) ?? d.preset
            rungs = try c.decodeIfPresent([Rung].self, forKey: .rungs) ?? d.rungs
            if let problem {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: problem))
            }
        }

        /// Why the values cannot be used, if they cannot.
        public var problem: String? {
            guard segmentSeconds.isFinite, segmentSeconds >= 1, segmentSeconds <= 60 else { return "video.hls.segmentSeconds must be 1…60" }
            guard Self.presets.contains(preset) else { return "video.hls.preset must be one of \(Self.presets.joined(separator: ", "))" }
            guard (2...4).contains(rungs.count) else { return "video.hls.rungs must list 2…4 rungs" }
            for (index, rung) in rungs.enumerated() {
                let name = "video.hls.rungs[\(index)]"
                guard (16...8192).contains(rung.maxWidth), (16...8192).contains(rung.maxHeight) else { return "\(name): maxWidth and maxHeight must be 16…8192" }
                guard rung.crf.isFinite, (0...51).contains(rung.crf) else { return "\(name).crf must be 0…51" }
                if let rate = rung.maxBitRate, !(50_000...200_000_000).contains(rate) { return "\(name).maxBitRate must be 50000…200000000 (or null)" }
            }
            let boxes = rungs.map { [max($0.maxWidth, $0.maxHeight), min($0.maxWidth, $0.maxHeight)] }
            guard Set(boxes).count == boxes.count else { return "video.hls.rungs: two rungs have the same box" }
            return nil
        }

        /// A rung as planned for one source: its picture size (in the source's orientation before
        /// rotation, even sides) and its rate control.
        public struct PlannedRung: Sendable, Equatable {
            public var width: Int
            public var height: Int
            public var crf: Double
            public var maxBitRate: Int?
            public init(width: Int, height: Int, crf: Double, maxBitRate: Int?) {
                self.width = width
                self.height = height
                self.crf = crf
                self.maxBitRate = maxBitRate
            }
        }

        /// The rungs a `width`×`height` source gets, largest first: each box fitted to the source,
        /// never enlarged (a box the source fits in gives the source's own size), sizes that come out
        /// equal kept once with the settings of the smallest box that gave it (a 720p source gets the
        /// 720p rung's cap, not the 1080p one's). At least two: a source no larger than the smallest
        /// box gets its own size and half of it, both with the smallest box's settings.
        public func plan(width: Int, height: Int) -> [PlannedRung] {
            let source = VideoProfile.fit(width: width, height: height, box: (width, height))
            let smallestFirst = rungs.sorted { ($0.maxWidth * $0.maxHeight, $0.maxWidth) < ($1.maxWidth * $1.maxHeight, $1.maxWidth) }
            var planned: [PlannedRung] = []
            for rung in smallestFirst {
                let size = VideoProfile.fit(width: width, height: height, box: (rung.maxWidth, rung.maxHeight))
                if planned.contains(where: { $0.width == size.width && $0.height == size.height }) { continue }
                planned.append(PlannedRung(width: size.width, height: size.height, crf: rung.crf, maxBitRate: rung.maxBitRate))
            }
            if planned.count < 2, let smallest = smallestFirst.first {
                let half = VideoProfile.fit(width: source.width, height: source.height, box: (max(1, source.width / 2), max(1, source.height / 2)))
                planned = [
                    PlannedRung(width: source.width, height: source.height, crf: smallest.crf, maxBitRate: smallest.maxBitRate),
                    PlannedRung(width: half.width, height: half.height, crf: smallest.crf, maxBitRate: smallest.maxBitRate),
                ]
                return planned
            }
            return planned.reversed()
        }

        /// The frame rate every rung has: the source's, or, when that is above `maxFrameRate`, what
        /// the MP4's frame dropping leaves (every k-th frame, k the smallest step at least
        /// 1/`maxFrameRate` apart: 60 → 30 with a cap of 30, 50 → 25). nil when the source's rate is
        /// unknown.
        public static func frameRate(source: Double?, maxFrameRate: Double) -> Double? {
            guard let source, source.isFinite, source > 0 else { return nil }
            guard maxFrameRate.isFinite, maxFrameRate > 0, source > maxFrameRate else { return source }
            let step = (source / maxFrameRate * (1 - 1e-6)).rounded(.up)
            return source / max(1, step)
        }
    }
}

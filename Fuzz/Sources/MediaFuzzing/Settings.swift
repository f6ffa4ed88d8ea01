import MediaKit

/// The small profiles and limits the fuzz targets run with: every stage runs (decode, colour,
/// scale, orientation, WebP and JPEG encode, thumbnail; demux, decode, scale, resample, encode,
/// mux, poster, frame samples), on outputs small enough for thousands of runs a minute.
public enum FuzzSettings {
    /// Fit 64×64, WebP at the fastest method, a JPEG copy, an AVIF at libaom's fastest speed and a 16-pixel thumbnail.
    public static let imageProfile = ImageProfile(
        maxWidth: 64, maxHeight: 64, webp: .init(quality: 50, method: 0), jpeg: .init(quality: 50, progressive: true), thumbnailSize: 16,
        thumbnailQuality: 40, avif: .init(enabled: true, quality: 30, speed: 10, threads: 1))

    /// 1 MP (summed over frames), 2048 pixels a side, 32 frames, 1 MiB.
    public static let imageLimits = MediaLimits(maxPixels: 1 << 20, maxDimension: 2048, maxFrames: 32, maxInputBytes: 1 << 20, video: videoLimits)

    /// 64×64 x264 ultrafast at CRF 45, 15 fps, 8 kHz mono AAC, a poster and two 32-pixel frame samples,
    /// and the HLS ladder (a second pass: one decoder, two rungs of at most 32 and 16 pixels on their
    /// own threads, libavformat's hls muxer with 1 s fMP4 segments).
    public static let videoProfile = VideoProfile(
        tiers: [.init(maxInputBytes: nil, maxWidth: 64, maxHeight: 64, crf: 45, preset: "ultrafast")], maxFrameRate: 15,
        audio: .init(bitRate: 16_000, sampleRate: 8_000, channels: 1), poster: .init(quality: 30),
        frameSamples: .init(everySeconds: 0.5, maxCount: 2, maxSize: 32, quality: 30), threads: 1,
        hls: .init(
            enabled: true, segmentSeconds: 1, preset: "ultrafast",
            rungs: [.init(maxWidth: 32, maxHeight: 32, crf: 45, maxBitRate: nil), .init(maxWidth: 16, maxHeight: 16, crf: 45, maxBitRate: nil)]))

    /// 8 kHz mono AAC at 16 kbit/s and a 64×16 waveform.
    public static let audioProfile = AudioProfile(bitRate: 16_000, sampleRate: 8_000, channels: 1, waveform: .init(width: 64, height: 16))

    /// 4 streams, 256×256 frames, 4 s of media, 10 s of work, probing within 256 KiB and 1 s.
    public static let videoLimits = VideoLimits(
        maxStreams: 4, maxPixels: 256 * 256, maxDurationSeconds: 4, maxJobSeconds: 10, probeSizeBytes: 256 << 10, analyzeDurationSeconds: 1)
}

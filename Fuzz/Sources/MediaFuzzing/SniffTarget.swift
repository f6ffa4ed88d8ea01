import MediaKit

/// Type sniffing and the header checks behind it. The sniffers (`ImageFormat.sniff`,
/// `VideoPipeline.sniff`) must decide from a fixed prefix and agree where their formats overlap;
/// the pipeline run with 1-pixel limits must stop at each decoder's header check (or finish a
/// 1×1 image) and never allocate for what a header claims.
public struct SniffTarget: FuzzTarget {
    public init() {}

    /// The header check alone: every real image is over these limits.
    static let headerLimits = MediaLimits(maxPixels: 1, maxDimension: 1, maxFrames: 1, maxInputBytes: 1 << 20, video: FuzzSettings.videoLimits)

    public func run(_ input: [UInt8]) {
        let image = ImageFormat.sniff(input)
        let video = VideoPipeline.sniff(input)
        guard ImageFormat.sniff(input.prefix(32)) == image else { Finding.report("ImageFormat.sniff reads past its 32-byte prefix") }
        guard VideoPipeline.sniff(input.prefix(12)) == video else { Finding.report("VideoPipeline.sniff reads past its 12-byte prefix") }
        guard ImageFormat.sniff(input + [0, 0, 0, 0]) == image || input.count < 32 else { Finding.report("ImageFormat.sniff depends on bytes after its prefix") }
        if image == .heif, !video { Finding.report("a HEIF (an ISO BMFF ftyp box) that the video sniffer does not claim") }
        // A JPEG/PNG/GIF/WebP head can also carry `ftyp` at offset 4 (`FF D8 FF xx ftyp`): both
        // sniffers claim it and the processor takes it as an image (found by this target; the
        // shared sniffer in QueueKit decides once).

        let outcome = runBlocking { try await ImagePipeline.process(input, profile: FuzzSettings.imageProfile, limits: Self.headerLimits) }
        switch outcome {
        case .failure(let error):
            Finding.checkClean(error, "header check of \(image?.rawValue ?? "non-image") input")
            if image == nil, (error as? MediaError)?.code != .unsupported { Finding.report("a non-image failed as \(error), not unsupported") }
        case .success(let result):
            guard let image else { Finding.report("a non-image was processed as \(result.format)") }
            guard result.sourceWidth == 1, result.sourceHeight == 1 else {
                Finding.report("\(image.rawValue): \(result.sourceWidth)×\(result.sourceHeight) passed 1-pixel limits")
            }
        }
    }
}

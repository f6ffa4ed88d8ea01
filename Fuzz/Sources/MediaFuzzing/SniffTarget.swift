import MediaKit
import MediaTypes

/// Type sniffing (MediaTypes' `MediaType.sniff`, the one sniffer both daemons use) and the header
/// checks behind it. The sniffer must decide from its fixed prefix alone, return only types it
/// lists, and give every image type a decoder; the image pipeline run with 1-pixel limits must
/// stop at that decoder's header check (or finish a 1×1 image) and never allocate for what a
/// header claims.
public struct SniffTarget: FuzzTarget {
    public init() {}

    /// The header check alone: every real image is over these limits.
    static let headerLimits = MediaLimits(maxPixels: 1, maxDimension: 1, maxFrames: 1, maxInputBytes: 1 << 20, video: FuzzSettings.videoLimits)

    public func run(_ input: [UInt8]) {
        let type = MediaType.sniff(input)
        guard MediaType.sniff(input.prefix(MediaType.sniffLength)) == type else { Finding.report("MediaType.sniff reads past its prefix") }
        if input.count >= MediaType.sniffLength, MediaType.sniff(input + [0x00, 0xFF, 0x1A, 0x45]) != type {
            Finding.report("MediaType.sniff depends on bytes after its prefix")
        }
        if let type {
            guard MediaType.all.contains(type), MediaType.known(mime: type.mime) == type else { Finding.report("\(type.mime) is not a listed type") }
            if type.kind == .image, type.imageFormat == nil { Finding.report("image type \(type.mime) has no decoder") }
        }
        guard let format = type?.imageFormat else { return }  // videos: FuzzVideo; audio: FuzzAudio; unknown never reaches MediaKit

        let outcome = runBlocking { try await ImagePipeline.process(input, format: format, profile: FuzzSettings.imageProfile, limits: Self.headerLimits) }
        switch outcome {
        case .failure(let error):
            Finding.checkClean(error, "header check of a \(format.rawValue) input")
        case .success(let result):
            guard result.sourceWidth == 1, result.sourceHeight == 1 else {
                Finding.report("\(format.rawValue): \(result.sourceWidth)×\(result.sourceHeight) passed 1-pixel limits")
            }
        }
    }
}

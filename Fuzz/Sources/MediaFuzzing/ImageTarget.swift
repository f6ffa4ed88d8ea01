import MediaKit
import MediaTypes

/// One image decoder through the whole image pipeline (`ImagePipeline.process`): inputs that do
/// not sniff as the target's format (`MediaType` from MediaTypes, the one the daemons use) get its
/// signature written over their first bytes, so every run reaches that decoder as a daemon would.
public struct ImageTarget: FuzzTarget {
    let format: ImageFormat

    public init(_ format: ImageFormat) { self.format = format }

    public static let jpeg = ImageTarget(.jpeg)
    public static let png = ImageTarget(.png)
    public static let webp = ImageTarget(.webp)
    public static let gif = ImageTarget(.gif)
    public static let heif = ImageTarget(.heif)

    public func run(_ input: [UInt8]) {
        let bytes = Self.forcing(format, on: input)
        let profile = FuzzSettings.imageProfile
        let format = format
        let outcome = runBlocking { try await ImagePipeline.process(bytes, format: format, profile: profile, limits: FuzzSettings.imageLimits) }
        switch outcome {
        case .failure(let error):
            Finding.checkClean(error, "\(format.rawValue) input of \(bytes.count) bytes")
        case .success(let result):
            if let problem = Self.problem(result, format: format, profile: profile, limits: FuzzSettings.imageLimits) { Finding.report(problem) }
        }
    }

    /// `input` with `format`'s magic bytes at the start (written over, or put in front of a short input).
    static func forcing(_ format: ImageFormat, on input: [UInt8]) -> [UInt8] {
        if MediaType.sniff(input)?.imageFormat == format { return input }
        let patches: [(offset: Int, bytes: [UInt8])]
        switch format {
        case .jpeg: patches = [(0, [0xFF, 0xD8, 0xFF])]
        case .png: patches = [(0, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])]
        case .gif: patches = [(0, Array("GIF89a".utf8))]
        case .webp: patches = [(0, Array("RIFF".utf8)), (8, Array("WEBPVP8".utf8))]
        case .heif: patches = [(4, Array("ftypheic".utf8))]
        }
        let needed = patches.map { $0.offset + $0.bytes.count }.max() ?? 0
        var bytes = input.count >= needed ? input : [UInt8](repeating: 0, count: needed) + input
        for patch in patches { bytes.replaceSubrange(patch.offset..<patch.offset + patch.bytes.count, with: patch.bytes) }
        return bytes
    }

    /// What every successful run must give: the sniffed format, a source within the limits, a
    /// WebP (and the profile's JPEG) inside the box, a thumbnail inside its square, real files.
    static func problem(_ result: ImageResult, format: ImageFormat, profile: ImageProfile, limits: MediaLimits) -> String? {
        let what = "\(format.rawValue) result"
        guard result.format == format else { return "\(what): format \(result.format) for a \(format) input" }
        guard result.sourceWidth > 0, result.sourceHeight > 0, result.sourceWidth <= limits.maxDimension, result.sourceHeight <= limits.maxDimension
        else { return "\(what): source size \(result.sourceWidth)×\(result.sourceHeight) outside the limits" }
        guard let first = result.outputs.first, first.name == "image.webp" else { return "\(what): no image.webp" }
        for output in result.outputs {
            let box = output.name == "thumb.webp" ? (profile.thumbnailSize ?? 0) : max(profile.maxWidth, profile.maxHeight)
            guard let width = output.width, let height = output.height, (1...box).contains(width), (1...box).contains(height) else {
                return "\(what): \(output.name) is \(output.width ?? -1)×\(output.height ?? -1), outside its \(box)-pixel box"
            }
            if output.contentType == "image/avif" {  // an output only: the sniffer refuses AVIF input
                guard output.data.count > 12, Array(output.data[4..<12]) == Array("ftypavif".utf8) else { return "\(what): \(output.name) is not an AVIF file" }
                continue
            }
            let expected: ImageFormat = output.contentType == "image/jpeg" ? .jpeg : .webp
            guard MediaType.sniff(output.data)?.imageFormat == expected else { return "\(what): \(output.name) is not a \(expected.rawValue) file" }
        }
        if profile.jpeg != nil, first.durationSeconds == nil, !result.outputs.contains(where: { $0.name == "image.jpg" }) {
            return "\(what): the profile asks for a JPEG and a still gave none"
        }
        return nil
    }
}

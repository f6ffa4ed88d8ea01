import Foundation

/// Runs the image pipeline once on a tiny picture of each format it can write, synchronously and
/// on the calling thread. A fork server calls it before it forks any child: every child then
/// starts with the codec libraries' lazy symbols bound, Swift's type metadata and protocol
/// conformance caches filled and the code paged in, instead of paying for that on each job
/// (measured with `bench/isolation.sh`). Threads the libraries start (libwebp's encoder worker)
/// are joined before it returns.
public enum WarmUp {
    public static func images() {
        let decoder = JSONDecoder()
        guard let profile = try? decoder.decode(ImageProfile.self, from: Data("{}".utf8)),
            let limits = try? decoder.decode(MediaLimits.self, from: Data("{}".utf8))
        else { return }
        var pixels = Pixels(width: 96, height: 64, channels: 3)
        for index in pixels.bytes.indices { pixels.bytes[index] = UInt8(truncatingIfNeeded: index &* 37 &+ index >> 5) }
        var inputs: [(ImageFormat, [UInt8])] = []
        if let jpeg = try? JPEGCodec.encode(pixels, quality: 85, progressive: false) { inputs.append((.jpeg, jpeg)) }
        if let webp = try? WebPCodec.encode(pixels, quality: 85, method: 4) { inputs.append((.webp, webp)) }
        for (format, data) in inputs {
            _ = try? ImagePipeline.processBlocking(data, format: format, profile: profile, limits: limits, cancel: CancelFlag())
        }
    }
}

import Foundation

/// One file the pipeline wrote.
public struct MediaOutput: Sendable {
    /// `image.webp`, `thumb.webp`, `image.jpg`, …: fixed names, so a rerun overwrites, never adds.
    public var name: String
    public var contentType: String
    public var data: [UInt8]
    public var width: Int?
    public var height: Int?
    public var durationSeconds: Double?
    /// The picture's ThumbHash placeholder (image, JPEG and thumbnail outputs).
    public var placeholder: ThumbHash.Placeholder?

    public init(
        name: String, contentType: String, data: [UInt8], width: Int? = nil, height: Int? = nil, durationSeconds: Double? = nil,
        placeholder: ThumbHash.Placeholder? = nil
    ) {
        self.name = name
        self.contentType = contentType
        self.data = data
        self.width = width
        self.height = height
        self.durationSeconds = durationSeconds
        self.placeholder = placeholder
    }
}

/// What processing one image produced.
public struct ImageResult: Sendable {
    public var outputs: [MediaOutput]
    public var format: ImageFormat
    public var sourceWidth: Int
    public var sourceHeight: Int
    /// The embedded colour profile that was converted to sRGB, if any.
    public var convertedProfile: String?
    /// What the source is, for the status document.
    public var facts: ImageFacts
    /// Seconds per stage: `decode`, `resize`, `encode`.
    public var timings: [String: Double]
}

/// Photos and animations to web images: header check against the limits before any pixel is
/// allocated, decode (JPEG at a reduced DCT scale when the target is much smaller), colour profile
/// to sRGB, Lanczos downscale into the profile's box (never up), EXIF orientation, WebP (and
/// optionally JPEG) plus a WebP thumbnail. Metadata is never copied to the outputs.
public enum ImagePipeline {
    /// Processes `data` on NIO's thread pool (codec work never runs on the cooperative pool).
    /// Cancelling the task stops the work between scanlines or frames.
    public static func process(_ data: [UInt8], format: ImageFormat, profile: ImageProfile, limits: MediaLimits) async throws -> ImageResult {
        try await CancelFlag.runCancellable { flag in try processBlocking(data, format: format, profile: profile, limits: limits, cancel: flag) }
    }

    /// The same, on the calling thread.
    static func processBlocking(_ data: [UInt8], format: ImageFormat, profile: ImageProfile, limits: MediaLimits, cancel: CancelFlag) throws(MediaError)
        -> ImageResult
    {
        let cap = limits.maxInputBytes(isImage: true)
        guard data.count <= cap else { throw MediaError(.limit, "the image is over the \(cap)-byte limit for images") }
        var timings: [String: Double] = [:]
        var clock = Stopwatch()
        let box = profile.box(forInputBytes: data.count)

        var still: Pixels
        var sourceSize: (Int, Int)
        var converted: String?
        var facts = ImageFacts(format: format.rawValue, width: 0, height: 0)
        switch format {
        case .jpeg:
            let header = try JPEGCodec.header(data)
            try limits.check(width: header.width, height: header.height)
            let orientation = EXIF.orientation(data)
            facts.apply(EXIF.facts(data))
            facts.orientation = orientation.rawValue
            facts.orientationApplied = orientation != .up
            if let icc = header.icc { facts.colorSpace = ColorManagement.description(icc) }
            let displayed = orientation.swapsDimensions ? (header.height, header.width) : (header.width, header.height)
            let target = ImageProfile.fit(width: displayed.0, height: displayed.1, box: box)
            let stored = orientation.swapsDimensions ? (width: target.height, height: target.width) : target
            let denom = JPEGCodec.denominator(width: header.width, height: header.height, target: stored)
            var pixels = try JPEGCodec.decode(data, denom: denom, cancel: cancel)
            timings["decode"] = clock.lap()
            if let icc = header.icc, !ColorManagement.isSRGB(icc) {
                converted = ColorManagement.convertToSRGB(&pixels, icc: icc)
                timings["color"] = clock.lap()
            }
            try cancel.check()
            pixels = try Scaler.resize(pixels, width: stored.width, height: stored.height)
            still = orientation.apply(to: pixels)
            timings["resize"] = clock.lap()
            sourceSize = displayed
        case .png:
            let header = try PNGCodec.header(data)
            try limits.check(width: header.width, height: header.height)
            still = try PNGCodec.decode(data)
            timings["decode"] = clock.lap()
            if data.count > 24 { facts.bitDepth = Int(data[24]) }  // IHDR's bit depth
            if let block = EXIF.block(in: data, format: .png) { facts.apply(EXIF.facts(block)) }
            sourceSize = (still.width, still.height)
        case .heif:
            let header = try HEIFCodec.header(data)
            try limits.check(width: header.width, height: header.height)
            still = try HEIFCodec.decode(data)
            if let icc = header.icc {
                facts.colorSpace = ColorManagement.description(icc)
                if !ColorManagement.isSRGB(icc) { converted = ColorManagement.convertToSRGB(&still, icc: icc) }
            }
            let metadata = try HEIFCodec.metadata(data)
            facts.bitDepth = metadata.bitDepth
            if let block = metadata.exif { facts.apply(EXIF.facts(block)) }
            // libheif turns the picture as the container says (irot/imir), which is what a camera's
            // EXIF orientation in a HEIC mirrors.
            facts.orientationApplied = facts.orientation != 1
            timings["decode"] = clock.lap()
            sourceSize = (still.width, still.height)
        case .webp:
            let header = try WebPCodec.header(data)
            try limits.check(width: header.width, height: header.height, frames: header.frameCount)
            if let block = EXIF.block(in: data, format: .webp) { facts.apply(EXIF.facts(block)) }
            if header.isAnimated {
                let animation = try WebPCodec.decodeAnimation(data, cancel: cancel)
                let starts = animation.frames.indices.map { $0 == 0 ? 0 : animation.frames[$0 - 1].timestampMs }
                return try animated(
                    frames: zip(animation.frames, starts).map { ($0.0.pixels, $0.1) }, endMs: animation.frames.last?.timestampMs ?? 0,
                    loopCount: animation.loopCount, format: format, profile: profile, box: box, facts: facts, cancel: cancel, clock: &clock,
                    timings: &timings)
            }
            still = try WebPCodec.decode(data)
            timings["decode"] = clock.lap()
            sourceSize = (still.width, still.height)
        case .gif:
            let header = try GIFCodec.header(data)
            try limits.check(width: header.width, height: header.height, frames: header.frames)
            guard header.framePixels <= limits.maxPixels else {
                throw MediaError(.limit, "pixel limit: \(header.frames) frames of \(header.framePixels / 1_000_000) MP in all is over \(limits.maxPixels / 1_000_000) MP")
            }
            let decoded = try GIFCodec.decode(data, cancel: cancel)
            if decoded.frames.count > 1 {
                return try animated(
                    frames: decoded.frames, endMs: decoded.endMs, loopCount: decoded.loopCount, format: format, profile: profile, box: box,
                    facts: facts, cancel: cancel, clock: &clock, timings: &timings)
            }
            still = decoded.frames[0].pixels
            timings["decode"] = clock.lap()
            sourceSize = (still.width, still.height)
        }

        if format != .jpeg {
            let target = ImageProfile.fit(width: still.width, height: still.height, box: box)
            try cancel.check()
            still = try Scaler.resize(still, width: target.width, height: target.height)
            timings["resize"] = clock.lap()
        }
        if still.hasAlpha, still.isOpaque { still = dropAlpha(still) }
        try cancel.check()
        let placeholder = try ThumbHash.placeholder(of: still)
        var outputs = [
            MediaOutput(
                name: "image.webp", contentType: "image/webp",
                data: try WebPCodec.encode(still, settings: profile.webp), width: still.width, height: still.height,
                placeholder: placeholder)
        ]
        if let jpeg = profile.jpeg {
            outputs.append(
                MediaOutput(
                    name: "image.jpg", contentType: "image/jpeg", data: try JPEGCodec.encode(still, quality: jpeg.quality, progressive: jpeg.progressive),
                    width: still.width, height: still.height, placeholder: placeholder))
        }
        if let size = profile.thumbnailSize {
            outputs.append(try thumbnail(still, size: size, quality: profile.thumbnailQuality, placeholder: placeholder))
        }
        timings["encode"] = clock.lap()
        if profile.avif.enabled {
            try cancel.check()
            outputs.insert(
                MediaOutput(
                    name: "image.avif", contentType: "image/avif",
                    data: try AVIFCodec.encode(still, quality: profile.avif.quality, speed: profile.avif.speed, threads: profile.avif.threads),
                    width: still.width, height: still.height, placeholder: placeholder),
                at: 1)
            timings["avif"] = clock.lap()
        }
        (facts.width, facts.height) = sourceSize
        facts.iccConverted = converted != nil
        return ImageResult(
            outputs: outputs, format: format, sourceWidth: sourceSize.0, sourceHeight: sourceSize.1, convertedProfile: converted, facts: facts,
            timings: timings)
    }

    private static func animated(
        frames: [(pixels: Pixels, startMs: Int)], endMs: Int, loopCount: Int, format: ImageFormat, profile: ImageProfile,
        box: (width: Int, height: Int), facts: ImageFacts, cancel: CancelFlag, clock: inout Stopwatch, timings: inout [String: Double]
    ) throws(MediaError) -> ImageResult {
        timings["decode"] = clock.lap()
        let first = frames[0].pixels
        let target = ImageProfile.fit(width: first.width, height: first.height, box: box)
        var scaled: [(pixels: Pixels, startMs: Int)] = []
        for frame in frames {
            try cancel.check()
            scaled.append((try Scaler.resize(frame.pixels, width: target.width, height: target.height), frame.startMs))
        }
        timings["resize"] = clock.lap()
        let placeholder = try ThumbHash.placeholder(of: scaled[0].pixels)  // the first frame, what a browser shows first
        var outputs = [
            MediaOutput(
                name: "image.webp", contentType: "image/webp",
                data: try WebPCodec.encodeAnimation(
                    frames: scaled, endMs: max(endMs, (scaled.last?.startMs ?? 0) + 1), loopCount: loopCount, settings: profile.webp,
                    cancel: cancel),
                width: target.width, height: target.height, durationSeconds: Double(endMs) / 1000, placeholder: placeholder)
        ]
        if let size = profile.thumbnailSize {
            outputs.append(try thumbnail(scaled[0].pixels, size: size, quality: profile.thumbnailQuality, placeholder: placeholder))
        }
        timings["encode"] = clock.lap()
        var facts = facts
        (facts.width, facts.height) = (first.width, first.height)
        facts.frameCount = frames.count
        facts.durationSeconds = Double(endMs) / 1000
        return ImageResult(
            outputs: outputs, format: format, sourceWidth: first.width, sourceHeight: first.height, convertedProfile: nil, facts: facts, timings: timings)
    }

    private static func thumbnail(_ pixels: Pixels, size: Int, quality: Float, placeholder: ThumbHash.Placeholder) throws(MediaError) -> MediaOutput {
        let fit = ImageProfile.fit(width: pixels.width, height: pixels.height, box: (size, size))
        let small = try Scaler.resize(pixels, width: fit.width, height: fit.height)
        return MediaOutput(
            name: "thumb.webp", contentType: "image/webp", data: try WebPCodec.encode(small, quality: quality, method: 4), width: small.width,
            height: small.height, placeholder: placeholder)
    }

    private static func dropAlpha(_ pixels: Pixels) -> Pixels {
        var rgb = Pixels.zeroed(count: pixels.width * pixels.height * 3)
        pixels.bytes.withUnsafeBufferPointer { src in
            rgb.withUnsafeMutableBufferPointer { dst in
                for i in 0..<(pixels.width * pixels.height) {
                    dst[i * 3] = src[i * 4]
                    dst[i * 3 + 1] = src[i * 4 + 1]
                    dst[i * 3 + 2] = src[i * 4 + 2]
                }
            }
        }
        return Pixels(width: pixels.width, height: pixels.height, channels: 3, bytes: rgb)
    }

    /// The codec libraries this build links, for the start-up log (and the library floor check).
    public static var libraryVersions: [String: String] {
        ["libjpeg-turbo": JPEGCodec.version, "libpng": PNGCodec.version, "libwebp": WebPCodec.version, "libswscale": Scaler.version,
         "giflib": GIFCodec.version, "libheif": HEIFCodec.version, "libavif": AVIFCodec.version].merging(Scaler.ffmpegVersions) { a, _ in a }
    }
}

/// Seconds between laps.
struct Stopwatch {
    private var last = ContinuousClock.now
    mutating func lap() -> Double {
        let now = ContinuousClock.now
        defer { last = now }
        let elapsed = now - last
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

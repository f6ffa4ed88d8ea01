import Foundation
import Glibc
import MediaKit
import QueueKit

/// What one input became: files written into the job's output directory, the source's facts
/// (videos) and seconds per stage. The child process prints it as JSON; the daemon uploads the files.
struct MediaReport: Codable, Sendable, Equatable {
    var outputs: [MediaFile]
    var media: VideoInfo?
    /// The source image's facts (images).
    var image: ImageFacts? = nil
    /// The source audio's facts (audio-only files).
    var audio: AudioInfo? = nil
    var timings: [String: Double]
}

/// The pipeline on one local file, in this process: what the isolated child runs (and the daemon
/// itself with `PROCESSOR_ISOLATION=none`).
enum MediaRun {
    static func run(input: String, type: MediaType, directory: String, profile: ProcessingProfile) async throws -> MediaReport {
        // Loaded now if not yet (a parent that forked this child may have): a missing one is this
        // job's error, not an abort in the middle of it.
        try MediaLibrary.load(libraries(for: type, profile: profile))
        switch type.kind {
        case .audio:
            return try await audio(input: input, directory: directory, profile: profile)
        case .video:
            let result: VideoResult
            do {
                result = try await VideoPipeline.process(inputPath: input, workDirectory: directory, profile: profile.video, limits: profile.limits)
            } catch let error as MediaError where error == .audioOnly {
                // An MP4 or Matroska file whose only stream is audio.
                return try await audio(input: input, directory: directory, profile: profile)
            }
            return MediaReport(outputs: result.outputs, media: result.info, timings: result.timings)
        case .image:
            guard let format = ImageFormat(mime: type.mime) else { throw MediaError(.unsupported, "\(type.mime) is not an image format the pipeline reads") }
            var timings: [String: Double] = [:]
            var outputs: [MediaFile] = []
            var facts: ImageFacts?
            do {
                // The one copy of the input in memory: read straight into the array the decoders get.
                let data = try readFile(input, limit: profile.limits.maxInputBytes(isImage: true))
                let result = try await ImagePipeline.process(data, format: format, profile: profile.image, limits: profile.limits)
                timings = result.timings
                facts = result.facts
                for output in result.outputs {
                    let path = (directory as NSString).appendingPathComponent(output.name)
                    try write(output.data, to: path)
                    outputs.append(
                        MediaFile(
                            name: output.name, contentType: output.contentType, path: path, bytes: output.data.count, width: output.width,
                            height: output.height, durationSeconds: output.durationSeconds, placeholder: output.placeholder))
                }
            } catch {
                for output in outputs { unlink(output.path) }
                throw error
            }
            return MediaReport(outputs: outputs, media: nil, image: facts, timings: timings)
        }
    }

    /// The lazily loaded libraries (MediaLibrary) a job on `type` calls: none for most images.
    static func libraries(for type: MediaType, profile: ProcessingProfile) -> [MediaLibrary] {
        switch type.kind {
        case .video, .audio: return MediaLibrary.audioVisual
        case .image:
            var libraries: [MediaLibrary] = []
            if ImageFormat(mime: type.mime) == .heif { libraries.append(.heif) }
            if profile.image.avif.enabled { libraries.append(.avif) }
            return libraries
        }
    }

    private static func audio(input: String, directory: String, profile: ProcessingProfile) async throws -> MediaReport {
        let result = try await AudioPipeline.process(inputPath: input, workDirectory: directory, profile: profile.audio, limits: profile.limits)
        return MediaReport(outputs: result.outputs, media: nil, audio: result.info, timings: result.timings)
    }

    /// The whole file in one array, refused (before reading) when it is over `limit`.
    static func readFile(_ path: String, limit: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MediaError(.internal, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0, lseek(fd, 0, SEEK_SET) == 0 else { throw MediaError(.internal, "cannot seek in \(path)") }
        let size = Int(end)
        guard size <= limit else { throw MediaError(.limit, "the image is over the \(limit)-byte limit for images") }
        return try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            while count < size {
                let n = read(fd, buffer.baseAddress! + count, size - count)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw MediaError(.internal, "reading \(path): \(n == 0 ? "short file" : String(cString: strerror(errno)))") }
                count += n
            }
        }
    }

    private static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MediaError(.internal, "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw MediaError(.internal, "writing \(path): \(String(cString: strerror(errno)))") }
                offset += n
            }
        }
    }
}

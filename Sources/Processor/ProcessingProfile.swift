import Foundation
import MediaKit
import Yams

/// The processing profile: what each kind of input becomes, and the limits untrusted files are
/// decoded under, and what happens to jobs that fail (`retry`). The default ships as `profiles/default.json`; Kubernetes mounts a ConfigMap over
/// it. JSON or YAML (by extension).
struct ProcessingProfile: Codable, Sendable, Equatable {
    var image: ImageProfile
    var video: VideoProfile
    /// Audio-only uploads (`audio.m4a` + `waveform.png`).
    var audio: AudioProfile
    var limits: MediaLimits
    var retry: FailurePolicy

    init(
        image: ImageProfile = .standard, video: VideoProfile = .init(), audio: AudioProfile = .init(), limits: MediaLimits = .init(),
        retry: FailurePolicy = .init()
    ) {
        self.image = image
        self.video = video
        self.audio = audio
        self.limits = limits
        self.retry = retry
    }

    enum CodingKeys: String, CodingKey { case image, video, audio, limits, retry }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        image = try c.decodeIfPresent(ImageProfile.self, forKey: .image) ?? .standard
        video = try c.decodeIfPresent(VideoProfile.self, forKey: .video) ?? .init()
        audio = try c.decodeIfPresent(AudioProfile.self, forKey: .audio) ?? .init()
        limits = try c.decodeIfPresent(MediaLimits.self, forKey: .limits) ?? .init()
        retry = try c.decodeIfPresent(FailurePolicy.self, forKey: .retry) ?? .init()
    }

    struct Invalid: Error, CustomStringConvertible { let description: String }

    /// Reads a profile file (`.json`, `.yaml` or `.yml`).
    static func load(path: String) throws -> ProcessingProfile {
        guard let data = FileManager.default.contents(atPath: path) else { throw Invalid(description: "cannot read the profile \(path)") }
        do {
            if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
                return try YAMLDecoder().decode(ProcessingProfile.self, from: data)
            }
            return try JSONDecoder().decode(ProcessingProfile.self, from: data)
        } catch {
            throw Invalid(description: "the profile \(path) is invalid: \(error)")
        }
    }
}

extension ImageProfile {
    /// The original design: fit 2048 (WebP q85, method 4, a 320 px thumbnail); inputs over 10 MB fit
    /// 1600 and over 25 MB fit 1280.
    static let standard = ImageProfile(
        maxWidth: 2048, maxHeight: 2048, webp: .init(quality: 85, method: 4), jpeg: nil, thumbnailSize: 320, thumbnailQuality: 80,
        tiers: [.init(minInputBytes: 10 << 20, maxWidth: 1600, maxHeight: 1600), .init(minInputBytes: 25 << 20, maxWidth: 1280, maxHeight: 1280)])
}

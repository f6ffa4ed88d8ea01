import MediaKit
import QueueKit

/// The status document's `media` from what the pipelines report.
extension JobStatus.SourceMedia {
    /// A video's facts.
    init(video info: VideoInfo) {
        self.init(
            container: info.container, durationSeconds: info.durationSeconds, width: info.width, height: info.height, videoCodec: info.videoCodec,
            audioCodec: info.audioCodec, bitRate: info.bitRate, frameRate: info.frameRate, rotation: info.rotation, colorSpace: info.colorSpace,
            hdrTransfer: info.hdrTransfer ?? "none", toneMapped: info.toneMapped, bitDepth: info.bitDepth, frameCount: info.frameCount, videoBitRate: info.videoBitRate, audioBitRate: info.audioBitRate, audioChannels: info.audioChannels,
            audioSampleRate: info.audioSampleRate, captureTime: info.captureTime, cameraMake: info.cameraMake, cameraModel: info.cameraModel,
            locationRemoved: info.locationRemoved)
    }

    /// An image's facts.
    init(image facts: ImageFacts) {
        self.init(
            durationSeconds: facts.durationSeconds, width: facts.width, height: facts.height, format: facts.format, orientation: facts.orientation,
            orientationApplied: facts.orientationApplied, colorSpace: facts.colorSpace, iccConverted: facts.iccConverted, bitDepth: facts.bitDepth,
            frameCount: facts.frameCount, captureTime: facts.captureTime, cameraMake: facts.cameraMake, cameraModel: facts.cameraModel,
            locationRemoved: facts.locationRemoved)
    }
}

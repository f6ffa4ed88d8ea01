import MediaKit
import QueueKit

extension JobStatus.SourceMedia {
    /// An audio-only file's facts: no video codec, width or height.
    init(audio info: AudioInfo) {
        self.init(
            container: info.container, durationSeconds: info.durationSeconds, audioCodec: info.codec, bitRate: info.bitRate,
            audioChannels: info.channels, audioSampleRate: info.sampleRate)
    }
}

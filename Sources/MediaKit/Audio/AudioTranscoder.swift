internal import CFFmpeg
import Foundation

/// What the source audio is (for the status document).
public struct AudioInfo: Sendable, Codable, Equatable {
    /// The demuxer's short name: `mp4` (M4A/MP4/MOV), `matroska`, `mp3`, `aac`, `ogg`, `wav`, `flac`.
    public var container: String
    public var durationSeconds: Double?
    /// FFmpeg's codec name: `aac`, `mp3`, `opus`, `vorbis`, `flac`, `pcm_s16le`, …
    public var codec: String
    public var channels: Int
    public var sampleRate: Int
    /// Bits per second of the whole file, when known.
    public var bitRate: Int?

    public init(container: String, durationSeconds: Double?, codec: String, channels: Int, sampleRate: Int, bitRate: Int?) {
        self.container = container
        self.durationSeconds = durationSeconds
        self.codec = codec
        self.channels = channels
        self.sampleRate = sampleRate
        self.bitRate = bitRate
    }
}

extension MediaError {
    /// The video pipeline's answer for an MP4 or Matroska file whose only stream is audio: callers
    /// route such a file to `AudioPipeline` (the processor's `MediaRun`, the fuzz targets).
    public static let audioOnly = MediaError(.unsupported, "the file has an audio stream and no video (for the audio pipeline)")
}

/// One audio transcode: demux an untrusted file through `SafeInput` (the audio demuxers added to
/// the video containers), decode the best audio stream, resample and encode AAC-LC with the video
/// pipeline's `AudioPath` into a fast-start M4A, and feed the resampled samples to a `Waveform` in
/// the same pass. Runs on the calling thread; stops between packets when cancelled or past the
/// job's time limit.
final class AudioTranscoder {
    struct Result {
        var info: AudioInfo
        var durationSeconds: Double
        var waveform: Waveform
        var timings: [String: Double]
    }

    private let input: SafeInput
    private let profile: AudioProfile
    private let limits: VideoLimits
    private let outputPath: String
    private let packet: Owned<AVPacket>
    private let encoded: Owned<AVPacket>
    private let decoder: FrameDecoder

    init(input: SafeInput, outputPath: String, profile: AudioProfile, limits: VideoLimits, clock: JobClock) throws(MediaError) {
        packet = try Owned.packet()
        encoded = try Owned.packet()
        decoder = try FrameDecoder(clock: clock)
        self.input = input
        self.profile = profile
        self.limits = limits
        self.outputPath = outputPath
    }

    func run() throws(MediaError) -> Result {
        var clock = Stopwatch()
        let context = input.context
        // What the header declares is checked before any frame is decoded (probing decodes some), as
        // the video pipeline does: streams, duration, and the size of any picture (cover art).
        try input.checkHeader(limits: limits)
        let probed: Int32 = input.withProbeOptions(limits: limits, count: Int(context.pointee.nb_streams)) { avformat_find_stream_info(context, $0) }
        guard probed >= 0 else { throw MediaError(.corrupt, "the \(input.formatName) file's streams cannot be identified") }
        try input.checkHeader(limits: limits)
        let audioIndex = av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0)
        guard audioIndex >= 0 else { throw MediaError(.corrupt, "the file has no audio stream") }
        for stream in input.streams where stream.pointee.index != audioIndex {
            stream.pointee.discard = AVDISCARD_ALL  // cover art, subtitles, data: never read
        }
        let stream = input.streams[Int(audioIndex)]
        let parameters = stream.pointee.codecpar.pointee
        let audio = try AudioPath(stream: stream, profile: profile.encoding)
        let output = try OutputFile(path: outputPath, format: "ipod")
        try audio.openEncoder(for: output)
        try output.writeHeader()
        let duration = input.durationSeconds
        var waveform = Waveform(
            width: profile.waveform.width, expectedSamples: duration.map { Int(($0 * Double(profile.sampleRate)).rounded(.up)) })
        let channels = profile.channels
        audio.onSamples = { planes, count in waveform.add(planes: planes, channels: channels, count: count) }
        let probe = clock.lap()

        let encode: (UnsafeMutablePointer<AVFrame>?) throws(MediaError) -> Void = { (frame) throws(MediaError) in
            try self.encode(frame, with: audio.encoder!, stream: audio.outputStream!, output: output)
        }
        let push: (UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Void = { (frame) throws(MediaError) in try encode(frame) }
        while true {
            try decoder.clock.check()
            let status = av_read_frame(context, packet.pointer)
            if status < 0 { break }  // the end, or a read error: what was read is kept
            defer { av_packet_unref(packet.pointer) }
            guard packet.pointer.pointee.stream_index == audioIndex else { continue }
            try decoder.decode(packet.pointer, with: audio.decoder.pointer) { (frame) throws(MediaError) in try audio.push(frame, encode: push) }
            let seconds = Double(audio.samplesEncoded) / Double(profile.sampleRate)
            guard seconds <= limits.maxDurationSeconds else {
                throw MediaError(.limit, "duration limit: the audio runs past \(Int(limits.maxDurationSeconds)) s")
            }
        }
        try decoder.decode(nil, with: audio.decoder.pointer) { (frame) throws(MediaError) in try audio.push(frame, encode: push) }
        guard decoder.frames > 0 else { throw MediaError(.corrupt, "no decodable audio (\(decoder.damaged) damaged packets)") }
        try audio.finish(encode: push)
        try encode(nil)
        try output.finish()
        audio.onSamples = nil
        let transcode = clock.lap()
        let info = AudioInfo(
            container: input.containerName, durationSeconds: duration, codec: String(cString: avcodec_get_name(parameters.codec_id)),
            channels: Int(parameters.ch_layout.nb_channels), sampleRate: Int(parameters.sample_rate),
            bitRate: context.pointee.bit_rate > 0 ? Int(context.pointee.bit_rate) : (parameters.bit_rate > 0 ? Int(parameters.bit_rate) : nil))
        return Result(
            info: info, durationSeconds: Double(audio.samplesEncoded) / Double(profile.sampleRate), waveform: waveform,
            timings: ["probe": probe, "transcode": transcode])
    }

    /// Sends one frame (nil: flush) to the AAC encoder and writes every packet that comes out.
    private func encode(
        _ frame: UnsafeMutablePointer<AVFrame>?, with encoder: Owned<AVCodecContext>, stream: UnsafeMutablePointer<AVStream>, output: OutputFile
    ) throws(MediaError) {
        let sent = avcodec_send_frame(encoder.pointer, frame)
        if sent < 0, sent != CFFMPEG_AVERROR_EOF { throw MediaError(.internal, "\(FFmpegError(code: sent, call: "encoding AAC"))") }
        let out = encoded.pointer
        while true {
            let received = avcodec_receive_packet(encoder.pointer, out)
            if received == CFFMPEG_EAGAIN || received == CFFMPEG_AVERROR_EOF { return }
            if received < 0 { throw MediaError(.internal, "\(FFmpegError(code: received, call: "avcodec_receive_packet"))") }
            av_packet_rescale_ts(out, encoder.pointer.pointee.time_base, stream.pointee.time_base)
            out.pointee.stream_index = stream.pointee.index
            try output.write(out)
        }
    }
}

internal import CFFmpeg

/// The audio stream's decoder, resampler, sample FIFO and AAC encoder.
final class AudioPath {
    let decoder: Owned<AVCodecContext>
    var encoder: Owned<AVCodecContext>?
    var outputStream: UnsafeMutablePointer<AVStream>?
    private let profile: VideoProfile.Audio
    private let timeBase: AVRational
    private let startPts: Int64
    private var resampler: OpaquePointer?
    /// What `resampler` was built for.
    private var resamplerInput: AudioFormat?
    private var fifo: OpaquePointer?
    private var nextPts: Int64?
    private var frameSize: Int32 = 1024
    /// Sees every block of resampled audio (planar float, the encoder's channels and rate) before it
    /// is queued for the encoder: the audio pipeline's waveform is drawn from it in the same pass.
    var onSamples: ((_ planes: UnsafePointer<UnsafeMutablePointer<UInt8>?>, _ count: Int) -> Void)?
    /// Samples handed to the encoder so far (at the encoder's rate).
    private(set) var samplesEncoded: Int64 = 0

    init(stream: UnsafeMutablePointer<AVStream>, profile: VideoProfile.Audio) throws(MediaError) {
        let parameters = stream.pointee.codecpar!
        let id = parameters.pointee.codec_id
        let name = String(cString: avcodec_get_name(id))
        guard SafeInput.allowedAudioCodecs.contains(id) else {
            throw MediaError(.unsupported, "the audio codec \(name) is not accepted (AAC, MP3, Opus, Vorbis, AC-3, FLAC, ALAC, PCM)")
        }
        guard let codec = avcodec_find_decoder(id) else { throw MediaError(.unsupported, "no decoder for \(name) in this build") }
        decoder = try Owned.codec(codec)
        guard avcodec_parameters_to_context(decoder.pointer, parameters) >= 0 else { throw MediaError(.corrupt, "the \(name) stream parameters are invalid") }
        decoder.pointer.pointee.pkt_timebase = stream.pointee.time_base
        let opened = avcodec_open2(decoder.pointer, codec, nil)
        guard opened >= 0 else { throw MediaError(.corrupt, "the \(name) decoder refused the stream: \(FFmpegError(code: opened, call: "avcodec_open2"))") }
        self.profile = profile
        timeBase = stream.pointee.time_base
        startPts = stream.pointee.start_time == CFFMPEG_NOPTS_VALUE ? 0 : stream.pointee.start_time
    }

    deinit {
        swr_free(&resampler)
        if let fifo { av_audio_fifo_free(fifo) }
    }

    func openEncoder(for output: any EncodedOutput) throws(MediaError) {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_AAC) else { throw MediaError(.internal, "this FFmpeg build has no AAC encoder") }
        let encoder = try Owned.codec(codec)
        let e = encoder.pointer
        e.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        e.pointee.sample_rate = Int32(profile.sampleRate)
        av_channel_layout_default(&e.pointee.ch_layout, Int32(profile.channels))
        e.pointee.bit_rate = Int64(profile.bitRate)
        e.pointee.time_base = AVRational(num: 1, den: Int32(profile.sampleRate))
        e.pointee.profile = FF_PROFILE_AAC_LOW
        if output.needsGlobalHeader { e.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        let opened = avcodec_open2(e, codec, nil)
        guard opened >= 0 else { throw MediaError(.internal, "\(FFmpegError(code: opened, call: "opening the AAC encoder"))") }
        if e.pointee.frame_size > 0 { frameSize = e.pointee.frame_size }
        guard let fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, Int32(profile.channels), frameSize * 4) else {
            throw MediaError(.internal, "out of memory (audio FIFO)")
        }
        self.fifo = fifo
        self.encoder = encoder
        outputStream = try output.addStream(from: e)
    }

    /// Resamples a decoded frame into the FIFO and encodes every full AAC frame. The resampler is
    /// built for the format, rate and channel layout of the frames it gets; a frame that differs
    /// from the last (an MP3 that turns from stereo to mono, a stream spliced from two sources)
    /// first drains the old resampler and then gets a new one, so libswresample never reads planes
    /// that the frame does not have.
    func push(_ frame: UnsafeMutablePointer<AVFrame>, encode: (UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Void) throws(MediaError) {
        guard encoder != nil else { return }
        let format = try AudioFormat(of: frame)
        if format != resamplerInput {
            if resampler != nil {
                try convert(input: nil, count: 0)  // what the old resampler still holds, in the old format
                swr_free(&resampler)
            }
            try makeResampler(for: format)
        }
        if nextPts == nil {
            // The first sample's position, so audio stays in step with the video.
            let timestamp = frame.pointee.best_effort_timestamp == CFFMPEG_NOPTS_VALUE ? startPts : frame.pointee.best_effort_timestamp
            let seconds = Double(timestamp - startPts) * timeBase.seconds
            nextPts = max(0, Int64((seconds * Double(profile.sampleRate)).rounded()))
        }
        try convert(input: frame.pointee.extended_data, count: frame.pointee.nb_samples)
        try drain(final: false, encode: encode)
    }

    private func makeResampler(for format: AudioFormat) throws(MediaError) {
        guard let encoder else { return }
        var layout = format.layout
        let status = swr_alloc_set_opts2(
            &resampler, &encoder.pointer.pointee.ch_layout, AV_SAMPLE_FMT_FLTP, encoder.pointer.pointee.sample_rate, &layout,
            format.sampleFormat, format.sampleRate, 0, nil)
        guard status >= 0, swr_init(resampler) >= 0 else {
            swr_free(&resampler)
            resamplerInput = nil
            throw MediaError(.unsupported, "cannot resample \(format)")
        }
        resamplerInput = format
    }

    /// Drains the resampler and encodes what is left (the last frame may be short).
    func finish(encode: (UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Void) throws(MediaError) {
        guard resampler != nil else { return }
        try convert(input: nil, count: 0)
        try drain(final: true, encode: encode)
    }

    private func convert(input: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, count: Int32) throws(MediaError) {
        let capacity = swr_get_out_samples(resampler, count)
        guard capacity > 0 else { return }
        let buffer = try FrameConverter.audioFrame(samples: capacity, like: encoder!.pointer)
        let produced = swr_convert(
            resampler, buffer.pointer.pointee.extended_data, capacity,
            input.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: UnsafePointer<UInt8>?.self) }, count)
        guard produced >= 0 else { throw MediaError(.corrupt, "\(FFmpegError(code: produced, call: "resampling audio"))") }
        if produced > 0 {
            if let onSamples, let planes = buffer.pointer.pointee.extended_data { onSamples(UnsafePointer(planes), Int(produced)) }
            let written = av_audio_fifo_write(
                fifo, UnsafeMutableRawPointer(buffer.pointer.pointee.extended_data).assumingMemoryBound(to: UnsafeMutableRawPointer?.self), produced)
            guard written == produced else { throw MediaError(.internal, "out of memory (audio FIFO)") }
        }
    }

    private func drain(final: Bool, encode: (UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Void) throws(MediaError) {
        while true {
            let available = av_audio_fifo_size(fifo)
            guard available >= frameSize || (final && available > 0) else { return }
            let count = min(available, frameSize)
            let frame = try FrameConverter.audioFrame(samples: count, like: encoder!.pointer)
            av_audio_fifo_read(fifo, UnsafeMutableRawPointer(frame.pointer.pointee.extended_data).assumingMemoryBound(to: UnsafeMutableRawPointer?.self), count)
            frame.pointer.pointee.pts = nextPts ?? 0
            nextPts = (nextPts ?? 0) + Int64(count)
            samplesEncoded += Int64(count)
            try encode(frame.pointer)
        }
    }
}

extension FrameConverter {
    /// An audio frame of `samples` in the encoder's format, layout and rate.
    static func audioFrame(samples: Int32, like encoder: UnsafeMutablePointer<AVCodecContext>) throws(MediaError) -> Owned<AVFrame> {
        let frame = try Owned.frame()
        let f = frame.pointer
        f.pointee.nb_samples = samples
        f.pointee.format = encoder.pointee.sample_fmt.rawValue
        f.pointee.sample_rate = encoder.pointee.sample_rate
        guard av_channel_layout_copy(&f.pointee.ch_layout, &encoder.pointee.ch_layout) >= 0, av_frame_get_buffer(f, 0) >= 0 else {
            throw MediaError(.internal, "out of memory (audio frame)")
        }
        return frame
    }
}


/// The shape of decoded audio that a resampler is built for. Layouts are compared with libavutil's
/// own comparison (order, channel count and mask or map); an unspecified layout counts as the
/// default layout of its channel count, as the `ffmpeg` command line treats it.
struct AudioFormat: Equatable, CustomStringConvertible {
    let sampleFormat: AVSampleFormat
    let sampleRate: Int32
    let channels: Int32
    /// Native or default order only (a custom map is reduced to its channel count): no heap data
    /// to own, so the value can be copied freely.
    let layout: AVChannelLayout

    init(of frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) {
        sampleFormat = AVSampleFormat(frame.pointee.format)
        sampleRate = frame.pointee.sample_rate
        channels = frame.pointee.ch_layout.nb_channels
        guard channels > 0, channels <= 64, sampleRate > 0, av_get_bytes_per_sample(sampleFormat) > 0 else {
            throw MediaError(.corrupt, "a decoded audio frame has \(channels) channels at \(sampleRate) Hz")
        }
        var layout = AVChannelLayout()
        if frame.pointee.ch_layout.order != AV_CHANNEL_ORDER_NATIVE || av_channel_layout_from_mask(&layout, frame.pointee.ch_layout.u.mask) < 0
            || layout.nb_channels != channels
        {
            av_channel_layout_default(&layout, channels)
        }
        self.layout = layout
    }

    static func == (a: AudioFormat, b: AudioFormat) -> Bool {
        var left = a.layout
        var right = b.layout
        return a.sampleFormat == b.sampleFormat && a.sampleRate == b.sampleRate && a.channels == b.channels
            && av_channel_layout_compare(&left, &right) == 0
    }

    var description: String {
        let name = av_get_sample_fmt_name(sampleFormat).map { String(cString: $0) } ?? "unknown"
        return "\(sampleRate) Hz \(channels)-channel \(name) audio"
    }
}

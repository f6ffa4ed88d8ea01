internal import CFFmpeg
import Glibc

/// An untrusted video file opened for demuxing, with nothing reachable but the file's own bytes:
/// FFmpeg reads through our own AVIO over a file descriptor (no protocol is ever opened), every
/// nested open a demuxer attempts (HLS segments, concat entries, MOV data references) is refused,
/// only the allowed demuxers and decoders run, and probing, stream count, frame size and duration
/// are bounded.
final class SafeInput {
    /// Demuxers by FFmpeg name: MP4/MOV, Matroska/WebM and AVI. Never HLS, DASH, concat, playlists or
    /// the raw/image formats that probe from anything.
    static let allowedFormats = ["mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "avi"]
    /// The audio pipeline's demuxers: the video containers (an M4A is MP4, an audio-only MKV is
    /// Matroska) plus raw MP3, ADTS AAC, Ogg, WAV and FLAC. Never the raw PCM or image formats.
    static let allowedAudioFormats = allowedFormats + ["mp3", "aac", "ogg", "wav", "flac"]
    static let allowedVideoCodecs: Set<AVCodecID> = [
        AV_CODEC_ID_H264, AV_CODEC_ID_HEVC, AV_CODEC_ID_MPEG4, AV_CODEC_ID_PRORES, AV_CODEC_ID_MJPEG, AV_CODEC_ID_VP8,
        AV_CODEC_ID_VP9, AV_CODEC_ID_AV1,
    ]
    static let allowedAudioCodecs: Set<AVCodecID> = [
        AV_CODEC_ID_AAC, AV_CODEC_ID_MP3, AV_CODEC_ID_OPUS, AV_CODEC_ID_VORBIS, AV_CODEC_ID_AC3, AV_CODEC_ID_EAC3, AV_CODEC_ID_FLAC,
        AV_CODEC_ID_ALAC, AV_CODEC_ID_PCM_S16LE, AV_CODEC_ID_PCM_S16BE, AV_CODEC_ID_PCM_S24LE, AV_CODEC_ID_PCM_S24BE,
        AV_CODEC_ID_PCM_S32LE, AV_CODEC_ID_PCM_S32BE, AV_CODEC_ID_PCM_F32LE, AV_CODEC_ID_PCM_F32BE, AV_CODEC_ID_PCM_F64LE, AV_CODEC_ID_PCM_U8,
        // WAV's other common sample formats (the audio pipeline reads WAV files).
        AV_CODEC_ID_PCM_S8, AV_CODEC_ID_PCM_F64BE, AV_CODEC_ID_PCM_S24DAUD, AV_CODEC_ID_PCM_ALAW, AV_CODEC_ID_PCM_MULAW,
    ]

    /// The decoders FFmpeg may open, during probing too (`codec_whitelist`).
    static let allowedDecoderNames: String = {
        var names: [String] = []
        var state: UnsafeMutableRawPointer?
        while let codec = av_codec_iterate(&state) {
            if av_codec_is_decoder(codec) != 0, allowedVideoCodecs.contains(codec.pointee.id) || allowedAudioCodecs.contains(codec.pointee.id) {
                names.append(String(cString: codec.pointee.name))
            }
        }
        return names.joined(separator: ",")
    }()

    let context: UnsafeMutablePointer<AVFormatContext>
    let formatName: String
    private let io: UnsafeMutablePointer<AVIOContext>
    private let descriptor: UnsafeMutablePointer<Int32>

    /// `formats`: the demuxers this caller accepts (`allowedFormats`, or `allowedAudioFormats` for
    /// the audio pipeline); `accepted` names them for people in the refusal; `unrecognised` is the
    /// failure when no demuxer recognises the bytes at all (the audio pipeline, which only gets
    /// what the sniffer took for audio, calls that `corrupt`).
    init(
        path: String, limits: VideoLimits, formats: [String] = SafeInput.allowedFormats,
        accepted: String = "only MP4/MOV, Matroska/WebM and AVI are accepted",
        unrecognised: MediaError = MediaError(.unsupported, "not a recognised video format")
    ) throws(MediaError) {
        _ = FFmpegLog.quiet
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MediaError(.internal, "cannot open \(path): \(String(cString: strerror(errno)))") }
        descriptor = .allocate(capacity: 1)
        descriptor.initialize(to: fd)
        let bufferSize: Int32 = 1 << 16
        guard let buffer = av_malloc(Int(bufferSize)),
            let io = avio_alloc_context(
                buffer.assumingMemoryBound(to: UInt8.self), bufferSize, 0, UnsafeMutableRawPointer(descriptor), SafeInput.readPacket, nil,
                SafeInput.seek)
        else {
            close(fd)
            descriptor.deallocate()
            throw MediaError(.internal, "out of memory (avio_alloc_context)")
        }
        self.io = io
        var opened: UnsafeMutablePointer<AVFormatContext>?
        do throws(MediaError) {
            // Identify the container from its bytes alone (no file name hint), then refuse anything
            // outside the allowlist before a demuxer reads a header.
            var format: UnsafePointer<AVInputFormat>?
            let score = av_probe_input_buffer2(io, &format, "", nil, 0, UInt32(clamping: limits.probeSizeBytes))
            guard score >= 0, let format else { throw unrecognised }
            let name = String(cString: format.pointee.name)
            guard name.split(separator: ",").contains(where: { formats.contains(String($0)) }) else {
                throw MediaError(.unsupported, "the container is '\(name)'; \(accepted)")
            }
            formatName = name
            guard let context = avformat_alloc_context() else { throw MediaError(.internal, "out of memory (avformat_alloc_context)") }
            opened = context
            context.pointee.pb = io
            context.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
            cffmpeg_refuse_nested_opens(context)
            var options = Options([
                ("format_whitelist", formats.joined(separator: ",")),
                ("codec_whitelist", SafeInput.allowedDecoderNames),
                ("protocol_whitelist", "none"),
                // One more than allowed, so a file at the limit opens and is refused with a clear reason
                // below, while a file with hundreds of streams stops while its header is read.
                ("max_streams", "\(limits.maxStreams + 1)"),
                ("probesize", "\(limits.probeSizeBytes)"),
                ("analyzeduration", "\(Int(limits.analyzeDurationSeconds * 1_000_000))"),
                ("enable_drefs", "0"),
            ])
            let status = avformat_open_input(&opened, nil, format, &options.dictionary)
            if status < 0 {
                if status == cffmpeg_averror(ENOMEM) {
                    throw MediaError(.limit, "stream limit: the file declares more than \(limits.maxStreams) streams")
                }
                throw MediaError(.corrupt, "the \(name) container cannot be read: \(FFmpegError(code: status, call: "avformat_open_input"))")
            }
            guard let context = opened else { throw MediaError(.internal, "avformat_open_input returned no context") }
            self.context = context
        } catch {
            if opened != nil { avformat_close_input(&opened) }
            var ioPointer: UnsafeMutablePointer<AVIOContext>? = io
            av_freep(&io.pointee.buffer)
            avio_context_free(&ioPointer)
            close(fd)
            descriptor.deallocate()
            throw error
        }
    }

    deinit {
        var opened: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&opened)
        var ioPointer: UnsafeMutablePointer<AVIOContext>? = io
        av_freep(&io.pointee.buffer)
        avio_context_free(&ioPointer)
        close(descriptor.pointee)
        descriptor.deallocate()
    }

    /// A short name for people: `mp4` (MP4/MOV/M4V/M4A/3GP), `matroska` (MKV/WebM), `avi`, or the
    /// audio demuxer's own name (`mp3`, `aac`, `ogg`, `wav`, `flac`).
    var containerName: String {
        if formatName.hasPrefix("mov") { return "mp4" }
        if formatName.hasPrefix("matroska") { return "matroska" }
        return formatName
    }

    var streams: [UnsafeMutablePointer<AVStream>] {
        (0..<Int(context.pointee.nb_streams)).compactMap { context.pointee.streams[$0] }
    }

    /// Media duration from the header, when it declares one.
    var durationSeconds: Double? {
        let duration = context.pointee.duration
        guard duration != CFFMPEG_NOPTS_VALUE, duration > 0 else { return nil }
        return Double(duration) / Double(AV_TIME_BASE)
    }

    /// Start time in seconds (timestamps are shifted so the output starts at zero).
    var startSeconds: Double {
        let start = context.pointee.start_time
        return start == CFFMPEG_NOPTS_VALUE ? 0 : Double(start) / Double(AV_TIME_BASE)
    }

    private static let readPacket: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt8>?, Int32) -> Int32 = { opaque, buffer, size in
        guard let opaque, let buffer else { return cffmpeg_averror(EINVAL) }
        let count = read(opaque.load(as: Int32.self), buffer, Int(size))
        if count == 0 { return CFFMPEG_AVERROR_EOF }
        if count < 0 { return cffmpeg_averror(errno) }
        return Int32(count)
    }

    private static let seek: @convention(c) (UnsafeMutableRawPointer?, Int64, Int32) -> Int64 = { opaque, offset, whence in
        guard let opaque else { return Int64(cffmpeg_averror(EINVAL)) }
        let fd = opaque.load(as: Int32.self)
        if whence & AVSEEK_SIZE != 0 {
            var info = stat()
            return fstat(fd, &info) == 0 ? Int64(info.st_size) : Int64(cffmpeg_averror(errno))
        }
        let position = lseek(fd, off_t(offset), whence & ~AVSEEK_FORCE)
        return position < 0 ? Int64(cffmpeg_averror(errno)) : Int64(position)
    }
}

internal import CFFmpeg

/// The streams of an opened input that a pass decodes: the best video stream and the audio stream
/// that goes with it (every other stream is discarded, never read).
struct InputStreams {
    let videoIndex: Int32
    let audioIndex: Int32
    let video: UnsafeMutablePointer<AVStream>
    let audio: UnsafeMutablePointer<AVStream>?
}

extension SafeInput {
    /// Checks what the header declares, identifies the streams (probing decodes some packets, under
    /// the pixel limit and the decoder allowlist), checks again, and picks the streams: what every
    /// pass over an untrusted file (the MP4 transcode, the HLS ladder) does before decoding.
    func selectStreams(limits: VideoLimits) throws(MediaError) -> InputStreams {
        // What the header declares is checked before any frame is decoded (probing decodes some).
        try checkHeader(limits: limits)
        let probed: Int32 = withProbeOptions(limits: limits, count: Int(context.pointee.nb_streams)) { avformat_find_stream_info(context, $0) }
        guard probed >= 0 else {
            throw MediaError(.corrupt, "the \(formatName) file's streams cannot be identified")
        }
        try checkHeader(limits: limits)
        let streams = self.streams
        var videoIndex = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        if videoIndex >= 0, Self.isCoverArt(streams[Int(videoIndex)]) {
            // A song's cover picture is not a video: the first moving-picture stream, or none.
            videoIndex = streams.first { $0.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO && !Self.isCoverArt($0) }?.pointee.index ?? -1
        }
        guard videoIndex >= 0 else {
            // An MP4 or Matroska file whose only stream is audio (perhaps with cover art): the audio
            // pipeline's (callers route it).
            if av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0) >= 0 { throw MediaError.audioOnly }
            throw MediaError(.corrupt, "the file has no video stream")
        }
        let audioIndex = av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, videoIndex, nil, 0)
        for stream in streams where stream.pointee.index != videoIndex && stream.pointee.index != audioIndex {
            stream.pointee.discard = AVDISCARD_ALL  // subtitles, data, extra tracks: never read
        }
        return InputStreams(
            videoIndex: videoIndex, audioIndex: audioIndex, video: streams[Int(videoIndex)], audio: audioIndex >= 0 ? streams[Int(audioIndex)] : nil)
    }

    /// An embedded picture (album cover) rather than a video track.
    static func isCoverArt(_ stream: UnsafeMutablePointer<AVStream>) -> Bool {
        stream.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC != 0
    }

    /// Stream count, duration and frame sizes as declared.
    func checkHeader(limits: VideoLimits) throws(MediaError) {
        let streams = self.streams
        guard streams.count <= limits.maxStreams else {
            throw MediaError(.limit, "stream limit: \(streams.count) streams is over the limit of \(limits.maxStreams)")
        }
        if let duration = durationSeconds, duration > limits.maxDurationSeconds {
            throw MediaError(.limit, "duration limit: \(Int(duration)) s is over the limit of \(Int(limits.maxDurationSeconds)) s")
        }
        for stream in streams where stream.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO {
            let width = Int(stream.pointee.codecpar.pointee.width)
            let height = Int(stream.pointee.codecpar.pointee.height)
            let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
            if overflow || pixels > limits.maxPixels {
                throw MediaError(.limit, "pixel limit: \(width)×\(height) frames are over \(limits.maxPixels / 1_000_000) MP")
            }
        }
    }

    /// Per-stream decoder options for probing: the pixel limit and the decoder allowlist (the audio
    /// pipeline probes with them too).
    func withProbeOptions<R>(limits: VideoLimits, count: Int, _ body: (UnsafeMutablePointer<OpaquePointer?>?) -> R) -> R {
        var dictionaries = [OpaquePointer?](repeating: nil, count: max(1, count))
        for index in dictionaries.indices {
            av_dict_set(&dictionaries[index], "max_pixels", "\(limits.maxPixels)", 0)
            av_dict_set(&dictionaries[index], "codec_whitelist", SafeInput.allowedDecoderNames, 0)
        }
        defer { for index in dictionaries.indices { av_dict_free(&dictionaries[index]) } }
        return dictionaries.withUnsafeMutableBufferPointer { body($0.baseAddress) }
    }
}

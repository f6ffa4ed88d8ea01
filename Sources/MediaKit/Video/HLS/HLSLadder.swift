internal import CFFmpeg
import Foundation

/// The HLS ladder in one pass over the source: one `SafeInput` demux and one video decoder feed
/// every rung (`HLSRung`: scaler, x264 and HLS muxer on a thread of its own) and one AAC encode
/// (`AudioPath`, on this thread), then the master playlist is written from what the rungs wrote.
///
///     hls/master.m3u8              variants (BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION, CODECS,
///                                  FRAME-RATE) and the AAC rendition's group
///     hls/720p/index.m3u8, init.mp4, seg_00000.m4s, …   one directory per rung
///     hls/audio/index.m3u8, init.mp4, seg_00000.m4s, …
///
/// Every rung gets the same frames (the MP4's frame-rate cap) with the same timestamps, and the
/// first frame at or after each multiple of `segmentSeconds` is forced to be a keyframe in all of
/// them (x264's scene cuts off), so segments start at the same times in every rung. Runs on the
/// calling thread; stops between packets when cancelled or past the job's time limit. On failure the
/// directory is removed.
final class HLSLadder {
    struct File {
        /// Relative to the ladder's parent (`hls/720p/seg_00000.m4s`).
        var name: String
        var contentType: String
        var path: String
        var bytes: Int
    }

    struct Variant {
        var name: String
        var width: Int
        var height: Int
        var codecs: String
        var bandwidth: Int
        var averageBandwidth: Int
    }

    struct Result {
        /// `hls/master.m3u8`.
        var master: File
        /// Every other file under `hls/`.
        var files: [File]
        var variants: [Variant]
        var durationSeconds: Double
        var frameRate: Double?
        /// Keyframe times of each rung (the same in every rung).
        var keyframes: [[Double]]
    }

    static let directoryName = "hls"
    static let masterName = "master.m3u8"
    static let audioName = "audio"

    private let input: SafeInput
    private let directory: String
    private let profile: VideoProfile
    private let settings: VideoProfile.HLS
    private let limits: VideoLimits

    /// `parent` is the job's output directory; the ladder goes to `parent/hls`.
    init(input: SafeInput, parent: String, profile: VideoProfile, limits: VideoLimits, clock: JobClock)
        throws(MediaError)
    {
        packet = try Owned.packet()
        encoded = try Owned.packet()
        decoder = try FrameDecoder(clock: clock)
        self.input = input
        directory = (parent as NSString).appendingPathComponent(Self.directoryName)
        self.profile = profile
        settings = profile.hls
        self.limits = limits
    }

    // MARK: State of the run

    private let packet: Owned<AVPacket>
    private let encoded: Owned<AVPacket>
    private let decoder: FrameDecoder
    private var video: VideoPath!
    private var audio: AudioPath?
    private var audioOutput: HLSOutput?
    private var audioStream: UnsafeMutablePointer<AVStream>?
    private var audioEnd = 0.0
    private var rungs: [HLSRung] = []
    private var lastKept: Double?
    private var keptFrames = 0
    private var nextKeyframeAt = 0.0

    func run() throws(MediaError) -> Result {
        do {
            return try ladder()
        } catch {
            for rung in rungs { rung.stop() }
            rungs = []
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    private func ladder() throws(MediaError) -> Result {
        let context = input.context
        let selected = try input.selectStreams(limits: limits)
        // The decoder alone: the rungs convert and encode.
        video = try VideoPath(
            stream: selected.video, context: context, tier: VideoProfile.Tier(maxInputBytes: nil, maxWidth: 16, maxHeight: 16, crf: 23, preset: "medium"),
            limits: limits, threads: profile.threads)
        if let stream = selected.audio {
            audio = try AudioPath(stream: stream, profile: profile.audio)
        }
        try? FileManager.default.removeItem(atPath: directory)
        guard mkdir(directory, 0o755) == 0 else { throw MediaError(.internal, "cannot create \(directory): \(String(cString: strerror(errno)))") }

        let parameters = selected.video.pointee.codecpar.pointee
        let plan = settings.plan(width: Int(parameters.width), height: Int(parameters.height))
        let frameRate = VideoProfile.HLS.frameRate(source: video.frameRate, maxFrameRate: profile.maxFrameRate)
        let keyint = max(1, Int((settings.segmentSeconds * (frameRate ?? profile.maxFrameRate)).rounded()))
        var names: Set<String> = []
        for rung in plan {
            var name = "\(min(rung.width, rung.height))p"
            if names.contains(name) { name += "-\(names.count)" }
            names.insert(name)
            rungs.append(
                try HLSRung(
                    name: name, plan: rung, directory: (directory as NSString).appendingPathComponent(name), rotation: video.rotation,
                    timeBase: video.timeBase, frameRate: video.nominalFrameRate, keyint: keyint, sampleAspect: video.turnedSampleAspect,
                    frameDuration: video.frameDuration, preset: settings.preset, segmentSeconds: settings.segmentSeconds, threads: profile.threads))
        }
        if let audio {
            let output = try HLSOutput(directory: (directory as NSString).appendingPathComponent(Self.audioName), segmentSeconds: settings.segmentSeconds)
            try audio.openEncoder(for: output)
            try output.writeHeader()
            audioOutput = output
            audioStream = audio.outputStream
        }
        for rung in rungs { try rung.start() }

        while true {
            try decoder.clock.check()
            let status = av_read_frame(context, packet.pointer)
            if status < 0 { break }
            defer { av_packet_unref(packet.pointer) }
            if packet.pointer.pointee.stream_index == selected.videoIndex {
                try decoder.decode(packet.pointer, with: video.decoder.pointer) { (frame) throws(MediaError) in try self.videoFrame(frame) }
            } else if let audio, packet.pointer.pointee.stream_index == selected.audioIndex {
                try decoder.decode(packet.pointer, with: audio.decoder.pointer) { (frame) throws(MediaError) in try self.audioFrame(frame, audio) }
            }
        }
        try decoder.decode(nil, with: video.decoder.pointer) { (frame) throws(MediaError) in try self.videoFrame(frame) }
        if let audio {
            try decoder.decode(nil, with: audio.decoder.pointer) { (frame) throws(MediaError) in try self.audioFrame(frame, audio) }
        }
        guard keptFrames > 0 else {
            throw MediaError(.corrupt, "no decodable video frames (\(decoder.damaged) damaged packets)")
        }
        for rung in rungs { rung.finish() }
        if let audio, let output = audioOutput {
            try audio.finish { (frame) throws(MediaError) in try self.encodeAudio(frame, audio) }
            try encodeAudio(nil, audio)
            try output.finish()
        }
        var ends: [Double] = []
        var keyframes: [[Double]] = []
        for rung in rungs {
            let done = try rung.wait()
            ends.append(done.end)
            keyframes.append(done.keyframes)
        }
        return try writeMaster(duration: ends.max() ?? 0, frameRate: frameRate, keyframes: keyframes)
    }

    /// The MP4's timing rules (`Transcoder.videoFrame`): timestamps from the container's start,
    /// pre-roll dropped, the duration limit, frames closer than 1/maxFrameRate dropped. A kept frame
    /// goes to every rung, as a keyframe when it is the first at or after the next segment boundary.
    private func videoFrame(_ frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) {
        var timestamp = frame.pointee.best_effort_timestamp
        if timestamp == CFFMPEG_NOPTS_VALUE { timestamp = video.lastTimestamp.map { $0 + 1 } ?? video.startPts }
        video.lastTimestamp = timestamp
        let pts = timestamp - video.startPts
        guard pts >= 0 else { return }
        let seconds = Double(pts) * video.timeBase.seconds
        guard seconds <= limits.maxDurationSeconds else {
            throw MediaError(.limit, "duration limit: the video runs past \(Int(limits.maxDurationSeconds)) s")
        }
        if let lastKept {
            let interval = 1 / profile.maxFrameRate
            let tolerance = min(interval / 4, max(video.timeBase.seconds, 0.001))
            if seconds - lastKept < interval - tolerance { return }
        }
        lastKept = seconds
        keptFrames += 1
        let keyframe = seconds + 1e-6 >= nextKeyframeAt
        if keyframe {
            while nextKeyframeAt <= seconds + 1e-6 { nextKeyframeAt += settings.segmentSeconds }
        }
        // HDR frames tone-mapped to SDR once, for every rung (as the MP4's are).
        let standard = try video.dynamicRange.standard(frame)
        standard.pointee.pts = pts
        for rung in rungs { try rung.push(standard, keyframe: keyframe) }
    }

    // MARK: Audio

    private func audioFrame(_ frame: UnsafeMutablePointer<AVFrame>, _ audio: AudioPath) throws(MediaError) {
        try audio.push(frame) { (out) throws(MediaError) in try self.encodeAudio(out, audio) }
    }

    private func encodeAudio(_ frame: UnsafeMutablePointer<AVFrame>?, _ audio: AudioPath) throws(MediaError) {
        guard let encoder = audio.encoder, let stream = audioStream, let output = audioOutput else { return }
        let sent = avcodec_send_frame(encoder.pointer, frame)
        if sent < 0, sent != CFFMPEG_AVERROR_EOF {
            throw MediaError(.internal, "\(FFmpegError(code: sent, call: "encoding the HLS audio (aac)"))")
        }
        let out = encoded.pointer
        while true {
            let received = avcodec_receive_packet(encoder.pointer, out)
            if received == CFFMPEG_EAGAIN || received == CFFMPEG_AVERROR_EOF { return }
            if received < 0 { throw MediaError(.internal, "\(FFmpegError(code: received, call: "avcodec_receive_packet"))") }
            av_packet_rescale_ts(out, encoder.pointer.pointee.time_base, stream.pointee.time_base)
            out.pointee.stream_index = stream.pointee.index
            audioEnd = max(audioEnd, Double(out.pointee.pts + out.pointee.duration) * stream.pointee.time_base.seconds)
            try output.write(out)
        }
    }

    // MARK: The master playlist

    private func writeMaster(duration: Double, frameRate: Double?, keyframes: [[Double]]) throws(MediaError) -> Result {
        var files: [File] = []
        func collect(_ name: String) throws(MediaError) -> HLSPlaylist {
            let folder = (directory as NSString).appendingPathComponent(name)
            let playlist = try HLSPlaylist(path: (folder as NSString).appendingPathComponent(HLSOutput.playlistName))
            for file in [HLSOutput.playlistName, HLSOutput.initName] + playlist.segments.map(\.uri) {
                let path = (folder as NSString).appendingPathComponent(file)
                files.append(File(name: "\(Self.directoryName)/\(name)/\(file)", contentType: Self.contentType(of: file), path: path, bytes: Self.size(of: path)))
            }
            return playlist
        }
        let audioPlaylist = audioOutput == nil ? nil : try collect(Self.audioName)
        let audioRates = audioPlaylist.map { HLSPlaylist.rates($0, folder: (directory as NSString).appendingPathComponent(Self.audioName)) }
        var variants: [Variant] = []
        for rung in rungs {
            let playlist = try collect(rung.name)
            let rates = HLSPlaylist.rates(playlist, folder: (directory as NSString).appendingPathComponent(rung.name))
            var codecs = rung.codecs
            if audioPlaylist != nil { codecs += ",mp4a.40.2" }
            variants.append(
                Variant(
                    name: rung.name, width: rung.width, height: rung.height, codecs: codecs, bandwidth: rates.peak + (audioRates?.peak ?? 0),
                    averageBandwidth: rates.average + (audioRates?.average ?? 0)))
        }
        var text = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        if audioPlaylist != nil {
            text += "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio\",LANGUAGE=\"und\",DEFAULT=YES,AUTOSELECT=YES,"
                + "CHANNELS=\"\(profile.audio.channels)\",URI=\"\(Self.audioName)/\(HLSOutput.playlistName)\"\n"
        }
        for variant in variants {
            var attributes = [
                "BANDWIDTH=\(variant.bandwidth)", "AVERAGE-BANDWIDTH=\(variant.averageBandwidth)", "CODECS=\"\(variant.codecs)\"",
                "RESOLUTION=\(variant.width)x\(variant.height)",
            ]
            if let frameRate { attributes.append(String(format: "FRAME-RATE=%.3f", frameRate)) }
            if audioPlaylist != nil { attributes.append("AUDIO=\"audio\"") }
            text += "#EXT-X-STREAM-INF:" + attributes.joined(separator: ",") + "\n\(variant.name)/\(HLSOutput.playlistName)\n"
        }
        let masterPath = (directory as NSString).appendingPathComponent(Self.masterName)
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: masterPath))
        } catch {
            throw MediaError(.internal, "writing \(masterPath): \(error)")
        }
        let master = File(
            name: "\(Self.directoryName)/\(Self.masterName)", contentType: Self.contentType(of: Self.masterName), path: masterPath, bytes: text.utf8.count)
        return Result(master: master, files: files, variants: variants, durationSeconds: max(duration, 0), frameRate: frameRate, keyframes: keyframes)
    }

    static func contentType(of name: String) -> String {
        if name.hasSuffix(".m3u8") { return "application/vnd.apple.mpegurl" }
        if name.hasSuffix(".m4s") { return "video/iso.segment" }
        return "video/mp4"
    }

    static func size(of path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}

/// What a media playlist the muxer wrote lists: its segments and their durations.
struct HLSPlaylist {
    struct Segment {
        var uri: String
        var duration: Double
    }
    var segments: [Segment] = []

    init(path: String) throws(MediaError) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw MediaError(.internal, "the HLS muxer wrote no playlist at \(path)")
        }
        var duration: Double?
        for line in text.split(whereSeparator: \.isNewline).map(String.init) {
            if line.hasPrefix("#EXTINF:") {
                duration = Double(line.dropFirst("#EXTINF:".count).prefix { $0 != "," })
            } else if !line.isEmpty, !line.hasPrefix("#") {
                // Names the muxer made from its own pattern: plain file names in the playlist's folder.
                guard !line.contains("/"), !line.hasPrefix(".") else { throw MediaError(.internal, "unexpected segment name \(line) in \(path)") }
                segments.append(Segment(uri: line, duration: duration ?? 0))
                duration = nil
            }
        }
        guard !segments.isEmpty else { throw MediaError(.internal, "the HLS playlist \(path) lists no segments") }
    }

    /// Bits per second: the peak over segments (each segment's bytes over its `#EXTINF` duration,
    /// as the HLS spec defines BANDWIDTH) and the average over the whole playlist.
    static func rates(_ playlist: HLSPlaylist, folder: String) -> (peak: Int, average: Int) {
        var peak = 0.0
        var bits = 0.0
        var seconds = 0.0
        for segment in playlist.segments {
            let size = Double(HLSLadder.size(of: (folder as NSString).appendingPathComponent(segment.uri))) * 8
            bits += size
            seconds += segment.duration
            peak = max(peak, size / max(segment.duration, 0.001))
        }
        let average = seconds > 0 ? bits / seconds : 0
        return (Int(peak.rounded(.up)), Int(average.rounded(.up)))
    }
}

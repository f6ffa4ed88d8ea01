internal import CFFmpeg
import Foundation

/// One rung of the ladder on a thread of its own: decoded frames come in through a short queue
/// (references to the decoder's buffers, which are only read), are converted to the rung's size
/// (libswscale, then turned as the display matrix says), encoded by the rung's x264 and written by
/// its HLS muxer. The decoding thread is never blocked by a rung for longer than the queue is full.
final class HLSRung: @unchecked Sendable {
    let name: String
    let width: Int
    let height: Int
    let plan: VideoProfile.HLS.PlannedRung
    let output: HLSOutput
    private let pictures: PictureConverter
    private let encoder: Owned<AVCodecContext>
    private let stream: UnsafeMutablePointer<AVStream>
    private let encoded: Owned<AVPacket>
    private let frameDuration: Int64?
    private let sampleAspect: AVRational

    /// Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [(frame: Owned<AVFrame>, keyframe: Bool)] = []
    private var ending = false
    private var stopping = false
    private var failure: MediaError?
    private var running = false
    /// The end of the last packet written (seconds), when done.
    private var end = 0.0
    private var keyframeTimes: [Double] = []

    /// Frames waiting per rung: enough to ride out one slow frame, few enough that queued decoder
    /// buffers stay small (eight 1080p frames are 25 MB).
    static let capacity = 8

    init(
        name: String, plan: VideoProfile.HLS.PlannedRung, directory: String, rotation: Int, timeBase: AVRational, frameRate: AVRational,
        keyint: Int, sampleAspect: AVRational, frameDuration: Int64?, preset: String, segmentSeconds: Double, threads: Int
    ) throws(MediaError) {
        self.name = name
        self.plan = plan
        pictures = PictureConverter(scaledWidth: plan.width, scaledHeight: plan.height, rotation: rotation)
        width = pictures.outputWidth
        height = pictures.outputHeight
        self.frameDuration = frameDuration
        self.sampleAspect = sampleAspect
        output = try HLSOutput(directory: directory, segmentSeconds: segmentSeconds)
        encoded = try Owned.packet()
        // The same GOP settings in every rung: at most `keyint` frames apart, no scene cuts (they
        // depend on the picture, so they would differ between rungs), and a keyframe forced at each
        // segment start (the frames' pict_type, set by the ladder), so every rung's keyframes are at
        // the same frames.
        var options = [("preset", preset), ("crf", "\(plan.crf)"), ("g", "\(keyint)"), ("keyint_min", "\(keyint)"), ("sc_threshold", "0")]
        if let rate = plan.maxBitRate { options += [("maxrate", "\(rate)"), ("bufsize", "\(rate * 2)")] }
        encoder = try VideoPath.openX264(
            width: pictures.outputWidth, height: pictures.outputHeight, timeBase: timeBase, frameRate: frameRate, sampleAspect: sampleAspect,
            threads: threads, globalHeader: output.needsGlobalHeader, options: options,
            what: "\(pictures.outputWidth)×\(pictures.outputHeight), preset \(preset), crf \(plan.crf)")
        stream = try output.addStream(from: encoder.pointer)
    }

    /// The RFC 6381 codec of this rung's H.264 (`avc1.64001f`: profile, constraint flags, level from
    /// the encoder's SPS).
    var codecs: String {
        let e = encoder.pointer.pointee
        guard let data = e.extradata, e.extradata_size >= 4 else { return "avc1.640028" }
        let bytes = Array(UnsafeBufferPointer(start: data, count: Int(e.extradata_size)))
        var sps: ArraySlice<UInt8>?
        if bytes[0] == 1 {
            sps = bytes[1...3]  // avcC: profile, compatibility, level
        } else {
            // Annex B: the NAL after a start code whose type is 7 (SPS).
            var index = 0
            while index + 6 < bytes.count {
                if bytes[index] == 0, bytes[index + 1] == 0, bytes[index + 2] == 1, bytes[index + 3] & 0x1f == 7 {
                    sps = bytes[(index + 4)...(index + 6)]
                    break
                }
                index += 1
            }
        }
        guard let sps else { return "avc1.640028" }
        return "avc1." + sps.map { String(format: "%02x", $0) }.joined()
    }

    func start() throws(MediaError) {
        try output.writeHeader()
        condition.lock()
        running = true
        condition.unlock()
        let thread = Thread { [self] in work() }
        thread.name = "hls \(name)"
        thread.stackSize = 8 << 20  // x264 and libswscale on this thread
        thread.start()
    }

    /// Queues a reference to `frame` (already timed from zero) for this rung; waits while the queue
    /// is full. Throws what stopped the rung, if it stopped.
    func push(_ frame: UnsafeMutablePointer<AVFrame>, keyframe: Bool) throws(MediaError) {
        let reference = try Owned.frame()
        guard av_frame_ref(reference.pointer, frame) >= 0 else { throw MediaError(.internal, "out of memory (frame reference)") }
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= Self.capacity, failure == nil, running { condition.wait() }
        if let failure { throw failure }
        guard running else { throw MediaError(.internal, "the \(name) rung stopped") }
        queue.append((reference, keyframe))
        condition.broadcast()
    }

    /// No more frames: the rung flushes its encoder and writes its playlist's end. `wait()` for it.
    func finish() {
        condition.lock()
        ending = true
        condition.broadcast()
        condition.unlock()
    }

    /// Stops the rung without finishing its playlist (a failed or cancelled ladder) and waits for its thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running { condition.wait() }
        queue.removeAll()
        condition.unlock()
    }

    /// Waits until the rung's thread is done; returns the end of its video (seconds) and the times
    /// of its keyframes, or throws what failed it.
    func wait() throws(MediaError) -> (end: Double, keyframes: [Double]) {
        condition.lock()
        defer { condition.unlock() }
        while running { condition.wait() }
        if let failure { throw failure }
        return (end, keyframeTimes)
    }

    // MARK: The rung's thread

    private func work() {
        do throws(MediaError) {
            while true {
                condition.lock()
                while queue.isEmpty, !ending, !stopping { condition.wait() }
                if stopping {
                    condition.unlock()
                    break
                }
                if queue.isEmpty {  // ending, and everything queued is encoded
                    condition.unlock()
                    try encode(nil)
                    try output.finish()
                    break
                }
                let item = queue.removeFirst()
                condition.broadcast()  // room in the queue
                condition.unlock()
                let picture = try pictures.picture(from: item.frame.pointer, sampleAspect: sampleAspect)
                picture.pointee.pts = item.frame.pointer.pointee.pts
                picture.pointee.pict_type = item.keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE
                try encode(picture)
            }
        } catch {
            condition.lock()
            failure = error
            condition.unlock()
        }
        condition.lock()
        running = false
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    /// Sends one picture (nil: flush) and writes every packet that comes out.
    private func encode(_ frame: UnsafeMutablePointer<AVFrame>?) throws(MediaError) {
        let sent = avcodec_send_frame(encoder.pointer, frame)
        if sent < 0, sent != CFFMPEG_AVERROR_EOF {
            throw MediaError(.internal, "\(FFmpegError(code: sent, call: "encoding the \(name) rung (libx264)"))")
        }
        let out = encoded.pointer
        while true {
            let received = avcodec_receive_packet(encoder.pointer, out)
            if received == CFFMPEG_EAGAIN || received == CFFMPEG_AVERROR_EOF { return }
            if received < 0 { throw MediaError(.internal, "\(FFmpegError(code: received, call: "avcodec_receive_packet"))") }
            if out.pointee.duration == 0, let frameDuration { out.pointee.duration = frameDuration }  // x264 leaves it unset
            av_packet_rescale_ts(out, encoder.pointer.pointee.time_base, stream.pointee.time_base)
            out.pointee.stream_index = stream.pointee.index
            let timeBase = stream.pointee.time_base.seconds
            end = max(end, Double(out.pointee.pts + out.pointee.duration) * timeBase)
            if out.pointee.flags & AV_PKT_FLAG_KEY != 0 { keyframeTimes.append(Double(out.pointee.pts) * timeBase) }
            try output.write(out)
        }
    }
}

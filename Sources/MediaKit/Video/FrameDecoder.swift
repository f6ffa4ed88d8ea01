internal import CFFmpeg

/// When a job must stop: it was cancelled, or it ran past its wall-clock limit. One per job, shared
/// by every pass over the file (the MP4, the HLS ladder, the audio transcode).
struct JobClock {
    let cancel: CancelFlag
    let deadline: ContinuousClock.Instant
    let maxJobSeconds: Double

    init(cancel: CancelFlag, limits: VideoLimits) {
        self.cancel = cancel
        self.maxJobSeconds = limits.maxJobSeconds
        self.deadline = .now + .milliseconds(Int64(limits.maxJobSeconds * 1000))
    }

    func check() throws(MediaError) {
        try cancel.check()
        if ContinuousClock.now > deadline {
            throw MediaError(.limit, "time limit: the job took longer than \(Int(maxJobSeconds)) s")
        }
    }
}

/// The decode half of every pass: sends one packet (nil: flush) and hands every frame that comes out
/// to `body`. A damaged packet or frame is counted and skipped, as the ffmpeg command line does;
/// while flushing, the job's clock is checked between frames (the read loop checks it between packets).
final class FrameDecoder {
    let clock: JobClock
    /// Packets or frames the decoder refused.
    private(set) var damaged = 0
    /// Frames handed to `body`.
    private(set) var frames = 0
    private let frame: Owned<AVFrame>

    init(clock: JobClock) throws(MediaError) {
        self.clock = clock
        frame = try Owned.frame()
    }

    func decode(
        _ packet: UnsafeMutablePointer<AVPacket>?, with decoder: UnsafeMutablePointer<AVCodecContext>,
        _ body: (UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Void
    ) throws(MediaError) {
        let sent = avcodec_send_packet(decoder, packet)
        if sent < 0, sent != CFFMPEG_AVERROR_EOF {
            damaged += 1
            if sent != CFFMPEG_EAGAIN { return }
        }
        while true {
            let received = avcodec_receive_frame(decoder, frame.pointer)
            if received == CFFMPEG_EAGAIN || received == CFFMPEG_AVERROR_EOF { return }
            if received < 0 {
                damaged += 1
                return
            }
            defer { av_frame_unref(frame.pointer) }
            frames += 1
            try body(frame.pointer)
            if packet == nil { try clock.check() }
        }
    }
}

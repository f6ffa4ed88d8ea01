internal import CFFmpeg
import Foundation

/// Where encoders' packets go: a muxer that takes one stream per encoder (`OutputFile`, `HLSOutput`).
protocol EncodedOutput: AnyObject {
    /// The muxer wants codec headers out of band (`AV_CODEC_FLAG_GLOBAL_HEADER` on the encoder).
    var needsGlobalHeader: Bool { get }
    func addStream(from encoder: UnsafeMutablePointer<AVCodecContext>) throws(MediaError) -> UnsafeMutablePointer<AVStream>
}

/// The MP4 being written: `moov` moved before `mdat` at the end (fast start). `format` is the
/// muxer: `mp4`, or `ipod` for an M4A (the same ISO BMFF, with the `M4A ` brand).
final class OutputFile: EncodedOutput {
    private var context: UnsafeMutablePointer<AVFormatContext>?
    private var finished = false
    let path: String

    init(path: String, format: String = "mp4") throws(MediaError) {
        self.path = path
        let status = avformat_alloc_output_context2(&context, nil, format, path)
        guard status >= 0, let context else { throw MediaError(.internal, "\(FFmpegError(code: status, call: "creating the MP4 muxer"))") }
        let opened = avio_open(&context.pointee.pb, path, AVIO_FLAG_WRITE)
        guard opened >= 0 else { throw MediaError(.internal, "\(FFmpegError(code: opened, call: "creating \(path)"))") }
    }

    deinit {
        if let context {
            if context.pointee.pb != nil { avio_closep(&context.pointee.pb) }
            avformat_free_context(context)
        }
        if !finished { unlink(path) }
    }

    var needsGlobalHeader: Bool { (context!.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 }

    func addStream(from encoder: UnsafeMutablePointer<AVCodecContext>) throws(MediaError) -> UnsafeMutablePointer<AVStream> {
        guard let stream = avformat_new_stream(context, nil), avcodec_parameters_from_context(stream.pointee.codecpar, encoder) >= 0 else {
            throw MediaError(.internal, "out of memory (output stream)")
        }
        stream.pointee.time_base = encoder.pointee.time_base
        return stream
    }

    func writeHeader() throws(MediaError) {
        var options = Options([("movflags", "+faststart")])
        let status = avformat_write_header(context, &options.dictionary)
        guard status >= 0 else { throw MediaError(.internal, "\(FFmpegError(code: status, call: "writing the MP4 header"))") }
    }

    func write(_ packet: UnsafeMutablePointer<AVPacket>) throws(MediaError) {
        let status = av_interleaved_write_frame(context, packet)
        guard status >= 0 else { throw Self.failure(status, "writing the MP4") }
    }

    func finish() throws(MediaError) {
        let status = av_write_trailer(context)
        guard status >= 0 else { throw Self.failure(status, "finishing the MP4") }
        avio_closep(&context!.pointee.pb)
        finished = true
    }

    /// EFBIG is the output file size limit (RLIMIT_FSIZE, set on the isolated child) where the
    /// writing thread does not take SIGXFSZ: a limit, not a library failure.
    private static func failure(_ status: Int32, _ call: String) -> MediaError {
        if status == -EFBIG { return MediaError(.limit, "output size limit: the MP4 reached the file size limit") }
        return MediaError(.internal, "\(FFmpegError(code: status, call: call))")
    }
}

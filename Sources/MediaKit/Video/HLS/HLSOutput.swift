internal import CFFmpeg
import Foundation

/// One HLS media playlist of one stream, written by libavformat's `hls` muxer into a directory of its
/// own: `index.m3u8` (VOD, `#EXT-X-INDEPENDENT-SEGMENTS`), `init.mp4` (the CMAF header, the
/// playlist's `#EXT-X-MAP`) and `seg_00000.m4s`, … (fMP4 fragments, each starting with a keyframe:
/// the muxer cuts at the first keyframe at or after every `segmentSeconds`).
final class HLSOutput: EncodedOutput {
    static let playlistName = "index.m3u8"
    static let initName = "init.mp4"

    let directory: String
    var playlistPath: String { (directory as NSString).appendingPathComponent(Self.playlistName) }
    private var context: UnsafeMutablePointer<AVFormatContext>?
    private let segmentSeconds: Double

    init(directory: String, segmentSeconds: Double) throws(MediaError) {
        self.directory = directory
        self.segmentSeconds = segmentSeconds
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
            throw MediaError(.internal, "cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        let status = avformat_alloc_output_context2(&context, nil, "hls", (directory as NSString).appendingPathComponent(Self.playlistName))
        guard status >= 0, context != nil else { throw MediaError(.internal, "\(FFmpegError(code: status, call: "creating the HLS muxer"))") }
    }

    deinit {
        // The muxer opens and closes its files itself (AVFMT_NOFILE); what a failed run left is
        // removed with the ladder's directory.
        if let context { avformat_free_context(context) }
    }

    var needsGlobalHeader: Bool { (context!.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 }

    func addStream(from encoder: UnsafeMutablePointer<AVCodecContext>) throws(MediaError) -> UnsafeMutablePointer<AVStream> {
        guard let stream = avformat_new_stream(context, nil), avcodec_parameters_from_context(stream.pointee.codecpar, encoder) >= 0 else {
            throw MediaError(.internal, "out of memory (output stream)")
        }
        stream.pointee.time_base = encoder.pointee.time_base
        if encoder.pointee.framerate.num > 0 { stream.pointee.avg_frame_rate = encoder.pointee.framerate }
        return stream
    }

    func writeHeader() throws(MediaError) {
        var options = Options([
            ("hls_segment_type", "fmp4"),
            ("hls_time", String(format: "%.3f", segmentSeconds)),
            ("hls_playlist_type", "vod"),
            ("hls_list_size", "0"),
            ("hls_flags", "independent_segments"),
            // A pattern: a `%` of the folder's own name is escaped.
            ("hls_segment_filename", (directory.replacingOccurrences(of: "%", with: "%%") as NSString).appendingPathComponent("seg_%05d.m4s")),
            ("hls_fmp4_init_filename", Self.initName),
        ])
        let status = avformat_write_header(context, &options.dictionary)
        guard status >= 0 else { throw Self.failure(status, "writing the HLS header") }
    }

    func write(_ packet: UnsafeMutablePointer<AVPacket>) throws(MediaError) {
        let status = av_interleaved_write_frame(context, packet)
        guard status >= 0 else { throw Self.failure(status, "writing an HLS segment") }
    }

    func finish() throws(MediaError) {
        let status = av_write_trailer(context)
        guard status >= 0 else { throw Self.failure(status, "finishing the HLS playlist") }
    }

    /// EFBIG: the isolated child's output file size limit (see `OutputFile`).
    private static func failure(_ status: Int32, _ call: String) -> MediaError {
        if status == -EFBIG { return MediaError(.limit, "output size limit: an HLS segment reached the file size limit") }
        return MediaError(.internal, "\(FFmpegError(code: status, call: call))")
    }
}

internal import CFFmpeg

/// A failed FFmpeg call: the return code and `av_strerror`'s text.
struct FFmpegError: Error, CustomStringConvertible {
    let code: Int32
    let call: String

    var description: String {
        var buffer = [CChar](repeating: 0, count: 256)
        av_strerror(code, &buffer, buffer.count)
        return "\(call): \(cText(buffer))"
    }

    var isEOF: Bool { code == CFFMPEG_AVERROR_EOF }
    var isAgain: Bool { code == CFFMPEG_EAGAIN }
}

/// Every FFmpeg return code goes through here: negative is an error.
@discardableResult
func check(_ code: Int32, _ call: @autoclosure () -> String) throws(FFmpegError) -> Int32 {
    if code < 0 { throw FFmpegError(code: code, call: call()) }
    return code
}

/// One owner for one C allocation: freed exactly once, when the owner goes away.
/// FFmpeg's `*_free(&p)` functions take a double pointer, so `free` receives a local copy.
final class Owned<T> {
    let pointer: UnsafeMutablePointer<T>
    private let free: (UnsafeMutablePointer<T>) -> Void

    init(_ pointer: UnsafeMutablePointer<T>, free: @escaping (UnsafeMutablePointer<T>) -> Void) {
        self.pointer = pointer
        self.free = free
    }

    deinit { free(pointer) }
}

extension Owned where T == AVFrame {
    static func frame() throws(MediaError) -> Owned<AVFrame> {
        guard let frame = av_frame_alloc() else { throw MediaError(.internal, "out of memory (av_frame_alloc)") }
        return Owned(frame) { var p: UnsafeMutablePointer<AVFrame>? = $0; av_frame_free(&p) }
    }
}

extension Owned where T == AVPacket {
    static func packet() throws(MediaError) -> Owned<AVPacket> {
        guard let packet = av_packet_alloc() else { throw MediaError(.internal, "out of memory (av_packet_alloc)") }
        return Owned(packet) { var p: UnsafeMutablePointer<AVPacket>? = $0; av_packet_free(&p) }
    }
}

extension Owned where T == AVCodecContext {
    static func codec(_ codec: UnsafePointer<AVCodec>) throws(MediaError) -> Owned<AVCodecContext> {
        guard let context = avcodec_alloc_context3(codec) else { throw MediaError(.internal, "out of memory (avcodec_alloc_context3)") }
        return Owned(context) { var p: UnsafeMutablePointer<AVCodecContext>? = $0; avcodec_free_context(&p) }
    }
}

/// An `AVDictionary` of options, freed on every path.
struct Options: ~Copyable {
    var dictionary: OpaquePointer?

    init(_ entries: [(String, String)]) {
        var dictionary: OpaquePointer?
        for (key, value) in entries { av_dict_set(&dictionary, key, value, 0) }
        self.dictionary = dictionary
    }

    deinit {
        var owned = dictionary
        av_dict_free(&owned)
    }
}

/// FFmpeg's global log: errors only (a damaged file is reported through our errors, not stderr noise).
enum FFmpegLog {
    static let quiet: Void = { av_log_set_level(AV_LOG_FATAL) }()
}

extension AVRational {
    var seconds: Double { den == 0 ? 0 : Double(num) / Double(den) }
}

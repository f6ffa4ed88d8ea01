internal import CFFmpeg
import Foundation

/// The video stream's dynamic range: which decoded frames are HDR, and their SDR versions. A frame
/// tagged PQ or HLG (`ToneMapPolicy.transfer`) comes back tone-mapped to 8-bit BT.709 `yuv420p` at
/// its own size; any other frame comes back as it is, and no filter graph is ever built for it.
/// Everything downstream (the H.264 output, poster, storyboard, frame samples) takes what this returns.
final class DynamicRange {
    private let streamTransfer: Int
    private let threads: Int
    private let maxPixels: Int
    private var mapper: ToneMapper?
    /// The transfer of the first HDR frame (nil: every frame was SDR).
    private(set) var hdrTransfer: ToneMapPolicy.Transfer?
    /// Bits per sample of the decoder's pixel format, from the first frame.
    private(set) var bitDepth: Int?
    private(set) var toneMappedFrames = 0
    private var sawFrame = false
    /// Seconds spent in the filter graph (nil: none was built).
    var seconds: Double? { mapper?.seconds }

    init(stream parameters: UnsafeMutablePointer<AVCodecParameters>, threads: Int, maxPixels: Int) {
        streamTransfer = Int(parameters.pointee.color_trc.rawValue)
        self.threads = threads
        self.maxPixels = maxPixels
        bitDepth = DynamicRange.depth(of: parameters.pointee.format)
    }

    /// `frame` itself when SDR, else its tone-mapped copy (valid until the next call): 8-bit BT.709
    /// limited-range `yuv420p` (`yuv444p` when its size is odd) at the frame's size.
    func standard(_ frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> UnsafeMutablePointer<AVFrame> {
        if !sawFrame {
            sawFrame = true
            if let depth = DynamicRange.depth(of: frame.pointee.format) { bitDepth = depth }
        }
        guard let transfer = ToneMapPolicy.transfer(frame: Int(frame.pointee.color_trc.rawValue), stream: streamTransfer) else { return frame }
        if hdrTransfer == nil { hdrTransfer = transfer }
        if mapper == nil { mapper = try ToneMapper(threads: threads, maxPixels: maxPixels) }
        let mapped = try mapper!.map(frame, transfer: transfer)
        toneMappedFrames += 1
        return mapped
    }

    static func depth(of format: Int32) -> Int? {
        guard format >= 0, let descriptor = av_pix_fmt_desc_get(AVPixelFormat(format)) else { return nil }
        return Int(descriptor.pointee.comp.0.depth)
    }
}

/// A libavfilter graph (buffer → `ToneMapPolicy.filters` → buffersink) that tone-maps one frame at a
/// time. Rebuilt when a frame's size, pixel format, colour tags or peak differ from the last one's (a
/// stream may change mid-way). Fed only decoded frames, which the decoder's `max_pixels` bounds; the
/// graph never scales, so it holds a few frames of that size. Slice threads within the job's budget.
final class ToneMapper {
    private struct Key: Equatable {
        var width: Int32
        var height: Int32
        var format: Int32
        var input: ToneMapPolicy.Input
        var peakNits: Double
        var sampleAspect: AVRational

        static func == (a: Key, b: Key) -> Bool {
            a.width == b.width && a.height == b.height && a.format == b.format && a.input == b.input && a.peakNits == b.peakNits
                && a.sampleAspect.num == b.sampleAspect.num && a.sampleAspect.den == b.sampleAspect.den
        }
    }

    private let threads: Int
    private let maxPixels: Int
    private let output: Owned<AVFrame>
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private var source: UnsafeMutablePointer<AVFilterContext>?
    private var sink: UnsafeMutablePointer<AVFilterContext>?
    private var key: Key?
    private(set) var seconds = 0.0
    private(set) var graphsBuilt = 0

    init(threads: Int, maxPixels: Int) throws(MediaError) {
        for name in ["buffer", "buffersink", "zscale", "format", "tonemap"] where avfilter_get_by_name(name) == nil {
            throw MediaError(.internal, "this FFmpeg build has no \(name) filter (HDR tone mapping needs libavfilter with zimg)")
        }
        self.threads = max(0, threads)
        self.maxPixels = maxPixels
        output = try Owned.frame()
    }

    deinit { avfilter_graph_free(&graph) }

    /// The SDR copy of `frame` (owned here, valid until the next call).
    func map(_ frame: UnsafeMutablePointer<AVFrame>, transfer: ToneMapPolicy.Transfer) throws(MediaError) -> UnsafeMutablePointer<AVFrame> {
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            seconds += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        let width = frame.pointee.width
        let height = frame.pointee.height
        let (pixels, overflow) = Int(width).multipliedReportingOverflow(by: Int(height))
        guard width > 0, height > 0, !overflow, pixels <= maxPixels else {
            throw MediaError(.limit, "pixel limit: \(width)×\(height) frames are over \(maxPixels / 1_000_000) MP")
        }
        let wanted = Key(
            width: width, height: height, format: frame.pointee.format, input: ToneMapper.input(of: frame, transfer: transfer),
            peakNits: ToneMapper.peakNits(of: frame, transfer: transfer), sampleAspect: frame.pointee.sample_aspect_ratio)
        if wanted != key { try build(wanted) }
        let sent = av_buffersrc_add_frame_flags(source, frame, Int32(AV_BUFFERSRC_FLAG_KEEP_REF))
        guard sent >= 0 else { throw failure(sent, "tone mapping (sending a frame)", wanted) }
        av_frame_unref(output.pointer)
        let received = av_buffersink_get_frame(sink, output.pointer)
        guard received >= 0 else { throw failure(received, "tone mapping (receiving a frame)", wanted) }
        // The SDR picture must not carry the HDR source's light-level and dynamic metadata on.
        for kind in [
            AV_FRAME_DATA_MASTERING_DISPLAY_METADATA, AV_FRAME_DATA_CONTENT_LIGHT_LEVEL, AV_FRAME_DATA_DYNAMIC_HDR_PLUS,
            AV_FRAME_DATA_DYNAMIC_HDR_VIVID, AV_FRAME_DATA_DOVI_RPU_BUFFER, AV_FRAME_DATA_DOVI_METADATA,
        ] {
            av_frame_remove_side_data(output.pointer, kind)
        }
        output.pointer.pointee.sample_aspect_ratio = frame.pointee.sample_aspect_ratio
        return output.pointer
    }

    private func failure(_ code: Int32, _ call: String, _ key: Key) -> MediaError {
        let name = av_get_pix_fmt_name(AVPixelFormat(key.format)).map { String(cString: $0) } ?? "unknown"
        return MediaError(.unsupported, "cannot tone-map \(key.input.transfer.rawValue) \(name) pictures: \(FFmpegError(code: code, call: call))")
    }

    private func build(_ wanted: Key) throws(MediaError) {
        avfilter_graph_free(&graph)
        source = nil
        sink = nil
        key = nil
        guard let graph = avfilter_graph_alloc() else { throw MediaError(.internal, "out of memory (avfilter_graph_alloc)") }
        self.graph = graph
        graph.pointee.nb_threads = Int32(threads)  // the job's codec threads; 0: libavfilter picks from the core count, as the codecs do
        graph.pointee.thread_type = AVFILTER_THREAD_SLICE
        let aspect = wanted.sampleAspect.num > 0 && wanted.sampleAspect.den > 0 ? wanted.sampleAspect : AVRational(num: 1, den: 1)
        let arguments = "video_size=\(wanted.width)x\(wanted.height):pix_fmt=\(wanted.format):time_base=1/1:pixel_aspect=\(aspect.num)/\(aspect.den)"
        var created = avfilter_graph_create_filter(&source, avfilter_get_by_name("buffer"), "in", arguments, nil, graph)
        guard created >= 0 else { throw failure(created, "avfilter_graph_create_filter (buffer)", wanted) }
        created = avfilter_graph_create_filter(&sink, avfilter_get_by_name("buffersink"), "out", nil, nil, graph)
        guard created >= 0 else { throw failure(created, "avfilter_graph_create_filter (buffersink)", wanted) }
        // The parsed chain's open input is fed by "in", its open output feeds "out". parse_ptr takes
        // both lists and hands back what it left unlinked, which the defer frees.
        var outputs = avfilter_inout_alloc()
        var inputs = avfilter_inout_alloc()
        defer {
            avfilter_inout_free(&outputs)
            avfilter_inout_free(&inputs)
        }
        guard let fromSource = outputs, let toSink = inputs else { throw MediaError(.internal, "out of memory (avfilter_inout_alloc)") }
        fromSource.pointee.name = av_strdup("in")
        fromSource.pointee.filter_ctx = source
        fromSource.pointee.pad_idx = 0
        fromSource.pointee.next = nil
        toSink.pointee.name = av_strdup("out")
        toSink.pointee.filter_ctx = sink
        toSink.pointee.pad_idx = 0
        toSink.pointee.next = nil
        let parsed = avfilter_graph_parse_ptr(graph, ToneMapPolicy.filters(wanted.input, peakNits: wanted.peakNits, oddSize: wanted.width % 2 != 0 || wanted.height % 2 != 0), &inputs, &outputs, nil)
        guard parsed >= 0 else { throw failure(parsed, "avfilter_graph_parse_ptr", wanted) }
        let configured = avfilter_graph_config(graph, nil)
        guard configured >= 0 else { throw failure(configured, "avfilter_graph_config", wanted) }
        key = wanted
        graphsBuilt += 1
    }

    static func input(of frame: UnsafeMutablePointer<AVFrame>, transfer: ToneMapPolicy.Transfer) -> ToneMapPolicy.Input {
        let format = frame.pointee.format
        let fullRange = frame.pointee.color_range == AVCOL_RANGE_JPEG
            || (frame.pointee.color_range == AVCOL_RANGE_UNSPECIFIED
                && (format == AV_PIX_FMT_YUVJ420P.rawValue || format == AV_PIX_FMT_YUVJ422P.rawValue || format == AV_PIX_FMT_YUVJ444P.rawValue))
        return ToneMapPolicy.Input(
            transfer: transfer, primaries: Int(frame.pointee.color_primaries.rawValue), matrix: Int(frame.pointee.colorspace.rawValue), fullRange: fullRange)
    }

    /// The frame's declared light levels (content light level, mastering display), for PQ.
    static func peakNits(of frame: UnsafeMutablePointer<AVFrame>, transfer: ToneMapPolicy.Transfer) -> Double {
        guard transfer == .pq else { return ToneMapPolicy.peakNits(transfer) }
        var maxContentLight: Double?
        var masteringPeak: Double?
        if let side = av_frame_get_side_data(frame, AV_FRAME_DATA_CONTENT_LIGHT_LEVEL), side.pointee.size >= MemoryLayout<AVContentLightMetadata>.size,
            let data = side.pointee.data
        {
            maxContentLight = Double(UnsafeRawPointer(data).loadUnaligned(as: AVContentLightMetadata.self).MaxCLL)
        }
        if let side = av_frame_get_side_data(frame, AV_FRAME_DATA_MASTERING_DISPLAY_METADATA),
            side.pointee.size >= MemoryLayout<AVMasteringDisplayMetadata>.size, let data = side.pointee.data
        {
            let metadata = UnsafeRawPointer(data).loadUnaligned(as: AVMasteringDisplayMetadata.self)
            if metadata.has_luminance != 0, metadata.max_luminance.den != 0 { masteringPeak = metadata.max_luminance.seconds }
        }
        return ToneMapPolicy.peakNits(transfer, maxContentLight: maxContentLight, masteringPeak: masteringPeak)
    }
}

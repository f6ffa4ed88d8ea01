internal import CMediaShims

/// GIF through giflib: a header walk that decodes nothing (frame count and area, for the limits),
/// then full decoding with frame composition (disposal, transparency, delays) into RGBA canvases.
enum GIFCodec {
    struct Header {
        var width: Int
        var height: Int
        var frames: Int
        var framePixels: Int
    }

    static func header(_ data: [UInt8]) throws(MediaError) -> Header {
        try withGIF(data) { gif throws(MediaError) in
            var frames: Int32 = 0
            var framePixels: Int64 = 0
            let status = mp_gif_scan(gif, &frames, &framePixels)
            guard status == 0 else { throw MediaError(.corrupt, "GIF: \(message(status))") }
            return Header(width: Int(gif.pointee.SWidth), height: Int(gif.pointee.SHeight), frames: Int(frames), framePixels: Int(framePixels))
        }
    }

    /// Full-canvas RGBA frames and their start times in milliseconds, plus the end time.
    static func decode(_ data: [UInt8], cancel: CancelFlag) throws(MediaError) -> (frames: [(pixels: Pixels, startMs: Int)], endMs: Int, loopCount: Int) {
        try withGIF(data) { gif throws(MediaError) in
            guard DGifSlurp(gif) == GIF_OK else { throw MediaError(.corrupt, "GIF: \(message(gif.pointee.Error))") }
            let width = Int(gif.pointee.SWidth), height = Int(gif.pointee.SHeight)
            var canvas = Pixels(width: width, height: height, channels: 4)
            var frames: [(pixels: Pixels, startMs: Int)] = []
            var time = 0
            for index in 0..<Int(gif.pointee.ImageCount) {
                try cancel.check()
                let image = gif.pointee.SavedImages[index]
                var control = GraphicsControlBlock()
                control.TransparentColor = -1
                control.DisposalMode = DISPOSAL_UNSPECIFIED
                _ = DGifSavedExtensionToGCB(gif, Int32(index), &control)
                let previous = control.DisposalMode == DISPOSE_PREVIOUS ? canvas : nil
                let desc = image.ImageDesc
                guard let colorMap = desc.ColorMap ?? gif.pointee.SColorMap else { throw MediaError(.corrupt, "GIF frame \(index + 1) has no colour table") }
                let colors = Int(colorMap.pointee.ColorCount)
                let left = Int(desc.Left), top = Int(desc.Top), fw = Int(desc.Width), fh = Int(desc.Height)
                if let raster = image.RasterBits {
                    canvas.bytes.withUnsafeMutableBufferPointer { out in
                        for y in 0..<fh where top + y < height {
                            for x in 0..<fw where left + x < width {
                                let index = Int(raster[y * fw + x])
                                if index == Int(control.TransparentColor) || index >= colors { continue }
                                let color = colorMap.pointee.Colors[index]
                                let o = ((top + y) * width + left + x) * 4
                                out[o] = color.Red
                                out[o + 1] = color.Green
                                out[o + 2] = color.Blue
                                out[o + 3] = 255
                            }
                        }
                    }
                }
                frames.append((canvas, time))
                // GIF delays are in 1/100 s; browsers treat 0 and 1 as 100 ms.
                time += control.DelayTime <= 1 ? 100 : Int(control.DelayTime) * 10
                switch control.DisposalMode {
                case DISPOSE_BACKGROUND:
                    canvas.bytes.withUnsafeMutableBufferPointer { out in
                        for y in 0..<fh where top + y < height {
                            for x in 0..<fw where left + x < width {
                                let o = ((top + y) * width + left + x) * 4
                                out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 0
                            }
                        }
                    }
                case DISPOSE_PREVIOUS:
                    if let previous { canvas = previous }
                default:
                    break
                }
            }
            guard !frames.isEmpty else { throw MediaError(.corrupt, "GIF has no frames") }
            return (frames, time, 0)
        }
    }

    private static func withGIF<R>(_ data: [UInt8], _ body: (UnsafeMutablePointer<GifFileType>) throws(MediaError) -> R) throws(MediaError) -> R {
        try data.withUnsafeBufferPointer { (buffer) throws(MediaError) -> R in
            var source = mp_gif_source(data: buffer.baseAddress, size: buffer.count, offset: 0)
            var error: Int32 = 0
            return try withUnsafeMutablePointer(to: &source) { (pointer) throws(MediaError) -> R in
                guard let gif = mp_gif_open(pointer, &error) else { throw MediaError(.corrupt, "GIF: \(message(error))") }
                defer { DGifCloseFile(gif, &error) }
                return try body(gif)
            }
        }
    }

    private static func message(_ code: Int32) -> String {
        GifErrorString(code).map { String(cString: $0) } ?? "error \(code)"
    }

    static var version: String { "\(GIFLIB_MAJOR).\(GIFLIB_MINOR).\(GIFLIB_RELEASE)" }
}

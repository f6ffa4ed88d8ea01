internal import CMediaShims

/// JPEG through libjpeg-turbo (in CMediaShims, where libjpeg's longjmp error handling is trapped).
enum JPEGCodec {
    struct Header {
        var width: Int
        var height: Int
        var isCMYK: Bool
        var icc: [UInt8]?
    }

    static func header(_ data: [UInt8]) throws(MediaError) -> Header {
        var info = mp_jpeg_info()
        var error = [CChar](repeating: 0, count: Int(MP_ERROR_LENGTH))
        let status = data.withUnsafeBufferPointer { mp_jpeg_read_info($0.baseAddress, $0.count, &info, &error) }
        guard status == 0 else { throw MediaError(.corrupt, "JPEG header: \(cText(error))") }
        defer { mp_free(info.icc) }
        let icc = info.icc.map { Array(UnsafeBufferPointer(start: $0, count: Int(info.icc_length))) }
        return Header(width: Int(info.width), height: Int(info.height), isCMYK: info.is_cmyk != 0, icc: icc)
    }

    /// The largest DCT scaling (1/1, 1/2, 1/4, 1/8) that still leaves at least `target` pixels on
    /// both sides: decoding at reduced size is where a fast pipeline wins.
    static func denominator(width: Int, height: Int, target: (width: Int, height: Int)) -> Int {
        var chosen = 1
        for denom in [2, 4, 8] {
            var w: Int32 = 0
            var h: Int32 = 0
            mp_jpeg_scaled_size(Int32(width), Int32(height), Int32(denom), &w, &h)
            // Keep a margin of 2× so the final Lanczos pass has real pixels to work with.
            if Int(w) >= target.width * 2, Int(h) >= target.height * 2 { chosen = denom }
        }
        return chosen
    }

    /// Decodes to RGB at 1/`denom` size.
    static func decode(_ data: [UInt8], denom: Int, cancel: CancelFlag) throws(MediaError) -> Pixels {
        var w: Int32 = 0
        var h: Int32 = 0
        let header = try header(data)
        mp_jpeg_scaled_size(Int32(header.width), Int32(header.height), Int32(denom), &w, &h)
        var pixels = Pixels(width: Int(w), height: Int(h), channels: 3)
        var error = [CChar](repeating: 0, count: Int(MP_ERROR_LENGTH))
        let status = data.withUnsafeBufferPointer { input in
            pixels.bytes.withUnsafeMutableBufferPointer { output in
                cancel.withPointer { flag in
                    mp_jpeg_decode_rgb(input.baseAddress, input.count, Int32(denom), output.baseAddress, w, h, flag, &error)
                }
            }
        }
        if status == 1 { throw MediaError(.cancelled, "stopped") }
        guard status == 0 else { throw MediaError(.corrupt, "JPEG: \(cText(error))") }
        return pixels
    }

    static func encode(_ pixels: Pixels, quality: Int, progressive: Bool) throws(MediaError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var length: UInt = 0
        var error = [CChar](repeating: 0, count: Int(MP_ERROR_LENGTH))
        let status = pixels.bytes.withUnsafeBufferPointer {
            mp_jpeg_encode($0.baseAddress, Int32(pixels.width), Int32(pixels.height), Int32(pixels.channels), Int32(quality), progressive ? 1 : 0, &out, &length, &error)
        }
        guard status == 0, let out else { throw MediaError(.internal, "JPEG encode: \(cText(error))") }
        defer { mp_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }

    static var version: String {
        let v = Int(mp_jpeg_lib_version())
        return v > 1_000_000 ? "\(v / 1_000_000).\(v / 1000 % 1000).\(v % 1000)" : "\(v)"
    }
}

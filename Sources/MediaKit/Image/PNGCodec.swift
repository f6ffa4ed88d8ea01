internal import CPNG

/// PNG through libpng's simplified API: palette, grey, 16-bit, interlaced and alpha all come out
/// as 8-bit RGBA; 8-bit RGBA or RGB goes in (the audio pipeline's waveform).
enum PNGCodec {
    /// Reads the header only: no pixel memory is allocated.
    static func header(_ data: [UInt8]) throws(MediaError) -> (width: Int, height: Int) {
        var image = png_image()
        image.version = png_uint_32(CPNG_IMAGE_VERSION)
        let ok = data.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        defer { png_image_free(&image) }
        guard ok != 0 else { throw MediaError(.corrupt, "PNG: \(message(image))") }
        return (Int(image.width), Int(image.height))
    }

    static func decode(_ data: [UInt8]) throws(MediaError) -> Pixels {
        var image = png_image()
        image.version = png_uint_32(CPNG_IMAGE_VERSION)
        let begun = data.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        defer { png_image_free(&image) }
        guard begun != 0 else { throw MediaError(.corrupt, "PNG: \(message(image))") }
        image.format = png_uint_32(CPNG_FORMAT_RGBA)
        var pixels = Pixels(width: Int(image.width), height: Int(image.height), channels: 4)
        let finished = pixels.bytes.withUnsafeMutableBytes {
            png_image_finish_read(&image, nil, $0.baseAddress, png_int_32(image.width * 4), nil)
        }
        guard finished != 0 else { throw MediaError(.corrupt, "PNG: \(message(image))") }
        return pixels
    }

    /// An 8-bit RGBA (or RGB) PNG of `pixels`, through `png_image_write_to_memory`.
    static func encode(_ pixels: Pixels) throws(MediaError) -> [UInt8] {
        var image = png_image()
        image.version = png_uint_32(CPNG_IMAGE_VERSION)
        image.width = png_uint_32(pixels.width)
        image.height = png_uint_32(pixels.height)
        image.format = png_uint_32(pixels.channels == 4 ? CPNG_FORMAT_RGBA : CPNG_FORMAT_RGB)
        defer { png_image_free(&image) }
        let stride = png_int_32(pixels.width * pixels.channels)
        var size: png_alloc_size_t = 0
        let sized = pixels.bytes.withUnsafeBytes { png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, stride, nil) }
        guard sized != 0, size > 0 else { throw MediaError(.internal, "PNG: \(message(image))") }
        var out = [UInt8](repeating: 0, count: Int(size))
        let written = out.withUnsafeMutableBytes { buffer in
            pixels.bytes.withUnsafeBytes { png_image_write_to_memory(&image, buffer.baseAddress, &size, 0, $0.baseAddress, stride, nil) }
        }
        guard written != 0 else { throw MediaError(.internal, "PNG: \(message(image))") }
        return Array(out.prefix(Int(size)))
    }

    private static func message(_ image: png_image) -> String {
        var copy = image.message
        return withUnsafeBytes(of: &copy) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    static var version: String { String(cString: png_get_libpng_ver(nil)) }
}

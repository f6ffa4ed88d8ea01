/// An 8-bit image in memory: RGB (3 channels) or RGBA (4), rows packed without padding, with
/// `readPadding` bytes of allocated memory after the last pixel.
struct Pixels: Sendable {
    /// Bytes readable past the last pixel. libswscale's SIMD input converters load 16 bytes at a time
    /// and read a few bytes past a row's end: past the last row, that is past the buffer (found by
    /// fuzzing — a SEGV reading past a 48×6 WebP's pixels, `Tests/fuzz-regressions/swscale-overread.webp`).
    /// FFmpeg's own buffers carry 64 bytes of padding for the same reason.
    static let readPadding = 64

    var width: Int
    var height: Int
    var channels: Int
    var bytes: [UInt8]

    init(width: Int, height: Int, channels: Int, bytes: [UInt8]) {
        precondition(bytes.count == width * height * channels, "pixel buffer size does not match its dimensions")
        self.width = width
        self.height = height
        self.channels = channels
        self.bytes = bytes
    }

    /// A zero-filled image.
    init(width: Int, height: Int, channels: Int) {
        self.init(width: width, height: height, channels: channels, bytes: Self.zeroed(count: width * height * channels))
    }

    /// `count` zero bytes, with `readPadding` more allocated (and zeroed) after them.
    static func zeroed(count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count + readPadding) { buffer, initialized in
            buffer.initialize(repeating: 0)
            initialized = count
        }
    }

    /// True when `readPadding` bytes past the last pixel are allocated.
    var isPadded: Bool { bytes.capacity >= bytes.count + Self.readPadding }

    var hasAlpha: Bool { channels == 4 }

    /// True when every alpha value is 255 (the alpha channel can be dropped).
    var isOpaque: Bool {
        guard channels == 4 else { return true }
        return bytes.withUnsafeBufferPointer { buffer in
            var index = 3
            while index < buffer.count {
                if buffer[index] != 255 { return false }
                index += 4
            }
            return true
        }
    }
}

/// An 8-bit image in memory: RGB (3 channels) or RGBA (4), rows packed without padding.
struct Pixels: Sendable {
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
        self.init(width: width, height: height, channels: channels, bytes: [UInt8](repeating: 0, count: width * height * channels))
    }

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

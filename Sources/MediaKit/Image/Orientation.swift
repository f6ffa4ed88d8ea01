/// EXIF orientation (1…8): how the stored pixels must be turned to display upright.
enum Orientation: Int, Sendable {
    case up = 1, upMirrored, down, downMirrored, leftMirrored, right, rightMirrored, left

    /// Orientations 5–8 swap width and height.
    var swapsDimensions: Bool { rawValue >= 5 }

    /// The displayed image.
    func apply(to source: Pixels) -> Pixels {
        guard self != .up else { return source }
        let w = source.width, h = source.height, c = source.channels
        let outWidth = swapsDimensions ? h : w
        let outHeight = swapsDimensions ? w : h
        var output = Pixels(width: outWidth, height: outHeight, channels: c)
        source.bytes.withUnsafeBufferPointer { src in
            output.bytes.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    for x in 0..<w {
                        let (dx, dy): (Int, Int)
                        switch self {
                        case .up: (dx, dy) = (x, y)
                        case .upMirrored: (dx, dy) = (w - 1 - x, y)
                        case .down: (dx, dy) = (w - 1 - x, h - 1 - y)
                        case .downMirrored: (dx, dy) = (x, h - 1 - y)
                        case .leftMirrored: (dx, dy) = (y, x)
                        case .right: (dx, dy) = (h - 1 - y, x)
                        case .rightMirrored: (dx, dy) = (h - 1 - y, w - 1 - x)
                        case .left: (dx, dy) = (y, w - 1 - x)
                        }
                        let s = (y * w + x) * c
                        let d = (dy * outWidth + dx) * c
                        for k in 0..<c { dst[d + k] = src[s + k] }
                    }
                }
            }
        }
        return output
    }
}

internal import CMediaShims

/// Embedded ICC profiles: pixels are converted to sRGB with lcms2 (so a Display P3 or Adobe RGB
/// photo keeps its colours once the profile is stripped with the rest of the metadata).
enum ColorManagement {
    /// Converts in place; returns the source profile's description, or nil when nothing was done.
    @discardableResult
    static func convertToSRGB(_ pixels: inout Pixels, icc: [UInt8]) -> String? {
        let count = pixels.width * pixels.height
        let channels = pixels.channels
        let status = icc.withUnsafeBufferPointer { profile in
            pixels.bytes.withUnsafeMutableBufferPointer {
                mp_icc_to_srgb(profile.baseAddress, UInt32(profile.count), $0.baseAddress, count, Int32(channels))
            }
        }
        guard status == 0 else { return nil }
        return description(icc)
    }

    static func description(_ icc: [UInt8]) -> String {
        var text = [CChar](repeating: 0, count: 128)
        icc.withUnsafeBufferPointer { mp_icc_description($0.baseAddress, UInt32($0.count), &text, Int32(text.count)) }
        return cText(text)
    }

    /// True for profiles that are sRGB already (converting them would only cost time).
    static func isSRGB(_ icc: [UInt8]) -> Bool {
        description(icc).lowercased().contains("srgb")
    }
}

enum EXIF {
    /// The orientation in JPEG data (APP1) or a raw EXIF block.
    static func orientation(_ data: [UInt8]) -> Orientation {
        let value = data.withUnsafeBufferPointer { mp_exif_orientation($0.baseAddress, $0.count) }
        return Orientation(rawValue: Int(value)) ?? .up
    }
}

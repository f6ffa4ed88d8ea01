/// Still and animated image formats the pipeline reads, decided from magic bytes.
public enum ImageFormat: String, Sendable {
    case jpeg, png, webp, gif, heif

    /// The format of `bytes`, or nil when it is not an image format the pipeline reads.
    public static func sniff(_ bytes: some Collection<UInt8>) -> ImageFormat? {
        let b = Array(bytes.prefix(32))
        func at(_ offset: Int, _ signature: [UInt8]) -> Bool {
            b.count >= offset + signature.count && Array(b[offset..<offset + signature.count]) == signature
        }
        if at(0, [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if at(0, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if at(0, Array("RIFF".utf8)), at(8, Array("WEBP".utf8)) { return .webp }
        if at(0, Array("GIF87a".utf8)) || at(0, Array("GIF89a".utf8)) { return .gif }
        if at(4, Array("ftyp".utf8)) {
            let brands = stride(from: 8, to: min(b.count, 32) - 3, by: 4).map { String(decoding: b[$0..<$0 + 4], as: UTF8.self) }
            if brands.contains(where: { ["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"].contains($0) }) { return .heif }
        }
        return nil
    }
}

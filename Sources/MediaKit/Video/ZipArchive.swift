internal import CFFmpeg

/// A ZIP archive of stored (uncompressed) entries, for frame samples that are WebP already.
/// CRC-32 comes from libavutil.
struct ZipArchive {
    private(set) var bytes: [UInt8] = []
    private var central: [UInt8] = []
    private var count = 0

    mutating func add(name: String, data: [UInt8]) {
        let nameBytes = Array(name.utf8)
        let crc = data.withUnsafeBufferPointer { ~av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), 0xFFFF_FFFF, $0.baseAddress, $0.count) }
        let offset = UInt32(bytes.count)
        // Local file header: version 2.0, no flags, stored, DOS time 1980-01-01.
        bytes += le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21)
        bytes += le32(crc) + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(UInt16(nameBytes.count)) + le16(0)
        bytes += nameBytes + data
        central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21)
        central += le32(crc) + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(UInt16(nameBytes.count))
        central += le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset) + nameBytes
        count += 1
    }

    /// The archive with its central directory.
    func finished() -> [UInt8] {
        bytes + central + le32(0x0605_4B50) + le16(0) + le16(0) + le16(UInt16(count)) + le16(UInt16(count))
            + le32(UInt32(central.count)) + le32(UInt32(bytes.count)) + le16(0)
    }

    private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    private func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
}

/// The image items that decoding a HEIF's primary image makes libheif decode, read from the file's
/// `pitm` and `iref` boxes before libheif decodes anything.
///
/// Debian 12's libheif 1.15.1 follows these references without a bound: to decode an item it decodes
/// every `dimg` input of a grid, overlay or identity item, and then the alpha item whose `auxl`
/// points at it, recursing into each. A 1.4 KB file whose alpha item is a grid whose tile is the
/// primary image recurses without end, on a new thread per level (found by FuzzHEIF: 2,000 threads
/// in two seconds, then a timeout or the RSS limit); a chain of grids that each name the next one
/// 256 times costs 256^depth tile decodes. Later libheif versions refuse both; here the graph is
/// checked first: a cycle is a corrupt file, and more decodes than `maxDecodes` is over the limits.
///
/// The boxes are the ISOBMFF ones (ISO/IEC 14496-12 §8.11: `meta` holds `pitm` and `iref`; `iref`
/// version 0 has 16-bit item IDs, version 1 32-bit). A file this reader cannot follow is left to
/// libheif, which reports it: only what is found here is refused.
struct HEIFItemGraph {
    /// The primary item (`pitm`).
    var primary: UInt32?
    /// For each item, the items decoding it decodes: its `dimg` inputs, and the items whose `auxl`
    /// names it (alpha or depth; libheif decodes the alpha one).
    var decodes: [UInt32: [UInt32]] = [:]

    /// Grid tiles, overlays and alpha planes of a real photo: an iPhone's 48 MP HEIC is a 16 × 12
    /// grid (192 tiles) plus its alpha or gain map items.
    static let maxDecodes = 4096
    /// Items nested in items: a grid's tiles are 2 deep, an overlay of grids with an alpha grid 4.
    static let maxDepth = 16

    /// Refuses a file whose primary image cannot be decoded in finite, bounded work.
    static func check(_ data: [UInt8]) throws(MediaError) {
        guard let graph = HEIFItemGraph(data), let primary = graph.primary else { return }
        var memo: [UInt32: Int] = [:]
        var onPath: Set<UInt32> = []
        let count = try graph.decodeCount(primary, memo: &memo, onPath: &onPath)
        guard count <= maxDecodes else {
            throw MediaError(.limit, "HEIF: the primary image is made of \(count) or more coded images, over the \(maxDecodes) limit")
        }
    }

    /// How many item decodes decoding `item` takes (itself included), saturating past `maxDecodes`.
    private func decodeCount(_ item: UInt32, memo: inout [UInt32: Int], onPath: inout Set<UInt32>) throws(MediaError) -> Int {
        if let known = memo[item] { return known }
        guard onPath.count < Self.maxDepth else {
            throw MediaError(.limit, "HEIF: items nested more than \(Self.maxDepth) deep (grids of grids or their alpha items)")
        }
        guard onPath.insert(item).inserted else {
            throw MediaError(.corrupt, "HEIF: item \(item) refers back to itself through its tiles or alpha (a reference cycle)")
        }
        var total = 1
        for next in decodes[item] ?? [] {
            total += try decodeCount(next, memo: &memo, onPath: &onPath)
            if total > Self.maxDecodes { break }
        }
        onPath.remove(item)
        total = min(total, Self.maxDecodes + 1)
        memo[item] = total
        return total
    }

    /// Reads `meta`'s `pitm` and `iref`; nil when the file has no `meta` box this reader can follow.
    init?(_ data: [UInt8]) {
        guard let meta = Self.boxes(data, 0..<data.count).first(where: { $0.type == "meta" }),
              meta.body.count >= 4 else { return nil }
        // libheif takes the first `pitm` and the first `iref`.
        let children = Self.boxes(data, meta.body.lowerBound + 4..<meta.body.upperBound)  // meta is a FullBox
        if let pitm = children.first(where: { $0.type == "pitm" }) {
            var reader = Reader(data: data, range: pitm.body)
            if let version = reader.fullBoxVersion() { primary = reader.id(wide: version != 0) }
        }
        if let iref = children.first(where: { $0.type == "iref" }) {
            var reader = Reader(data: data, range: iref.body)
            guard let version = reader.fullBoxVersion() else { return }
            // As libheif 1.15 reads them: one reference after another, each box's size field read
            // but not used (a reference whose size is wrong still counts there, so it does here).
            while let type = reader.boxHeader()?.type, let from = reader.id(wide: version != 0), let count = reader.uint(2) {
                var to: [UInt32] = []
                for _ in 0..<count {
                    guard let id = reader.id(wide: version != 0) else { break }
                    to.append(id)
                }
                switch type {
                case "dimg": decodes[from, default: []] += to
                case "auxl": for master in to { decodes[master, default: []].append(from) }
                default: break
                }
            }
        }
    }

    /// The boxes in `range`, in order, up to the first one whose size does not fit.
    private static func boxes(_ data: [UInt8], _ range: Range<Int>) -> [(type: String, body: Range<Int>)] {
        var found: [(type: String, body: Range<Int>)] = []
        var reader = Reader(data: data, range: range)
        while true {
            let start = reader.offset
            guard let header = reader.boxHeader() else { break }
            let room = range.upperBound - start
            let size = header.size == 0 ? room : Int(clamping: header.size)  // 0: to the end
            guard size >= reader.offset - start, size <= room else { break }
            found.append((header.type, reader.offset..<start + size))
            reader.offset = start + size
        }
        return found
    }

    /// Big-endian fields inside one box.
    private struct Reader {
        let data: [UInt8]
        let range: Range<Int>
        var offset: Int

        init(data: [UInt8], range: Range<Int>) {
            self.data = data
            self.range = range
            offset = range.lowerBound
        }

        mutating func uint(_ bytes: Int) -> UInt64? {
            guard range.upperBound - offset >= bytes else { return nil }
            var value: UInt64 = 0
            for byte in data[offset..<offset + bytes] { value = value << 8 | UInt64(byte) }
            offset += bytes
            return value
        }

        /// A box header: its type and its size (the 64-bit field when the 32-bit one is 1), read
        /// up to the box's body (past a `uuid` box's UUID too).
        mutating func boxHeader() -> (type: String, size: UInt64)? {
            guard var size = uint(4), let type = fourCC() else { return nil }
            if size == 1 {
                guard let large = uint(8) else { return nil }
                size = large
            }
            if type == "uuid" { guard uint(8) != nil, uint(8) != nil else { return nil } }
            return (type, size)
        }

        mutating func id(wide: Bool) -> UInt32? { uint(wide ? 4 : 2).map { UInt32($0) } }

        mutating func fourCC() -> String? {
            guard range.upperBound - offset >= 4 else { return nil }
            defer { offset += 4 }
            return String(decoding: data[offset..<offset + 4], as: Unicode.ASCII.self)
        }

        /// A FullBox's version (its flags skipped).
        mutating func fullBoxVersion() -> UInt8? { uint(4).map { UInt8($0 >> 24) } }
    }
}

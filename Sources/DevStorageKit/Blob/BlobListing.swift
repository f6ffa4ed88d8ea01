/// One page of List Blobs: blobs and (with a delimiter) virtual-directory prefixes, in name order.
struct BlobListing: Sendable {
    /// An entry of the `<Blobs>` element.
    enum Item: Sendable {
        case blob(BlobRecord)
        case prefix(String)
    }

    var items: [Item]
    /// The first name of the next page (nil when this is the last page).
    var nextName: String?

    /// Pages through `names` (sorted by UTF-8 bytes), starting at the first name ≥ `start` that has
    /// `prefix`. With a delimiter, names whose remainder after the prefix contains it collapse into one
    /// `BlobPrefix` (prefix + remainder up to and including the delimiter). Each blob or prefix counts
    /// toward `maxResults`.
    static func page(
        names: [String], prefix: String, delimiter: String?, start: String?, maxResults: Int,
        record: (String) -> BlobRecord?
    ) -> BlobListing {
        let prefixBytes = Array(prefix.utf8)
        let first = [prefix, start ?? ""].max { $0.utf8.lexicographicallyPrecedes($1.utf8) }!
        var lower = 0
        var upper = names.count
        while lower < upper {
            let middle = (lower + upper) / 2
            if names[middle].utf8.lexicographicallyPrecedes(first.utf8) { lower = middle + 1 } else { upper = middle }
        }
        let delimiterBytes = delimiter.map { Array($0.utf8) } ?? []
        var listing = BlobListing(items: [], nextName: nil)
        var lastPrefix: [UInt8]? = nil
        for name in names[lower...] {
            let bytes = Array(name.utf8)
            guard bytes.starts(with: prefixBytes) else { break }
            var group: [UInt8]? = nil
            if !delimiterBytes.isEmpty, let end = Self.end(of: delimiterBytes, in: bytes, from: prefixBytes.count) {
                group = Array(bytes[..<end])
            }
            if let group, group == lastPrefix { continue }
            if listing.items.count == maxResults {
                listing.nextName = name
                return listing
            }
            if let group {
                listing.items.append(.prefix(String(decoding: group, as: UTF8.self)))
                lastPrefix = group
            } else if let record = record(name) {
                listing.items.append(.blob(record))
            }
        }
        return listing
    }

    /// The index just past the first occurrence of `needle` in `haystack` at or after `from`.
    static func end(of needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard haystack.count - from >= needle.count else { return nil }
        var index = from
        while index + needle.count <= haystack.count {
            if haystack[index..<index + needle.count].elementsEqual(needle) { return index + needle.count }
            index += 1
        }
        return nil
    }
}

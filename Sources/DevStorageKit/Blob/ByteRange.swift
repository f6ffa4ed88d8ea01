import Foundation

/// A `bytes=start-end` / `bytes=start-` request range (wire doc §6.2).
struct ByteRange: Sendable, Equatable {
    var start: Int64
    /// Inclusive end; nil = to the end of the blob.
    var end: Int64?

    /// Parses the header value; nil when it is not a single byte range (then the whole blob is sent).
    init?(_ value: String) {
        let value = value.trimmingCharacters(in: .whitespaces)
        guard value.hasPrefix("bytes=") else { return nil }
        let parts = value.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Int64(parts[0]), start >= 0 else { return nil }
        self.start = start
        if parts[1].isEmpty {
            end = nil
        } else {
            guard let end = Int64(parts[1]), end >= start else { return nil }
            self.end = end
        }
    }

    /// The inclusive byte span within a blob of `size`, end clipped; 416 `InvalidRange` when the
    /// start is at or past the end (including any range on an empty blob).
    func resolve(size: Int64) throws(StorageServiceError) -> ClosedRange<Int64> {
        guard start < size else { throw .invalidRange(size: size) }
        return start...min(end ?? (size - 1), size - 1)
    }
}

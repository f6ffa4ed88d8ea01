import Foundation
import StorageKit

/// Percent-decoded query parameters, looked up by case-insensitive name (first value wins).
struct QueryParameters: Sendable {
    /// All pairs in order, decoded as the Shared Key canonicalisation decodes them.
    let pairs: [(name: String, value: String)]

    init(rawQuery: String?) {
        pairs = QueryString.decode(rawQuery ?? "")
    }

    subscript(_ name: String) -> String? {
        pairs.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// An optional integer parameter: 400 `InvalidQueryParameterValue` if not an integer,
    /// 400 `OutOfRangeQueryParameterValue` outside `range`.
    func int(_ name: String, in range: ClosedRange<Int>) throws(StorageServiceError) -> Int? {
        guard let text = self[name] else { return nil }
        guard let value = Int(text) else { throw .invalidQueryParameter(name, text) }
        guard range.contains(value) else { throw .outOfRangeQueryParameter(name, text) }
        return value
    }
}

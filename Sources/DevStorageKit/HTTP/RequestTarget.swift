import StorageKit

/// What a path-style URL addresses: `/{account}[/{container or queue}[/{rest}]]`.
/// Decoded from the raw (percent-encoded) path as the client sent it.
struct RequestTarget: Sendable {
    /// The raw path exactly as received (for Shared Key).
    var rawPath: String
    /// The raw query string (without `?`), if any.
    var rawQuery: String?
    /// First segment.
    var account: String
    /// Container (blob service) or queue (queue service).
    var resource: String?
    /// Blob name (blob service; may contain `/`), or `messages[/{id}]` for the queue service.
    var rest: String?

    /// Splits the request target (`head.path`, the raw request-target) into path and query.
    init(requestTarget: String) {
        let parts = requestTarget.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        rawPath = parts.first.map(String.init) ?? "/"
        if rawPath.isEmpty { rawPath = "/" }
        rawQuery = parts.count > 1 ? String(parts[1]) : nil
        let segments = rawPath.dropFirst().split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        func decoded(_ index: Int) -> String? {
            guard index < segments.count, !segments[index].isEmpty else { return nil }
            return QueryString.percentDecode(String(segments[index]), plusAsSpace: false)
        }
        account = decoded(0) ?? ""
        resource = decoded(1)
        rest = decoded(2)
    }
}

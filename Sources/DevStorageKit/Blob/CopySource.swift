import Foundation
import StorageKit

/// The source of Copy Blob, Put Blob From URL and Put Block From URL: `x-ms-copy-source`, a blob URL
/// of this devstorage in path style (`http://host:port/{account}/{container}/{blob}[?{SAS}]`).
struct CopySource: Sendable {
    /// The URL as the client sent it (echoed as `x-ms-copy-source`).
    var url: String
    /// Account, container and blob, percent-decoded like a request path.
    var target: RequestTarget
    /// The URL's query (a SAS that authorizes reading the source, if any).
    var query: QueryParameters

    /// Parses the header: 400 `InvalidHeaderValue` unless it is an absolute URL naming a blob.
    init(_ url: String) throws(StorageServiceError) {
        self.url = url
        guard let schemeEnd = url.range(of: "://"),
            let pathStart = url[schemeEnd.upperBound...].firstIndex(of: "/")
        else { throw .invalidHeaderValue("x-ms-copy-source", url) }
        var requestTarget = String(url[pathStart...])
        if let fragment = requestTarget.firstIndex(of: "#") { requestTarget = String(requestTarget[..<fragment]) }
        target = RequestTarget(requestTarget: requestTarget)
        query = QueryParameters(rawQuery: target.rawQuery)
        guard target.resource != nil, target.rest != nil else { throw .invalidHeaderValue("x-ms-copy-source", url) }
    }

    /// The source's container and blob names.
    var container: String { target.resource ?? "" }
    var blob: String { target.rest ?? "" }
}

import Foundation
import NIOFoundationCompat
import NIOHTTP1
import XMLCoder

extension BlobClient {
    /// Lists one page of blobs in a container.
    ///
    /// - Parameters:
    ///   - prefix: only names starting with this.
    ///   - delimiter: group names by this (e.g. `/`) into `prefixes`.
    ///   - marker: the previous page's `nextMarker`.
    ///   - maxResults: page size (1…5000).
    ///   - includeMetadata: fill `properties.metadata`.
    public func listBlobs(
        _ container: String, prefix: String? = nil, delimiter: String? = nil, marker: String? = nil, maxResults: Int? = nil,
        includeMetadata: Bool = false
    ) async throws -> BlobListPage {
        var query: [(name: String, value: String)] = [("restype", "container"), ("comp", "list")]
        if let prefix { query.append(("prefix", prefix)) }
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let marker, !marker.isEmpty { query.append(("marker", marker)) }
        if let maxResults { query.append(("maxresults", "\(maxResults)")) }
        if includeMetadata { query.append(("include", "metadata")) }
        let (_, body) = try await client.executeCollecting(
            StorageRequest(operation: "ListBlobs", method: .GET, encodedPath: Self.path(container), query: query), service: .blob)
        let result: ListBlobsResult
        do {
            result = try StorageXML.decoder().decode(ListBlobsResult.self, from: Data(buffer: body))
        } catch {
            throw StorageError(.invalidResponse, message: "unreadable List Blobs XML: \(error)", operation: "ListBlobs")
        }
        return BlobListPage(
            blobs: (result.blobs?.blob ?? []).map { item in
                BlobItem(
                    name: item.name,
                    properties: BlobProperties(
                        contentLength: item.properties.contentLength ?? 0, contentType: nonEmpty(item.properties.contentType),
                        contentDisposition: nonEmpty(item.properties.contentDisposition), etag: "\"\(item.properties.etag ?? "")\"",
                        lastModified: item.properties.lastModified.flatMap(HTTPDate.parse), contentMD5: nonEmpty(item.properties.contentMD5),
                        metadata: item.metadata?.values ?? [:]))
            },
            prefixes: (result.blobs?.blobPrefix ?? []).map(\.name),
            nextMarker: nonEmpty(result.nextMarker))
    }

    /// Lists every blob with a prefix, following markers page by page.
    public func listAllBlobs(_ container: String, prefix: String? = nil, includeMetadata: Bool = false, pageSize: Int = 5000) async throws -> [BlobItem] {
        var all: [BlobItem] = []
        var marker: String?
        repeat {
            let page = try await listBlobs(container, prefix: prefix, marker: marker, maxResults: pageSize, includeMetadata: includeMetadata)
            all += page.blobs
            marker = page.nextMarker
        } while marker != nil
        return all
    }
}

private func nonEmpty(_ value: String?) -> String? {
    guard let value, !value.isEmpty else { return nil }
    return value
}

/// `<EnumerationResults>` of List Blobs (unknown elements ignored).
struct ListBlobsResult: Decodable {
    struct Blobs: Decodable {
        var blob: [Item]?
        var blobPrefix: [Prefix]?
        enum CodingKeys: String, CodingKey {
            case blob = "Blob"
            case blobPrefix = "BlobPrefix"
        }
    }
    struct Prefix: Decodable {
        var name: String
        enum CodingKeys: String, CodingKey { case name = "Name" }
    }
    struct Item: Decodable {
        var name: String
        var properties: Properties
        var metadata: XMLMetadata?
        enum CodingKeys: String, CodingKey {
            case name = "Name"
            case properties = "Properties"
            case metadata = "Metadata"
        }
    }
    struct Properties: Decodable {
        var contentLength: Int?
        var contentType: String?
        var contentDisposition: String?
        var contentMD5: String?
        var etag: String?
        var lastModified: String?
        enum CodingKeys: String, CodingKey {
            case contentLength = "Content-Length"
            case contentType = "Content-Type"
            case contentDisposition = "Content-Disposition"
            case contentMD5 = "Content-MD5"
            case etag = "Etag"
            case lastModified = "Last-Modified"
        }
    }
    var blobs: Blobs?
    var nextMarker: String?
    enum CodingKeys: String, CodingKey {
        case blobs = "Blobs"
        case nextMarker = "NextMarker"
    }
}

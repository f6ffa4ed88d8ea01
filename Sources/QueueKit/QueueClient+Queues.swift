import AsyncHTTPClient
import Foundation
import NIOFoundationCompat
import NIOHTTP1
import StorageKit
import XMLCoder

/// A queue of a listing.
public struct QueueItem: Sendable, Equatable {
    /// The queue name.
    public var name: String
    /// Its metadata (only when the listing asked for it).
    public var metadata: [String: String]
}

extension QueueClient {
    /// Lists the account's queues (List Queues), following markers page by page.
    public func listQueues(prefix: String? = nil, includeMetadata: Bool = false, pageSize: Int = 5000) async throws -> [QueueItem] {
        var all: [QueueItem] = []
        var marker: String?
        repeat {
            var query: [(name: String, value: String)] = [("comp", "list"), ("maxresults", "\(pageSize)")]
            if let prefix { query.append(("prefix", prefix)) }
            if let marker { query.append(("marker", marker)) }
            if includeMetadata { query.append(("include", "metadata")) }
            let (_, body) = try await client.executeCollecting(
                StorageRequest(operation: "ListQueues", method: .GET, encodedPath: "/", query: query), service: .queue)
            let page: ListQueuesResult
            do {
                let decoder = XMLDecoder()
                decoder.trimValueWhitespaces = false
                page = try decoder.decode(ListQueuesResult.self, from: Data(buffer: body))
            } catch {
                throw StorageError(.invalidResponse, message: "unreadable List Queues XML: \(error)", operation: "ListQueues")
            }
            all += (page.queues?.queue ?? []).map { QueueItem(name: $0.name, metadata: $0.metadata?.values ?? [:]) }
            marker = page.nextMarker.flatMap { $0.isEmpty ? nil : $0 }
        } while marker != nil
        return all
    }

    /// A queue's metadata (Get Queue Metadata).
    public func metadata(_ queue: String) async throws -> [String: String] {
        let (response, _) = try await client.executeCollecting(
            StorageRequest(operation: "GetQueueMetadata", method: .GET, encodedPath: Self.path(queue), query: [("comp", "metadata")]),
            service: .queue)
        var metadata: [String: String] = [:]
        for (name, value) in response.headers where name.lowercased().hasPrefix("x-ms-meta-") {
            metadata[String(name.dropFirst("x-ms-meta-".count))] = value
        }
        return metadata
    }

    /// Replaces a queue's metadata (Set Queue Metadata); an empty set clears it.
    public func setMetadata(_ queue: String, _ metadata: [String: String]) async throws {
        var headers = HTTPHeaders()
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) { headers.add(name: "x-ms-meta-\(name)", value: value) }
        _ = try await client.executeCollecting(
            StorageRequest(operation: "SetQueueMetadata", method: .PUT, encodedPath: Self.path(queue), query: [("comp", "metadata")], headers: headers),
            service: .queue)
    }
}

/// `<EnumerationResults>` of List Queues.
struct ListQueuesResult: Decodable {
    struct Queues: Decodable {
        var queue: [Item]?
        enum CodingKeys: String, CodingKey { case queue = "Queue" }
    }
    struct Item: Decodable {
        var name: String
        var metadata: XMLMetadata?
        enum CodingKeys: String, CodingKey {
            case name = "Name"
            case metadata = "Metadata"
        }
    }
    var queues: Queues?
    var nextMarker: String?
    enum CodingKeys: String, CodingKey {
        case queues = "Queues"
        case nextMarker = "NextMarker"
    }
}

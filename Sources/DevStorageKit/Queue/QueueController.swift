import Foundation
import HTTPTypes
import Hummingbird
import StorageKit

/// The Queue service (wire doc §7): routes an authenticated request to its operation.
struct QueueController: Sendable {
    let store: QueueStore

    /// Largest message text: 64 KiB of UTF-8.
    static let maximumMessageBytes = 65_536
    /// Largest visibility timeout: 7 days.
    static let maximumVisibilityTimeout = 604_800
    /// Default message time-to-live: 7 days.
    static let defaultTimeToLive = 604_800

    /// Which operation a request is: `/{q}`, `/{q}/messages`, `/{q}/messages/{id}`.
    static func operation(method: HTTPRequest.Method, target: RequestTarget, query: QueryParameters) -> StorageOperation {
        let comp = query["comp"]
        guard target.resource != nil else {
            switch (method, query["restype"], comp) {
            case (.get, _, "list"): return .listQueues
            case (.get, "service", "properties"): return .getServiceProperties
            default: return .unsupported
            }
        }
        guard let rest = target.rest else {
            switch (method, comp) {
            case (.put, nil): return .createQueue
            case (.delete, nil): return .deleteQueue
            case (.put, "metadata"): return .setQueueMetadata
            case (.get, "metadata"), (.head, "metadata"): return .getQueueMetadata
            default: return .unsupported
            }
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.first == "messages" else { return .unsupported }
        if parts.count == 1 {
            switch method {
            case .post: return .putMessage
            case .get: return query["peekonly"]?.lowercased() == "true" ? .peekMessages : .getMessages
            case .delete: return .clearMessages
            default: return .unsupported
            }
        }
        guard parts.count == 2, !parts[1].isEmpty else { return .unsupported }
        switch method {
        case .put: return .updateMessage
        case .delete: return .deleteMessage
        default: return .unsupported
        }
    }

    /// Runs the operation.
    func handle(_ call: StorageCall) async throws -> Response {
        switch call.operation {
        case .listQueues: return try await listQueues(call)
        case .getServiceProperties: return ServiceProperties.response(for: .queue)
        case .createQueue: return try await createQueue(call)
        case .deleteQueue:
            try await store.deleteQueue(call.target.account, try queueName(call))
            return Response(status: .noContent)
        case .getQueueMetadata: return try await getQueueMetadata(call)
        case .setQueueMetadata:
            let metadata = try Metadata.parse(call.request.headers)
            try await store.setQueueMetadata(call.target.account, try queueName(call), metadata: metadata)
            return Response(status: .noContent)
        case .putMessage: return try await putMessage(call)
        case .getMessages: return try await getMessages(call)
        case .peekMessages: return try await peekMessages(call)
        case .deleteMessage: return try await deleteMessage(call)
        case .updateMessage: return try await updateMessage(call)
        case .clearMessages:
            try await store.clear(call.target.account, try queueName(call))
            return Response(status: .noContent)
        default:
            throw StorageServiceError(.badRequest, "InvalidUri", "The requested URI does not represent any resource on the server.")
        }
    }

    /// The queue name (validated: 400 `InvalidResourceName` / `OutOfRangeInput`).
    func queueName(_ call: StorageCall) throws(StorageServiceError) -> String {
        try ResourceName.validate(call.target.resource ?? "")
    }

    /// The message id of `/{q}/messages/{id}`.
    func messageID(_ call: StorageCall) throws(StorageServiceError) -> String {
        guard let rest = call.target.rest, let id = rest.split(separator: "/").dropFirst().first else { throw .messageNotFound }
        return String(id)
    }

    func createQueue(_ call: StorageCall) async throws -> Response {
        let name = try queueName(call)
        let metadata = try Metadata.parse(call.request.headers)
        let created = try await store.createQueue(call.target.account, name, metadata: metadata)
        return Response(status: created ? .created : .noContent)
    }

    func getQueueMetadata(_ call: StorageCall) async throws -> Response {
        let properties = try await store.queueProperties(call.target.account, try queueName(call), now: call.now)
        var headers: HTTPFields = [.xMsApproximateMessagesCount: "\(properties.count)", .cacheControl: "no-cache"]
        Metadata.add(properties.metadata, to: &headers)
        return Response(status: .ok, headers: headers)
    }

    /// List Queues (`GET /{account}?comp=list`): prefix, marker, maxresults, include=metadata.
    func listQueues(_ call: StorageCall) async throws -> Response {
        let prefix = call.query["prefix"] ?? ""
        let maxResults = try call.query.int("maxresults", in: 1...5000) ?? 5000
        let marker = call.query["marker"].flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
        let includeMetadata = (call.query["include"] ?? "").split(separator: ",").contains("metadata")
        let all = await store.queueRecords(call.target.account).filter { queue in
            queue.name.hasPrefix(prefix) && (marker.map { m in queue.name >= m } ?? true)
        }
        var xml = XMLWriter()
        xml.open("EnumerationResults", attributes: [("ServiceEndpoint", call.serviceEndpoint)])
        if let value = call.query["prefix"] { xml.element("Prefix", value) }
        if let value = call.query["marker"] { xml.element("Marker", value) }
        if let value = call.query["maxresults"] { xml.element("MaxResults", value) }
        xml.open("Queues")
        for queue in all.prefix(maxResults) {
            xml.open("Queue")
            xml.element("Name", queue.name)
            if includeMetadata { BlobController.writeMetadata(queue.metadata, to: &xml) }
            xml.close("Queue")
        }
        xml.close("Queues")
        xml.element("NextMarker", all.count > maxResults ? Data(all[maxResults].name.utf8).base64EncodedString() : nil)
        xml.close("EnumerationResults")
        let (headers, body) = ResponseBodies.xml(xml)
        return Response(status: .ok, headers: headers, body: body)
    }
}

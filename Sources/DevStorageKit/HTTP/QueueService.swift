import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HTTPTypes
import Hummingbird
import NIOCore
import StorageKit

/// The Queue service: queues, messages with visibility, TTL, pop receipts and dequeue counts.
struct QueueService: Sendable {
    let store: QueueStore

    struct Target {
        var account: String
        var queue: String?
        var messages = false
        var messageID: String?
    }

    static func target(_ request: Request) -> Target {
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            QueryString.percentDecode(String($0), plusAsSpace: false)
        }
        var target = Target(account: parts.first ?? "")
        if parts.count > 1, !parts[1].isEmpty { target.queue = parts[1] }
        if parts.count > 2, parts[2] == "messages" { target.messages = true }
        if parts.count > 3, !parts[3].isEmpty { target.messageID = parts[3] }
        return target
    }

    static func operation(_ request: Request, _ target: Target) -> String {
        let query = Query(request)
        switch (request.method, target.messages, target.messageID != nil) {
        case (.put, false, _): return query["comp"] == "metadata" ? "SetQueueMetadata" : "CreateQueue"
        case (.delete, false, _): return "DeleteQueue"
        case (.get, false, _), (.head, false, _): return "GetQueueMetadata"
        case (.post, true, false): return "PutMessage"
        case (.get, true, false): return query["peekonly"] == "true" ? "PeekMessages" : "GetMessages"
        case (.delete, true, false): return "ClearMessages"
        case (.delete, true, true): return "DeleteMessage"
        case (.put, true, true): return "UpdateMessage"
        default: return "Unsupported"
        }
    }

    func handle(_ request: Request, operation: String, target: Target, grant: Grant, now: Date) async throws -> Response {
        guard let queue = target.queue else { throw StorageServiceError.unsupported }
        let query = Query(request)
        let account = target.account
        do {
            switch operation {
            case "CreateQueue":
                guard Names.valid(queue) else {
                    throw StorageServiceError(.badRequest, "InvalidResourceName", "The specifed resource name contains invalid characters.")
                }
                switch try await store.create(account, queue, metadata: Headers.metadata(request)) {
                case true: return Response(status: .created)
                case false: return Response(status: .noContent)
                default: throw StorageServiceError(.conflict, "QueueAlreadyExists", "The specified queue already exists.")
                }
            case "DeleteQueue":
                try await store.delete(account, queue)
                return Response(status: .noContent)
            case "GetQueueMetadata":
                try require(grant, "r")
                let (metadata, count) = try await store.metadata(account, queue, now: now)
                var headers: HTTPFields = [.init("x-ms-approximate-messages-count")!: "\(count)"]
                Headers.addMetadata(metadata, to: &headers)
                return Response(status: .ok, headers: headers)
            case "SetQueueMetadata":
                try await store.setMetadata(account, queue, Headers.metadata(request), now: now)
                return Response(status: .noContent)
            case "PutMessage":
                try require(grant, "a")
                let ttl = try int(query, "messagettl", default: 604_800)
                guard ttl == -1 || ttl >= 1 else { throw StorageServiceError.outOfRange("messagettl") }
                let visibility = try int(query, "visibilitytimeout", default: 0)
                guard visibility >= 0, visibility <= 604_800, ttl == -1 || visibility < ttl else { throw StorageServiceError.outOfRange("visibilitytimeout") }
                let text = try await messageText(request, required: true) ?? ""
                let message = try await store.put(account, queue, text: text, visibilityTimeout: visibility, ttl: ttl, now: now)
                return xml(status: .created, [message], peek: false, includeText: false)
            case "GetMessages":
                try require(grant, "p")
                let count = try int(query, "numofmessages", default: 1)
                guard (1...32).contains(count) else { throw StorageServiceError.outOfRange("numofmessages") }
                let visibility = try int(query, "visibilitytimeout", default: 30)
                guard (1...604_800).contains(visibility) else { throw StorageServiceError.outOfRange("visibilitytimeout") }
                return xml(status: .ok, try await store.get(account, queue, count: count, visibilityTimeout: visibility, now: now), peek: false, includeText: true)
            case "PeekMessages":
                try require(grant, "r")
                let count = try int(query, "numofmessages", default: 1)
                guard (1...32).contains(count) else { throw StorageServiceError.outOfRange("numofmessages") }
                return xml(status: .ok, try await store.peek(account, queue, count: count, now: now), peek: true, includeText: true)
            case "DeleteMessage":
                try require(grant, "p")
                guard let receipt = query["popreceipt"] else { throw StorageServiceError.invalidQuery("popreceipt") }
                try await store.deleteMessage(account, queue, id: target.messageID!, popReceipt: receipt, now: now)
                return Response(status: .noContent)
            case "UpdateMessage":
                try require(grant, "u")
                guard let receipt = query["popreceipt"] else { throw StorageServiceError.invalidQuery("popreceipt") }
                guard let visibility = query["visibilitytimeout"].flatMap(Int.init), (0...604_800).contains(visibility) else {
                    throw StorageServiceError.outOfRange("visibilitytimeout")
                }
                let text = try await messageText(request, required: false)
                let message = try await store.update(account, queue, id: target.messageID!, popReceipt: receipt, visibilityTimeout: visibility, text: text, now: now)
                return Response(status: .noContent, headers: [
                    .init("x-ms-popreceipt")!: message.popReceipt, .init("x-ms-time-next-visible")!: HTTPDate.format(message.nextVisible),
                ])
            case "ClearMessages":
                try require(grant, "p")
                try await store.clear(account, queue, now: now)
                return Response(status: .noContent)
            default:
                throw StorageServiceError.unsupported
            }
        } catch QueueStore.Failure.queueNotFound {
            throw StorageServiceError.queueNotFound
        } catch QueueStore.Failure.messageNotFound {
            throw StorageServiceError.messageNotFound
        } catch QueueStore.Failure.popReceiptMismatch {
            throw StorageServiceError.popReceiptMismatch
        }
    }

    func require(_ grant: Grant, _ letter: Character) throws {
        guard grant.allows(letter) else {
            throw StorageServiceError(.forbidden, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.")
        }
    }

    func int(_ query: Query, _ name: String, default value: Int) throws -> Int {
        guard let raw = query[name] else { return value }
        guard let number = Int(raw) else { throw StorageServiceError.invalidQuery(name) }
        return number
    }

    /// The `<MessageText>` of a `<QueueMessage>` body; at most 64 KiB of UTF-8.
    func messageText(_ request: Request, required: Bool) async throws -> String? {
        let body = try await request.body.collect(upTo: 1 << 20)
        if body.readableBytes == 0 {
            if required { throw StorageServiceError(.badRequest, "InvalidXmlDocument", "XML specified is not syntactically valid.") }
            return nil
        }
        final class TextCollector: NSObject, XMLParserDelegate {
            var inText = false
            var found = false
            var text = ""
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if name == "MessageText" { inText = true; found = true }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { if inText { text += string } }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                if name == "MessageText" { inText = false }
            }
        }
        let parser = XMLParser(data: Data(body.readableBytesView))
        let collector = TextCollector()
        parser.delegate = collector
        guard parser.parse(), collector.found else {
            throw StorageServiceError(.badRequest, "InvalidXmlDocument", "XML specified is not syntactically valid.")
        }
        guard collector.text.utf8.count <= 65_536 else {
            throw StorageServiceError(.badRequest, "MessageTooLarge", "The message exceeds the maximum allowed size.")
        }
        return collector.text
    }

    func xml(status: HTTPResponse.Status, _ messages: [MessageRecord], peek: Bool, includeText: Bool) -> Response {
        var xml = #"<?xml version="1.0" encoding="utf-8"?>"#
        if messages.isEmpty {
            xml += "<QueueMessagesList />"
        } else {
            xml += "<QueueMessagesList>"
            for message in messages {
                let expiration = message.expirationTime.map(HTTPDate.format) ?? "Fri, 31 Dec 9999 23:59:59 GMT"
                xml += "<QueueMessage><MessageId>\(message.id)</MessageId><InsertionTime>\(HTTPDate.format(message.insertionTime))</InsertionTime>"
                xml += "<ExpirationTime>\(expiration)</ExpirationTime>"
                if !peek { xml += "<PopReceipt>\(message.popReceipt)</PopReceipt><TimeNextVisible>\(HTTPDate.format(message.nextVisible))</TimeNextVisible>" }
                if includeText || peek { xml += "<DequeueCount>\(message.dequeueCount)</DequeueCount>" }
                if includeText { xml += message.text.isEmpty ? "<MessageText />" : "<MessageText>\(StorageXML.escape(message.text))</MessageText>" }
                xml += "</QueueMessage>"
            }
            xml += "</QueueMessagesList>"
        }
        return Response(status: status, headers: [.contentType: "application/xml"], body: .init(byteBuffer: ByteBuffer(string: xml)))
    }
}

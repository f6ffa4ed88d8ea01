import Foundation
import HTTPTypes
import Hummingbird
import StorageKit

extension QueueController {
    /// Put Message: `visibilitytimeout` 0…7 days (default 0, below the TTL), `messagettl` ≥ 1 or -1
    /// (default 7 days); text ≤ 64 KiB (else 400 `MessageTooLarge`).
    func putMessage(_ call: StorageCall) async throws -> Response {
        let name = try queueName(call)
        let ttlText = call.query["messagettl"]
        var timeToLive: Int? = Self.defaultTimeToLive
        if let ttlText {
            guard let value = Int(ttlText) else { throw StorageServiceError.invalidQueryParameter("messagettl", ttlText) }
            guard value == -1 || value >= 1 else { throw StorageServiceError.outOfRangeQueryParameter("messagettl", ttlText) }
            timeToLive = value == -1 ? nil : value
        }
        let visibility = try call.query.int("visibilitytimeout", in: 0...Self.maximumVisibilityTimeout) ?? 0
        if let timeToLive, visibility >= timeToLive {
            throw StorageServiceError.outOfRangeQueryParameter("visibilitytimeout", "\(visibility)")
        }
        let text = try await messageText(call, required: true) ?? ""
        let message = try await store.put(
            call.target.account, name, text: text, visibilityTimeout: visibility, timeToLive: timeToLive, now: call.now)
        return Self.messagesResponse([message], status: .created, fields: .enqueued)
    }

    /// Get Messages: up to `numofmessages` (1…32) visible messages, invisible for
    /// `visibilitytimeout` seconds (1…7 days, default 30).
    func getMessages(_ call: StorageCall) async throws -> Response {
        let name = try queueName(call)
        let count = try call.query.int("numofmessages", in: 1...32) ?? 1
        let visibility = try call.query.int("visibilitytimeout", in: 1...Self.maximumVisibilityTimeout) ?? 30
        let messages = try await store.get(call.target.account, name, count: count, visibilityTimeout: visibility, now: call.now)
        return Self.messagesResponse(messages, status: .ok, fields: .dequeued)
    }

    /// Peek Messages: no state change; no receipt or visibility in the answer.
    func peekMessages(_ call: StorageCall) async throws -> Response {
        let name = try queueName(call)
        let count = try call.query.int("numofmessages", in: 1...32) ?? 1
        let messages = try await store.peek(call.target.account, name, count: count, now: call.now)
        return Self.messagesResponse(messages, status: .ok, fields: .peeked)
    }

    /// Delete Message: needs the current pop receipt.
    func deleteMessage(_ call: StorageCall) async throws -> Response {
        let name = try queueName(call)
        let id = try messageID(call)
        guard let receipt = call.query["popreceipt"] else { throw StorageServiceError.missingRequiredQueryParameter("popreceipt") }
        try await store.delete(call.target.account, name, id: id, popReceipt: receipt, now: call.now)
        return Response(status: .noContent)
    }

    /// Update Message: new receipt and visibility (0…7 days), optionally new text.
    func updateMessage(_ call: StorageCall) async throws -> Response {
        let name = try queueName(call)
        let id = try messageID(call)
        guard let receipt = call.query["popreceipt"] else { throw StorageServiceError.missingRequiredQueryParameter("popreceipt") }
        guard let visibility = try call.query.int("visibilitytimeout", in: 0...Self.maximumVisibilityTimeout) else {
            throw StorageServiceError.missingRequiredQueryParameter("visibilitytimeout")
        }
        let text = try await messageText(call, required: false)
        let message = try await store.update(
            call.target.account, name, id: id, popReceipt: receipt, visibilityTimeout: visibility, text: text, now: call.now)
        return Response(status: .noContent, headers: [
            .xMsPopReceipt: message.popReceipt ?? "",
            .xMsTimeNextVisible: HTTPDate.format(message.timeNextVisible),
        ])
    }

    /// The `<MessageText>` of the body (nil when there is no body and it is optional).
    func messageText(_ call: StorageCall, required: Bool) async throws -> String? {
        let body = try await RequestBodies.collect(call.request, limit: 1 << 20)
        if body.isEmpty, !required { return nil }
        guard let text = try QueueMessageRequest.parse(body).messageText else {
            if required { throw StorageServiceError.invalidXML }
            return nil
        }
        guard text.utf8.count <= Self.maximumMessageBytes else { throw StorageServiceError.messageTooLarge }
        return text
    }

    /// Which fields a `QueueMessagesList` answer carries.
    enum MessageFields {
        /// Put Message: id, times, receipt, next visibility.
        case enqueued
        /// Get Messages: everything.
        case dequeued
        /// Peek Messages: no receipt or next visibility.
        case peeked
    }

    /// The `QueueMessagesList` XML (empty list → `<QueueMessagesList />`).
    static func messagesResponse(_ messages: [MessageRecord], status: HTTPResponse.Status, fields: MessageFields) -> Response {
        var xml = XMLWriter()
        if messages.isEmpty {
            xml.empty("QueueMessagesList")
        } else {
            xml.open("QueueMessagesList")
            for message in messages {
                xml.open("QueueMessage")
                xml.element("MessageId", message.id)
                xml.element("InsertionTime", HTTPDate.format(message.insertionTime))
                xml.element("ExpirationTime", message.expirationTime.map(HTTPDate.format) ?? "Fri, 31 Dec 9999 23:59:59 GMT")
                if fields != .peeked {
                    xml.element("PopReceipt", message.popReceipt)
                    xml.element("TimeNextVisible", HTTPDate.format(message.timeNextVisible))
                }
                if fields != .enqueued {
                    xml.element("DequeueCount", "\(message.dequeueCount)")
                    xml.element("MessageText", message.text)
                }
                xml.close("QueueMessage")
            }
            xml.close("QueueMessagesList")
        }
        let (headers, body) = ResponseBodies.xml(xml)
        return Response(status: status, headers: headers, body: body)
    }
}

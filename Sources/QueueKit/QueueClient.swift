import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import StorageKit
import XMLCoder

/// The Azure Queue Storage client: queues, and messages with visibility timeouts, TTL, pop
/// receipts and updates. Every call goes through StorageKit's execute core (signing, retries,
/// errors, logs, metrics).
public struct QueueClient: Sendable {
    /// The execute core.
    public let client: StorageClient

    /// The largest message text the service takes (64 KiB of UTF-8).
    public static let maxMessageBytes = 65_536

    /// Creates a queue client on top of an execute core.
    public init(client: StorageClient) { self.client = client }

    /// Creates a queue client for an account.
    public init(account: StorageAccount, transport: any StorageTransport = StorageHTTPClient.shared, retryPolicy: RetryPolicy = .default, logger: Logger = Logger(label: "QueueKit")) {
        self.init(client: StorageClient(account: account, transport: transport, retryPolicy: retryPolicy, logger: logger))
    }

    static func path(_ queue: String, _ rest: String = "") -> String { "/" + QueryString.percentEncode(queue) + rest }

    /// Creates a queue; `false` when it already existed (idempotent).
    @discardableResult
    public func createQueue(_ queue: String) async throws -> Bool {
        do {
            let (response, _) = try await client.executeCollecting(StorageRequest(operation: "CreateQueue", method: .PUT, encodedPath: Self.path(queue)), service: .queue)
            return response.status == .created
        } catch let error as StorageError where error.code == .queueAlreadyExists {
            return false
        }
    }

    /// Deletes a queue; `false` when it did not exist.
    @discardableResult
    public func deleteQueue(_ queue: String) async throws -> Bool {
        do {
            _ = try await client.executeCollecting(StorageRequest(operation: "DeleteQueue", method: .DELETE, encodedPath: Self.path(queue)), service: .queue)
            return true
        } catch let error as StorageError where error.code == .queueNotFound {
            return false
        }
    }

    /// Puts a message.
    /// - Parameters:
    ///   - visibilityDelay: seconds before it can be received (0…7 days).
    ///   - timeToLive: seconds until it expires; `-1` = never (default: the service's 7 days).
    @discardableResult
    public func send(_ queue: String, text: String, visibilityDelay: Int = 0, timeToLive: Int? = nil) async throws -> EnqueuedMessage {
        guard text.utf8.count <= Self.maxMessageBytes else {
            throw StorageError(.messageTooLarge, message: "message text is \(text.utf8.count) bytes; the limit is \(Self.maxMessageBytes)", operation: "PutMessage")
        }
        guard (0...604_800).contains(visibilityDelay) else { throw StorageError(.invalidArgument, message: "visibility delay must be 0…604800 s") }
        if let timeToLive, timeToLive != -1, timeToLive < 1 { throw StorageError(.invalidArgument, message: "TTL must be ≥ 1 s or -1") }
        var query: [(name: String, value: String)] = []
        if visibilityDelay > 0 { query.append(("visibilitytimeout", "\(visibilityDelay)")) }
        if let timeToLive { query.append(("messagettl", "\(timeToLive)")) }
        let (_, body) = try await client.executeCollecting(
            StorageRequest(operation: "PutMessage", method: .POST, encodedPath: Self.path(queue, "/messages"), query: query, headers: ["Content-Type": "application/xml"], body: Self.messageBody(text)),
            service: .queue)
        guard let item = try Self.decodeList(body, operation: "PutMessage").first, let receipt = item.PopReceipt else {
            throw StorageError(.invalidResponse, message: "Put Message answered no message", operation: "PutMessage")
        }
        return EnqueuedMessage(id: item.MessageId, popReceipt: receipt, nextVisibleTime: item.TimeNextVisible.flatMap(HTTPDate.parse), expirationTime: Self.expiration(item.ExpirationTime))
    }

    /// Receives up to `count` (1…32) messages, each invisible to others for `visibilityTimeout` seconds.
    public func receive(_ queue: String, count: Int = 1, visibilityTimeout: Int = 30) async throws -> [QueueMessage] {
        guard (1...32).contains(count) else { throw StorageError(.invalidArgument, message: "count must be 1…32") }
        guard (1...604_800).contains(visibilityTimeout) else { throw StorageError(.invalidArgument, message: "visibility timeout must be 1…604800 s") }
        let (_, body) = try await client.executeCollecting(
            StorageRequest(operation: "GetMessages", method: .GET, encodedPath: Self.path(queue, "/messages"), query: [("numofmessages", "\(count)"), ("visibilitytimeout", "\(visibilityTimeout)")]),
            service: .queue)
        return try Self.decodeList(body, operation: "GetMessages").map { item in
            QueueMessage(
                id: item.MessageId, popReceipt: item.PopReceipt ?? "", text: item.MessageText ?? "", dequeueCount: item.DequeueCount ?? 0,
                insertionTime: item.InsertionTime.flatMap(HTTPDate.parse), expirationTime: Self.expiration(item.ExpirationTime),
                nextVisibleTime: item.TimeNextVisible.flatMap(HTTPDate.parse))
        }
    }

    /// Peeks at up to `count` (1…32) visible messages without changing them.
    public func peek(_ queue: String, count: Int = 1) async throws -> [PeekedMessage] {
        guard (1...32).contains(count) else { throw StorageError(.invalidArgument, message: "count must be 1…32") }
        let (_, body) = try await client.executeCollecting(
            StorageRequest(operation: "PeekMessages", method: .GET, encodedPath: Self.path(queue, "/messages"), query: [("peekonly", "true"), ("numofmessages", "\(count)")]),
            service: .queue)
        return try Self.decodeList(body, operation: "PeekMessages").map {
            PeekedMessage(
                id: $0.MessageId, text: $0.MessageText ?? "", dequeueCount: $0.DequeueCount ?? 0,
                insertionTime: $0.InsertionTime.flatMap(HTTPDate.parse), expirationTime: Self.expiration($0.ExpirationTime))
        }
    }

    /// Deletes a received message. Throws `StorageError` with `isLeaseLost` when the receipt is stale
    /// (someone else received or updated it) or the message is gone.
    public func delete(_ queue: String, messageID: String, popReceipt: String) async throws {
        _ = try await client.executeCollecting(
            StorageRequest(operation: "DeleteMessage", method: .DELETE, encodedPath: Self.path(queue, "/messages/" + QueryString.percentEncode(messageID)), query: [("popreceipt", popReceipt)]),
            service: .queue)
    }

    /// Updates a received message: new visibility timeout (0 = visible now) and optionally new text.
    /// Returns the new pop receipt (the old one is dead) and when the message becomes visible.
    /// `timeLimit` caps the call's overall deadline (a lease renewal's must end inside the held time).
    public func update(_ queue: String, messageID: String, popReceipt: String, visibilityTimeout: Int, text: String? = nil, timeLimit: Duration? = nil) async throws -> (popReceipt: String, nextVisibleTime: Date?) {
        guard (0...604_800).contains(visibilityTimeout) else { throw StorageError(.invalidArgument, message: "visibility timeout must be 0…604800 s") }
        if let text, text.utf8.count > Self.maxMessageBytes { throw StorageError(.messageTooLarge, message: "message text over 64 KiB", operation: "UpdateMessage") }
        var headers: HTTPHeaders = [:]
        if text != nil { headers.add(name: "Content-Type", value: "application/xml") }
        let (response, _) = try await client.executeCollecting(
            StorageRequest(
                operation: "UpdateMessage", method: .PUT, encodedPath: Self.path(queue, "/messages/" + QueryString.percentEncode(messageID)),
                query: [("popreceipt", popReceipt), ("visibilitytimeout", "\(visibilityTimeout)")], headers: headers, body: text.map(Self.messageBody),
                timeLimit: timeLimit),
            service: .queue)
        guard let receipt = response.headers.first(name: "x-ms-popreceipt") else {
            throw StorageError(.invalidResponse, message: "Update Message answered no pop receipt", operation: "UpdateMessage")
        }
        return (receipt, response.headers.first(name: "x-ms-time-next-visible").flatMap(HTTPDate.parse))
    }

    /// The approximate number of messages (visible or not) in the queue.
    public func approximateMessageCount(_ queue: String) async throws -> Int {
        let (response, _) = try await client.executeCollecting(StorageRequest(operation: "GetQueueMetadata", method: .GET, encodedPath: Self.path(queue), query: [("comp", "metadata")]), service: .queue)
        return response.headers.first(name: "x-ms-approximate-messages-count").flatMap(Int.init) ?? 0
    }

    /// Deletes every message.
    public func clear(_ queue: String) async throws {
        _ = try await client.executeCollecting(StorageRequest(operation: "ClearMessages", method: .DELETE, encodedPath: Self.path(queue, "/messages")), service: .queue)
    }

    static func messageBody(_ text: String) -> ByteBuffer {
        ByteBuffer(string: #"<?xml version="1.0" encoding="utf-8"?><QueueMessage><MessageText>"# + StorageXML.escape(text) + "</MessageText></QueueMessage>")
    }

    static func decodeList(_ body: ByteBuffer, operation: String) throws -> [QueueMessagesList.Item] {
        do {
            let decoder = XMLDecoder()
            decoder.trimValueWhitespaces = false
            return try decoder.decode(QueueMessagesList.self, from: Data(buffer: body)).QueueMessage ?? []
        } catch {
            throw StorageError(.invalidResponse, message: "unreadable queue XML: \(error)", operation: operation)
        }
    }

    /// The expiration time Azure reports, `nil` for "never": Azure answers `Fri, 31 Dec 9999
    /// 23:59:59 GMT` for a message sent with TTL −1.
    static func expiration(_ value: String?) -> Date? {
        guard let date = value.flatMap(HTTPDate.parse), date.timeIntervalSince1970 < 253_000_000_000 else { return nil }
        return date
    }
}

extension StorageError {
    /// The message's lease is gone: its pop receipt is stale (400 `PopReceiptMismatch`) or the
    /// message no longer exists (404 `MessageNotFound`).
    public var isLeaseLost: Bool { code == .popReceiptMismatch || code == .messageNotFound }
}

import Foundation

/// A stored queue message.
struct MessageRecord: Codable, Sendable {
    var id: String
    var text: String
    var insertionTime: Date
    /// `nil` when the message never expires (TTL −1).
    var expirationTime: Date?
    var nextVisible: Date
    var dequeueCount: Int
    var popReceipt: String
}

/// A stored queue.
struct QueueRecord: Codable, Sendable {
    var name: String
    var metadata: [String: String]
    var messages: [MessageRecord]
}

/// Queues with their messages; each queue is one JSON file rewritten atomically on every change,
/// so visibility, dequeue counts and receipts survive a restart.
actor QueueStore {
    let root: String
    var queues: [String: QueueRecord] = [:]  // key: account/queue

    init(root: String) throws {
        self.root = root + "/queue"
        try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: true)
        let decoder = JSONDecoder()
        for account in (try? FileManager.default.contentsOfDirectory(atPath: self.root)) ?? [] {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: "\(self.root)/\(account)")) ?? [] where file.hasSuffix(".json") {
                if let data = FileManager.default.contents(atPath: "\(self.root)/\(account)/\(file)"),
                    let queue = try? decoder.decode(QueueRecord.self, from: data)
                {
                    queues["\(account)/\(queue.name)"] = queue
                }
            }
        }
    }

    enum Failure: Error { case queueNotFound, messageNotFound, popReceiptMismatch }

    private func save(_ account: String, _ queue: QueueRecord) async throws {
        let dir = "\(root)/\(account)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try await DiskFile.write(try JSONEncoder().encode(queue), to: "\(dir)/\(queue.name).json")
    }

    private func live(_ account: String, _ name: String, now: Date) throws -> QueueRecord {
        guard var queue = queues["\(account)/\(name)"] else { throw Failure.queueNotFound }
        queue.messages.removeAll { $0.expirationTime.map { $0 <= now } ?? false }
        return queue
    }

    /// Creates a queue: `true` created, `false` existed with the same metadata, `nil` existed with other metadata.
    func create(_ account: String, _ name: String, metadata: [String: String]) async throws -> Bool? {
        if let existing = queues["\(account)/\(name)"] {
            return existing.metadata.lowercasedKeys == metadata.lowercasedKeys ? false : nil
        }
        let queue = QueueRecord(name: name, metadata: metadata, messages: [])
        queues["\(account)/\(name)"] = queue
        try await save(account, queue)
        return true
    }

    func delete(_ account: String, _ name: String) throws {
        guard queues.removeValue(forKey: "\(account)/\(name)") != nil else { throw Failure.queueNotFound }
        try? FileManager.default.removeItem(atPath: "\(root)/\(account)/\(name).json")
    }

    func metadata(_ account: String, _ name: String, now: Date) throws -> (metadata: [String: String], count: Int) {
        let queue = try live(account, name, now: now)
        return (queue.metadata, queue.messages.count)
    }

    func setMetadata(_ account: String, _ name: String, _ metadata: [String: String], now: Date) async throws {
        var queue = try live(account, name, now: now)
        queue.metadata = metadata
        queues["\(account)/\(name)"] = queue
        try await save(account, queue)
    }

    func put(_ account: String, _ name: String, text: String, visibilityTimeout: Int, ttl: Int, now: Date) async throws -> MessageRecord {
        var queue = try live(account, name, now: now)
        let message = MessageRecord(
            id: UUID().uuidString.lowercased(), text: text, insertionTime: now,
            expirationTime: ttl == -1 ? nil : now.addingTimeInterval(TimeInterval(ttl)),
            nextVisible: now.addingTimeInterval(TimeInterval(visibilityTimeout)), dequeueCount: 0, popReceipt: Self.newReceipt())
        queue.messages.append(message)
        queues["\(account)/\(name)"] = queue
        try await save(account, queue)
        return message
    }

    func get(_ account: String, _ name: String, count: Int, visibilityTimeout: Int, now: Date) async throws -> [MessageRecord] {
        var queue = try live(account, name, now: now)
        var taken: [MessageRecord] = []
        for index in queue.messages.indices where taken.count < count && queue.messages[index].nextVisible <= now {
            queue.messages[index].dequeueCount += 1
            queue.messages[index].popReceipt = Self.newReceipt()
            queue.messages[index].nextVisible = now.addingTimeInterval(TimeInterval(visibilityTimeout))
            taken.append(queue.messages[index])
        }
        queues["\(account)/\(name)"] = queue
        if !taken.isEmpty { try await save(account, queue) }
        return taken
    }

    func peek(_ account: String, _ name: String, count: Int, now: Date) throws -> [MessageRecord] {
        Array(try live(account, name, now: now).messages.filter { $0.nextVisible <= now }.prefix(count))
    }

    func deleteMessage(_ account: String, _ name: String, id: String, popReceipt: String, now: Date) async throws {
        var queue = try live(account, name, now: now)
        guard let index = queue.messages.firstIndex(where: { $0.id == id }) else { throw Failure.messageNotFound }
        guard queue.messages[index].popReceipt == popReceipt else { throw Failure.popReceiptMismatch }
        queue.messages.remove(at: index)
        queues["\(account)/\(name)"] = queue
        try await save(account, queue)
    }

    func update(_ account: String, _ name: String, id: String, popReceipt: String, visibilityTimeout: Int, text: String?, now: Date) async throws -> MessageRecord {
        var queue = try live(account, name, now: now)
        guard let index = queue.messages.firstIndex(where: { $0.id == id }) else { throw Failure.messageNotFound }
        guard queue.messages[index].popReceipt == popReceipt else { throw Failure.popReceiptMismatch }
        queue.messages[index].popReceipt = Self.newReceipt()
        queue.messages[index].nextVisible = now.addingTimeInterval(TimeInterval(visibilityTimeout))
        if let text { queue.messages[index].text = text }
        queues["\(account)/\(name)"] = queue
        try await save(account, queue)
        return queue.messages[index]
    }

    func clear(_ account: String, _ name: String, now: Date) async throws {
        var queue = try live(account, name, now: now)
        queue.messages.removeAll()
        queues["\(account)/\(name)"] = queue
        try await save(account, queue)
    }

    /// Opaque receipts with `+`, `/` and `=` in them, so clients' query encoding is exercised.
    static func newReceipt() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        bytes[0] = 0xFB  // base64 of 0xFB… starts with "+"
        bytes[3] = 0xFF  // and contains "/"
        return Data(bytes).base64EncodedString()
    }
}

extension Dictionary where Key == String, Value == String {
    var lowercasedKeys: [String: String] { Dictionary(uniqueKeysWithValues: map { ($0.key.lowercased(), $0.value) }) }
}

import Foundation
import Logging
import NIOCore

/// Queues and their messages, on disk under `{root}/queue/{account}/{queue}/`: `queue.json` and
/// one `messages/{id}.json` per message, each rewritten atomically (temp → fsync → rename → fsync
/// of the directory) on every change, synchronously on the store's own thread (`StoreThread`), so
/// every operation is atomic.
///
/// Time is always passed in (the emulator's clock, which tests can advance).
actor QueueStore {
    /// A queue's in-memory state.
    struct Queue {
        var record: QueueRecord
        var messages: [String: MessageRecord] = [:]
    }

    let dataDirectory: String
    let root: String
    let temporaryDirectory: String
    let logger: Logger
    private nonisolated let thread: StoreThread
    private var queues: [String: Queue] = [:]
    private var sequence: UInt64 = 0

    /// The store runs on its own thread (see `StoreThread`).
    nonisolated var unownedExecutor: UnownedSerialExecutor { thread.loop.executor.asUnownedSerialExecutor() }

    init(dataDirectory: String, thread: StoreThread, logger: Logger) {
        self.dataDirectory = dataDirectory
        self.root = dataDirectory + "/queue"
        self.temporaryDirectory = dataDirectory + "/tmp"
        self.thread = thread
        self.logger = logger
    }

    static func key(_ account: String, _ queue: String) -> String { account + "/" + queue }
    func queueDirectory(_ account: String, _ queue: String) -> String { "\(root)/\(account)/\(queue)" }
    func messagePath(_ account: String, _ queue: String, _ id: String) -> String {
        queueDirectory(account, queue) + "/messages/" + id + ".json"
    }

    // MARK: Loading

    /// Reads all queues and messages back after a (re)start. The empty directory of a Create Queue
    /// that never wrote its `queue.json` is removed; what cannot be read (a `queue.json` or a
    /// message that does not decode) is moved to the quarantine folder with a warning, never
    /// deleted, and the rest loads as usual.
    func load() throws {
        try POSIXFile.makeDirectory(temporaryDirectory)
        try POSIXFile.makeDirectory(root)
        let quarantine = Quarantine(dataDirectory: dataDirectory, logger: logger)
        for account in POSIXFile.list(root) {
            for name in POSIXFile.list("\(root)/\(account)") {
                if let queue = loadQueue(account, name, quarantine: quarantine) { queues[Self.key(account, name)] = queue }
            }
        }
    }

    /// One queue directory, or nil when it was removed (incomplete) or quarantined (unreadable).
    private func loadQueue(_ account: String, _ name: String, quarantine: Quarantine) -> Queue? {
        let directory = queueDirectory(account, name)
        guard let record = quarantine.record(QueueRecord.self, "queue.json", in: directory, kind: "queue") else { return nil }
        var queue = Queue(record: record)
        for file in POSIXFile.list(directory + "/messages") {
            let path = directory + "/messages/" + file
            guard file.hasSuffix(".json"), let message = StoreCoding.decode(MessageRecord.self, at: path) else {
                quarantine.move(path, reason: "message is unreadable or does not decode")
                continue
            }
            queue.messages[message.id] = message
            sequence = max(sequence, message.sequence)
        }
        return queue
    }

    // MARK: Queues

    /// Whether a queue was created (true) or already existed with the same metadata (false);
    /// 409 `QueueAlreadyExists` if it exists with different metadata.
    func createQueue(_ account: String, _ name: String, metadata: [String: String]) throws -> Bool {
        let key = Self.key(account, name)
        if let existing = queues[key] {
            guard Metadata.equal(existing.record.metadata, metadata) else { throw StorageServiceError.queueAlreadyExists }
            return false
        }
        let record = QueueRecord(name: name, metadata: metadata)
        let directory = queueDirectory(account, name)
        try POSIXFile.makeDirectory(directory + "/messages")
        try writeJSON(record, to: directory + "/queue.json")
        queues[key] = Queue(record: record)
        return true
    }

    /// Deletes a queue and its messages.
    func deleteQueue(_ account: String, _ name: String) throws {
        let key = Self.key(account, name)
        guard queues[key] != nil else { throw StorageServiceError.queueNotFound }
        let doomed = temporaryDirectory + "/" + UUID().uuidString + ".deleted"
        try POSIXFile.rename(queueDirectory(account, name), to: doomed)
        queues[key] = nil
        POSIXFile.removeTree(doomed)
    }

    /// Metadata and the approximate message count (visible and invisible, unexpired).
    func queueProperties(_ account: String, _ name: String, now: Date) throws -> (metadata: [String: String], count: Int) {
        let queue = try purgeExpired(account, name, now: now)
        return (queue.record.metadata, queue.messages.count)
    }

    /// Replaces a queue's metadata.
    func setQueueMetadata(_ account: String, _ name: String, metadata: [String: String]) throws {
        let key = Self.key(account, name)
        guard var queue = queues[key] else { throw StorageServiceError.queueNotFound }
        queue.record.metadata = metadata
        try writeJSON(queue.record, to: queueDirectory(account, name) + "/queue.json")
        queues[key] = queue
    }

    /// The queues of an account, sorted by name.
    func queueRecords(_ account: String) -> [QueueRecord] {
        queues.filter { $0.key.hasPrefix(account + "/") }.map(\.value.record).sorted { $0.name < $1.name }
    }

    /// Unexpired messages (visible or not) per queue, for the metrics gauge: read only, no purge.
    func messageCounts(now: Date) -> [(account: String, queue: String, messages: Int)] {
        queues.map { key, queue in
            let account = key.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
            return (account, queue.record.name, queue.messages.values.count { !$0.isExpired(at: now) })
        }
    }

    // MARK: Messages

    /// Adds a message.
    func put(
        _ account: String, _ queue: String, text: String, visibilityTimeout: Int, timeToLive: Int?, now: Date
    ) throws -> MessageRecord {
        _ = try purgeExpired(account, queue, now: now)
        sequence += 1
        let message = MessageRecord(
            id: UUID().uuidString.lowercased(), sequence: sequence, text: text, insertionTime: now,
            expirationTime: timeToLive.map { now.addingTimeInterval(TimeInterval($0)) },
            timeNextVisible: now.addingTimeInterval(TimeInterval(visibilityTimeout)), dequeueCount: 0,
            popReceipt: PopReceipt.make())
        try save(message, account, queue)
        return message
    }

    /// Dequeues up to `count` visible messages: each gets a new pop receipt, `DequeueCount + 1` and
    /// stays invisible for `visibilityTimeout` seconds. Approximately FIFO (insertion order).
    func get(_ account: String, _ queue: String, count: Int, visibilityTimeout: Int, now: Date) throws -> [MessageRecord] {
        let state = try purgeExpired(account, queue, now: now)
        let visible = state.messages.values.filter { $0.timeNextVisible <= now }.sorted { $0.sequence < $1.sequence }.prefix(count)
        var result: [MessageRecord] = []
        for var message in visible {
            message.dequeueCount += 1
            message.popReceipt = PopReceipt.make()
            message.timeNextVisible = now.addingTimeInterval(TimeInterval(visibilityTimeout))
            try save(message, account, queue)
            result.append(message)
        }
        return result
    }

    /// Up to `count` visible messages, without changing anything.
    func peek(_ account: String, _ queue: String, count: Int, now: Date) throws -> [MessageRecord] {
        let state = try purgeExpired(account, queue, now: now)
        return Array(state.messages.values.filter { $0.timeNextVisible <= now }.sorted { $0.sequence < $1.sequence }.prefix(count))
    }

    /// Deletes a message if `popReceipt` is its current receipt.
    func delete(_ account: String, _ queue: String, id: String, popReceipt: String, now: Date) throws {
        let message = try current(account, queue, id: id, popReceipt: popReceipt, now: now)
        POSIXFile.remove(messagePath(account, queue, message.id))
        queues[Self.key(account, queue)]?.messages[message.id] = nil
    }

    /// Gives a message a new receipt and visibility time, and optionally new text.
    func update(
        _ account: String, _ queue: String, id: String, popReceipt: String, visibilityTimeout: Int, text: String?, now: Date
    ) throws -> MessageRecord {
        var message = try current(account, queue, id: id, popReceipt: popReceipt, now: now)
        message.popReceipt = PopReceipt.make()
        message.timeNextVisible = now.addingTimeInterval(TimeInterval(visibilityTimeout))
        if let text { message.text = text }
        try save(message, account, queue)
        return message
    }

    /// Deletes every message of a queue.
    func clear(_ account: String, _ queue: String) throws {
        let key = Self.key(account, queue)
        guard let state = queues[key] else { throw StorageServiceError.queueNotFound }
        for id in state.messages.keys { POSIXFile.remove(messagePath(account, queue, id)) }
        queues[key]?.messages = [:]
    }

    // MARK: Helpers

    /// The message, checked against its receipt: 404 `MessageNotFound` if unknown or expired,
    /// 400 `PopReceiptMismatch` if the receipt is not the current one.
    private func current(_ account: String, _ queue: String, id: String, popReceipt: String, now: Date) throws -> MessageRecord {
        let state = try purgeExpired(account, queue, now: now)
        guard let message = state.messages[id] else { throw StorageServiceError.messageNotFound }
        guard let receipt = message.popReceipt, receipt == popReceipt else { throw StorageServiceError.popReceiptMismatch }
        return message
    }

    /// Removes expired messages of a queue and returns what is left (404 `QueueNotFound`).
    private func purgeExpired(_ account: String, _ name: String, now: Date) throws -> Queue {
        let key = Self.key(account, name)
        guard var queue = queues[key] else { throw StorageServiceError.queueNotFound }
        let expired = queue.messages.values.filter { $0.isExpired(at: now) }
        guard !expired.isEmpty else { return queue }
        for message in expired {
            POSIXFile.remove(messagePath(account, name, message.id))
            queue.messages[message.id] = nil
        }
        queues[key] = queue
        return queue
    }

    private func save(_ message: MessageRecord, _ account: String, _ queue: String) throws {
        try writeJSON(message, to: messagePath(account, queue, message.id))
        queues[Self.key(account, queue)]?.messages[message.id] = message
    }

    private func writeJSON(_ value: some Encodable, to path: String) throws {
        try POSIXFile.writeAtomically(try StoreCoding.encode(value), to: path, temporaryDirectory: temporaryDirectory)
    }
}

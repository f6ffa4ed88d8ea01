import Foundation

/// A queue message as stored in `messages/{id}.json`; rewritten atomically on every change.
struct MessageRecord: Codable, Sendable, Equatable {
    /// Message id (a GUID).
    var id: String
    /// Insertion order within the queue (approximately FIFO delivery).
    var sequence: UInt64
    /// The message text as sent (already XML-unescaped).
    var text: String
    var insertionTime: Date
    /// Nil when the message never expires (`messagettl=-1`).
    var expirationTime: Date?
    var timeNextVisible: Date
    var dequeueCount: Int
    /// The current pop receipt (nil until first dequeued).
    var popReceipt: String?

    func isExpired(at now: Date) -> Bool {
        expirationTime.map { $0 <= now } ?? false
    }
}

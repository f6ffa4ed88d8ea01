import Foundation

/// What the processor puts on `jobqueue-poison` (with TTL −1) for a job it gave up on.
public struct PoisonMessage: Codable, Sendable, Equatable {
    /// The job id, when the message could be read.
    public var jobId: String?
    /// A stable code (`maxDeliveries`, `corrupt`, `unsupported`, …).
    public var code: String
    /// Why, for people.
    public var reason: String
    /// Deliveries of the original message.
    public var dequeueCount: Int
    /// The original message id on `jobqueue`.
    public var originalMessageId: String
    /// The input blob, when known.
    public var input: BlobReference?
    /// The original message text, as received.
    public var originalText: String
    /// When it was quarantined.
    public var failedAt: Date

    /// Creates a poison entry.
    public init(jobId: String?, code: String, reason: String, dequeueCount: Int, originalMessageId: String, input: BlobReference?, originalText: String, failedAt: Date = Date()) {
        self.jobId = jobId
        self.code = code
        self.reason = reason
        self.dequeueCount = dequeueCount
        self.originalMessageId = originalMessageId
        self.input = input
        self.originalText = originalText
        self.failedAt = failedAt.jobPrecision
    }

    /// The queue message text (base64 JSON).
    public func messageText() throws -> String { try JobCoding.messageText(self) }

    /// Reads an entry from queue message text.
    public static func decode(messageText: String) throws -> PoisonMessage {
        try JobCoding.decoder().decode(PoisonMessage.self, from: JobCoding.json(fromMessageText: messageText))
    }
}

import Foundation

/// What the processor puts on `jobqueue-poison` (with TTL −1) for a job it gave up on.
///
/// An entry always fits in one queue message (`QueueClient.maxMessageBytes` of text, base64
/// included): when the original message would not fit, `originalText` keeps a prefix of it and
/// `originalTextTruncated` / `originalTextBytes` say so. The id, job id, code, reason and dequeue
/// count stay intact.
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
    /// The job's tenant, when known (a job rebuilt from a cut entry keeps it).
    public var tenant: String?
    /// The original message text, as received (a prefix of it when `originalTextTruncated`).
    public var originalText: String
    /// `true` when `originalText` is only the start of the original, cut to fit the entry in one
    /// queue message (absent when it is whole).
    public var originalTextTruncated: Bool?
    /// The original text's size in UTF-8 bytes, when it was truncated.
    public var originalTextBytes: Int?
    /// When it was quarantined.
    public var failedAt: Date

    /// Creates a poison entry.
    public init(
        jobId: String?, code: String, reason: String, dequeueCount: Int, originalMessageId: String, input: BlobReference?, originalText: String,
        failedAt: Date = Date(), tenant: String? = nil
    ) {
        self.tenant = tenant
        self.jobId = jobId
        self.code = code
        self.reason = reason
        self.dequeueCount = dequeueCount
        self.originalMessageId = originalMessageId
        self.input = input
        self.originalText = originalText
        self.failedAt = failedAt.jobPrecision
    }

    /// The queue message text (base64 JSON), never longer than `limit` bytes: the original text is
    /// truncated (and marked so) when the whole entry would not fit.
    public func messageText(limit: Int = QueueClient.maxMessageBytes) throws -> String {
        try fitted(limit: limit).text
    }

    /// This entry as it is sent: itself when it fits in `limit` bytes of message text, else with the
    /// longest prefix of the original text that fits.
    public func fitted(limit: Int = QueueClient.maxMessageBytes) throws -> (entry: PoisonMessage, text: String) {
        let whole = try JobCoding.messageText(self)
        if whole.utf8.count <= limit { return (self, whole) }
        // Search with the marker set (it only adds bytes), drop it if the whole original fits after all.
        var base = self
        base.originalTextTruncated = true
        base.originalTextBytes = originalText.utf8.count
        // Fields other than the original are short in practice; a pathological one (a huge reason or
        // id read from a hostile message) is capped so the guarantee holds whatever the input.
        if try Self.encodedSize(base, prefix: 0, of: []) > limit { base = base.cappingFields() }
        // The longest prefix (in Unicode scalars, so the text stays valid) that fits: binary search.
        let scalars = Array(originalText.unicodeScalars)
        var low = 0
        var high = scalars.count
        while low < high {
            let middle = (low + high + 1) / 2
            if try Self.encodedSize(base, prefix: middle, of: scalars) <= limit { low = middle } else { high = middle - 1 }
        }
        var entry = base
        entry.originalText = Self.prefix(low, of: scalars)
        if low == scalars.count {
            entry.originalTextTruncated = nil
            entry.originalTextBytes = nil
        }
        return (entry, try JobCoding.messageText(entry))
    }

    /// Reads an entry from queue message text.
    public static func decode(messageText: String) throws -> PoisonMessage {
        try JobCoding.decoder().decode(PoisonMessage.self, from: JobCoding.json(fromMessageText: messageText))
    }

    private static func encodedSize(_ base: PoisonMessage, prefix count: Int, of scalars: [Unicode.Scalar]) throws -> Int {
        var entry = base
        entry.originalText = prefix(count, of: scalars)
        // Base64 of n bytes is 4·⌈n/3⌉ characters.
        return (try JobCoding.encoder().encode(entry).count + 2) / 3 * 4
    }

    private static func prefix(_ count: Int, of scalars: [Unicode.Scalar]) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[..<count])
        return String(view)
    }

    /// Every free-text field cut to 1,024 characters (`reason` to 8,192), for entries that would not
    /// fit even without the original text.
    private func cappingFields() -> PoisonMessage {
        func cap(_ text: String, _ length: Int) -> String { text.count <= length ? text : String(text.prefix(length)) + "…" }
        var entry = self
        entry.jobId = jobId.map { cap($0, 1024) }
        entry.code = cap(code, 1024)
        entry.reason = cap(reason, 8192)
        entry.originalMessageId = cap(originalMessageId, 1024)
        entry.input = input.map {
            BlobReference(container: cap($0.container, 1024), blob: cap($0.blob, 1024), bytes: $0.bytes, mediaType: cap($0.mediaType, 1024), md5: cap($0.md5, 1024))
        }
        return entry
    }
}

import StorageKit

extension MediaJob {
    /// The time-to-live job messages are sent with: −1, never expire. With Azure's default (7 days)
    /// an outage of the processors longer than a week would silently drop accepted jobs.
    public static let messageTimeToLive = -1
}

extension QueueClient {
    /// Puts a job on `queue` as base64 JSON, never expiring (`MediaJob.messageTimeToLive`).
    @discardableResult
    public func send(_ queue: String, job: MediaJob, visibilityDelay: Int = 0) async throws -> EnqueuedMessage {
        try await send(queue, text: try job.messageText(), visibilityDelay: visibilityDelay, timeToLive: MediaJob.messageTimeToLive)
    }
}

import StorageKit

extension RetryPolicy {
    /// The default classification and retry count with millisecond delays, so tests that exhaust
    /// retries finish quickly.
    public static let fast = RetryPolicy(
        maxRetries: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50), attemptTimeout: .seconds(10), overallTimeout: .seconds(30))
}

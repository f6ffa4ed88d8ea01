import StorageKit

extension RetryPolicy {
    /// The default classification and retry count with millisecond delays, so tests that exhaust
    /// retries finish quickly — and generous timeouts: the suites run in parallel on two cores, and
    /// an attempt that times out under that load is retried, which for a create-only write is a 409
    /// the test did not cause (CI saw one at 10 s). Tests of timeouts set their own.
    public static let fast = RetryPolicy(
        maxRetries: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50), attemptTimeout: .seconds(30), overallTimeout: .seconds(60),
        smallAttemptTimeout: .seconds(30), smallOverallTimeout: .seconds(60))
}

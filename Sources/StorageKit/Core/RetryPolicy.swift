import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// When and how long to wait before another attempt: jittered exponential backoff that honours
/// `Retry-After`, with per-attempt and overall deadlines.
public struct RetryPolicy: Sendable {
    /// Retries after the first attempt (so `maxRetries + 1` attempts in all).
    public var maxRetries: Int
    /// The first backoff; doubled on each retry.
    public var baseDelay: Duration
    /// The longest backoff.
    public var maxDelay: Duration
    /// How long one attempt of a data transfer (one block) may take to produce a response head.
    public var attemptTimeout: Duration
    /// How long a whole data transfer request (one block), every attempt and wait included, may take.
    public var overallTimeout: Duration
    /// How long one attempt of a small operation may take to produce a response head.
    public var smallAttemptTimeout: Duration
    /// How long a whole small operation, every attempt and wait included, may take.
    public var smallOverallTimeout: Duration

    /// Creates a policy. The defaults follow the reliability doc: ≤ 3 retries, 0.8 s base, jitter;
    /// transfers 60 s per attempt and 300 s per block, small operations 10 s per attempt and 30 s
    /// overall.
    public init(
        maxRetries: Int = 3,
        baseDelay: Duration = .milliseconds(800),
        maxDelay: Duration = .seconds(30),
        attemptTimeout: Duration = .seconds(60),
        overallTimeout: Duration = .seconds(300),
        smallAttemptTimeout: Duration = .seconds(10),
        smallOverallTimeout: Duration = .seconds(30)
    ) {
        self.maxRetries = maxRetries
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.attemptTimeout = attemptTimeout
        self.overallTimeout = overallTimeout
        self.smallAttemptTimeout = smallAttemptTimeout
        self.smallOverallTimeout = smallOverallTimeout
    }

    /// The per-attempt timeout and overall deadline for a class of request. A small operation never
    /// gets longer deadlines than a transfer (a policy with short general deadlines stays short).
    public func deadlines(for deadlineClass: StorageRequest.DeadlineClass) -> (attempt: Duration, overall: Duration) {
        if deadlineClass == .small {
            return (min(smallAttemptTimeout, attemptTimeout), min(smallOverallTimeout, overallTimeout))
        }
        return (attemptTimeout, overallTimeout)
    }

    /// The default policy.
    public static let `default` = RetryPolicy()

    /// Whether an HTTP status is worth another attempt (azure-core's list).
    public static func isRetryable(status: Int) -> Bool {
        [408, 429, 500, 502, 503, 504].contains(status)
    }

    /// The wait before retry number `retry` (1-based): `min(max, base·2^(retry−1)) · random(0.5…1.5)`,
    /// never shorter than what the server asked for in `Retry-After`.
    public func delay(beforeRetry retry: Int, retryAfter: Duration?) -> Duration {
        let exponent = min(max(retry - 1, 0), 30)
        let base = min(maxDelay, baseDelay * (1 << exponent))
        let jittered = base * Double.random(in: 0.5...1.5)
        if let retryAfter, retryAfter > jittered { return min(retryAfter, maxDelay) }
        return jittered
    }

    /// Reads `retry-after-ms`, `x-ms-retry-after-ms` or `Retry-After` (seconds or an HTTP date).
    static func retryAfter(headers: HTTPHeaders, now: Date = .now) -> Duration? {
        for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
            if let value = headers.first(name: name), let ms = Int(value), ms >= 0 { return .milliseconds(ms) }
        }
        guard let value = headers.first(name: "retry-after") else { return nil }
        if let seconds = Int(value), seconds >= 0 { return .seconds(seconds) }
        if let date = HTTPDate.parse(value) { return .seconds(max(0, date.timeIntervalSince(now))) }
        return nil
    }
}

extension Duration {
    /// The duration as NIO's `TimeAmount`.
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

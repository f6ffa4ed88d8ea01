import Foundation
import Synchronization

/// A token bucket per API key: `ratePerSecond` uploads sustained, `burst` at once. A request
/// over the limit learns how many seconds until a token is back (the `Retry-After`).
final class RateLimiter: Sendable {
    private struct Bucket { var tokens: Double; var updated: ContinuousClock.Instant }

    let ratePerSecond: Double
    let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(ratePerSecond: Double, burst: Int) {
        self.ratePerSecond = ratePerSecond
        self.burst = Double(max(1, burst))
    }

    /// Takes a token for `key`; returns nil when allowed, or the seconds to wait.
    func acquire(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        guard ratePerSecond > 0 else { return nil }
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * ratePerSecond)
            bucket.updated = now
            defer {
                buckets[key] = bucket
                // Forget keys that have been idle long enough to have a full bucket again.
                if buckets.count > 10_000 { buckets = buckets.filter { $0.value.tokens < burst } }
            }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / ratePerSecond).rounded(.up)))
        }
    }
}

/// The slowest body the uploader keeps reading: `bytesPerSecond` averaged over `window`, enforced
/// once the client has had `grace` (Caddy's `min_rate`, nginx's `client_body_timeout`). Low enough
/// for a phone on a poor network (the default 1 KiB/s is about a 2G link), high enough that a client
/// trickling a byte every few seconds loses its upload slot (408) within `grace` plus one gap.
///
/// Time counts only while the uploader waits for the client's bytes: while it waits on storage it
/// does not read, and that is not the client's fault.
struct MinimumBodyRate: Sendable, Equatable {
    /// Bytes per second; 0 disables the check.
    var bytesPerSecond: Int
    var window: Duration
    var grace: Duration

    static let `default` = MinimumBodyRate(bytesPerSecond: 1024, window: .seconds(30), grace: .seconds(10))
    static let disabled = MinimumBodyRate(bytesPerSecond: 0, window: .seconds(30), grace: .seconds(10))
}

/// Measures one request body against a `MinimumBodyRate`. Bytes are kept in one-second buckets of
/// waiting time (at most `window` of them), so memory is bounded whatever the chunk sizes.
struct BodyRateMeter: Sendable {
    let policy: MinimumBodyRate
    /// Total time spent waiting for the client so far.
    private(set) var waited: Duration = .zero
    private var buckets: [Int]
    private var second: Int64 = 0
    private var windowBytes = 0

    init(policy: MinimumBodyRate) {
        self.policy = policy
        buckets = Array(repeating: 0, count: max(1, Int(policy.window.components.seconds)))
    }

    /// Records `bytes` that arrived after waiting `wait` for them. Returns false when the client is
    /// past the grace period and below the minimum rate over the window.
    mutating func record(bytes: Int, after wait: Duration) -> Bool {
        guard policy.bytesPerSecond > 0 else { return true }
        waited += wait
        let now = waited.components.seconds
        // Slide the window: buckets for the seconds that passed are emptied (at most all of them).
        let steps = min(Int64(buckets.count), now - second)
        if steps > 0 {
            for offset in 1...steps {
                let index = Int((second + offset) % Int64(buckets.count))
                windowBytes -= buckets[index]
                buckets[index] = 0
            }
        }
        second = now
        buckets[Int(now % Int64(buckets.count))] += bytes
        windowBytes += bytes
        guard waited >= policy.grace else { return true }
        let span = Self.seconds(min(waited, policy.window))
        return Double(windowBytes) >= Double(policy.bytesPerSecond) * span
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

import Synchronization

/// Readiness that tolerates blips: a failed storage check only makes the uploader unready once
/// checks have been failing, without a success in between, for longer than `tolerance`. A 10-second
/// storage hiccup must not take every pod out of the load balancer at once (with
/// `externalTrafficPolicy: Local` that is the whole service); an outage that lasts is still reported.
final class ReadinessWindow: Sendable {
    /// What `/readyz` reports.
    enum State: String, Sendable {
        /// The last check succeeded.
        case ready
        /// Checks are failing, for less than the tolerance: still ready (200).
        case degraded
        /// Checks have failed for longer than the tolerance (503).
        case unavailable
    }

    let tolerance: Duration
    private let failingSince = Mutex<ContinuousClock.Instant?>(nil)

    init(tolerance: Duration) { self.tolerance = tolerance }

    /// Records one check's outcome and returns the resulting state.
    func record(healthy: Bool, now: ContinuousClock.Instant = .now) -> State {
        failingSince.withLock { since in
            guard !healthy else {
                since = nil
                return .ready
            }
            let start = since ?? now
            since = start
            return now - start >= tolerance ? .unavailable : .degraded
        }
    }
}

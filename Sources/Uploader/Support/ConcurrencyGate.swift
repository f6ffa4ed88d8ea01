import Synchronization

/// Caps the uploads in progress: past `limit`, a new upload is refused at once (503 with
/// `Retry-After`) rather than queued, so the uploader's memory stays bounded
/// (each upload holds at most `blockSize × (maxConcurrency + 1)` bytes).
final class ConcurrencyGate: Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Takes a slot, or returns false when all are in use.
    func tryEnter() -> Bool {
        while true {
            let current = count.load(ordering: .relaxed)
            guard current < limit else { return false }
            if count.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing).exchanged { return true }
        }
    }

    func leave() { count.subtract(1, ordering: .acquiringAndReleasing) }

    var inUse: Int { count.load(ordering: .relaxed) }
}

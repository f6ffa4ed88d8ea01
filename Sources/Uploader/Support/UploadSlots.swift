import Synchronization

/// The uploads in progress, capped twice: `limit` for the whole uploader (its memory stays bounded:
/// each upload holds at most `blockSize × (maxConcurrency + 1)` bytes) and `perKeyLimit` for any one
/// API key, so one key that opens many slow uploads cannot take every slot from the others.
///
/// Past a cap a new upload is refused at once rather than queued: `keyAtLimit` (the key's own share
/// is used: 429) is decided before `full` (everyone's slots are in use: 503), so a key over its share
/// is told it is the one to slow down.
final class UploadSlots: Sendable {
    /// What `tryEnter` decided.
    enum Admission: Equatable, Sendable {
        case admitted
        case keyAtLimit
        case full
    }

    private struct State {
        var total = 0
        var byKey: [String: Int] = [:]
    }

    let limit: Int
    let perKeyLimit: Int
    private let state = Mutex(State())

    init(limit: Int, perKeyLimit: Int) {
        self.limit = limit
        self.perKeyLimit = perKeyLimit
    }

    /// Takes a slot for `key` unless the key or the uploader is at its cap. Every `.admitted` must
    /// be paired with one `leave(key:)`.
    func tryEnter(key: String) -> Admission {
        state.withLock { state in
            if state.byKey[key, default: 0] >= perKeyLimit { return .keyAtLimit }
            if state.total >= limit { return .full }
            state.total += 1
            state.byKey[key, default: 0] += 1
            return .admitted
        }
    }

    /// Gives back a slot taken by `tryEnter(key:)`.
    func leave(key: String) {
        state.withLock { state in
            guard let held = state.byKey[key], held > 0 else { return }
            state.total -= 1
            state.byKey[key] = held == 1 ? nil : held - 1  // idle keys take no memory
        }
    }

    /// Slots in use, all keys together.
    var inUse: Int { state.withLock { $0.total } }

    /// Slots in use by `key`.
    func inUse(key: String) -> Int { state.withLock { $0.byKey[key, default: 0] } }
}

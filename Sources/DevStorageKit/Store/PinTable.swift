import Synchronization

/// Files that readers still use: removing a pinned file waits until its last pin is released.
/// Synchronous (a `Mutex`), so a read lease can release its pins from `deinit`.
final class PinTable: Sendable {
    private struct State {
        var pins: [String: Int] = [:]
        var deferred: Set<String> = []
    }

    private let state = Mutex(State())

    /// Pins every path once.
    func pin(_ paths: some Sequence<String>) {
        state.withLock { state in
            for path in paths { state.pins[path, default: 0] += 1 }
        }
    }

    /// Releases one pin of every path; removes files whose removal was waiting for it.
    func release(_ paths: some Sequence<String>) {
        let removable = state.withLock { state -> [String] in
            var removable: [String] = []
            for path in paths {
                let count = (state.pins[path] ?? 1) - 1
                if count > 0 {
                    state.pins[path] = count
                } else {
                    state.pins[path] = nil
                    if state.deferred.remove(path) != nil { removable.append(path) }
                }
            }
            return removable
        }
        for path in removable { POSIXFile.remove(path) }
    }

    /// Removes a file now, or when its last pin is released.
    func remove(_ path: String) {
        let now = state.withLock { state -> Bool in
            guard state.pins[path] == nil else {
                state.deferred.insert(path)
                return false
            }
            return true
        }
        if now { POSIXFile.remove(path) }
    }
}

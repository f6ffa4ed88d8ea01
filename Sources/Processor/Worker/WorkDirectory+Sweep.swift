import Foundation

extension WorkDirectory {
    /// Removes what stopped workers left in `parent`; returns how many directories went.
    ///
    /// - A work directory of another owner (`mediapipeline-<owner>-<created>-<jobId>`) goes as soon
    ///   as no process holds its lock: its worker has ended, however it ended.
    /// - Anything else under our prefixes (a staging directory whose creator died before renaming
    ///   it, a `mediapipeline-<pid>-<jobId>` directory of a version that named them by PID) has no
    ///   lock to go by while it is being made: it goes when it is unlocked and older than `maxAge`.
    ///
    /// This process's own directories are never touched.
    @discardableResult
    static func sweep(parent: String, olderThan maxAge: Duration = .seconds(3600), now: Date = Date()) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        var removed = 0
        for entry in entries {
            let kind: Kind
            if entry.hasPrefix(prefix) {
                kind = Kind(name: entry.dropFirst(prefix.count))
            } else if entry.hasPrefix(stagingPrefix) {
                kind = .unnamed(owner: Kind(name: entry.dropFirst(stagingPrefix.count)).owner)
            } else {
                continue
            }
            if kind.owner == owner { continue }
            let path = (parent as NSString).appendingPathComponent(entry)
            if case .unnamed = kind {
                guard let modified = modificationDate(path), now.timeIntervalSince(modified) >= maxAge.totalSeconds else { continue }
            }
            if removeIfUnlocked(path) { removed += 1 }
        }
        return removed
    }

    /// What a directory name says about its owner.
    enum Kind: Equatable {
        /// `<owner>-<created>-<jobId>`, owner 16 hex digits: locked while its worker lives.
        case owned(owner: String)
        /// A name without the lock protocol (a staging or a PID-named directory).
        case unnamed(owner: String?)

        init(name: Substring) {
            let parts = name.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
            if parts.count == 3, parts[0].count == 16, parts[0].allSatisfy(\.isHexDigit), Int64(parts[1]) != nil {
                self = .owned(owner: String(parts[0]))
            } else {
                self = .unnamed(owner: parts.first.map(String.init))
            }
        }

        var owner: String? {
            switch self {
            case .owned(let owner): owner
            case .unnamed(let owner): owner
            }
        }
    }

    /// Takes the directory's lock without waiting; when no one holds it, removes the directory
    /// (holding the lock while it does). `false` when a live process holds it or removal failed.
    private static func removeIfUnlocked(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
        return (try? FileManager.default.removeItem(atPath: path)) != nil
    }

    private static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}

extension Duration {
    /// Whole and fractional seconds.
    fileprivate var totalSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

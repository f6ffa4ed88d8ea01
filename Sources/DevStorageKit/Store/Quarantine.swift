import Foundation
import Logging

/// Where the stores put state they cannot read at start-up, instead of deleting it:
/// `{data directory}/quarantine/{start-up time}/`, mirroring the path inside the data directory (an
/// unreadable `blob/{account}/{container}/blobs/{hash}.json` found at a start-up at 09:30:21 UTC
/// goes to `quarantine/20261126T093021Z/blob/{account}/{container}/blobs/{hash}.json`). Each
/// start-up gets its own folder, and a name already taken gets `.1`, `.2`, … appended, so nothing
/// quarantined earlier is ever overwritten or added to. Each move is one warning; the rest of the
/// store keeps loading. Nothing reads the folder back: an operator inspects it, repairs or restores
/// what is wanted, and removes it.
struct Quarantine: Sendable {
    /// The data directory whose paths are mirrored.
    let dataDirectory: String
    let logger: Logger
    /// This start-up's folder inside `{data directory}/quarantine`.
    let directory: String

    /// A quarantine for one start-up (`now` names its folder).
    init(dataDirectory: String, logger: Logger, now: Date = Date()) {
        self.dataDirectory = dataDirectory
        self.logger = logger
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        self.directory = dataDirectory + "/quarantine/" + formatter.string(from: now)
    }

    /// Moves `path` (a file or directory inside the data directory) into the quarantine folder and
    /// logs a warning with `reason`. Returns where it went, or nil when the move failed (logged as
    /// an error; the item then stays where it is, still never deleted).
    @discardableResult
    func move(_ path: String, reason: String) -> String? {
        let destination = freeName(for: directory + "/" + relativePath(path))
        do {
            try POSIXFile.makeDirectory(POSIXFile.parentDirectory(of: destination))
            try POSIXFile.rename(path, to: destination)
        } catch {
            logger.error(
                "cannot quarantine unreadable state; left in place",
                metadata: ["devstorage.path": "\(path)", "devstorage.reason": "\(reason)", "error": "\(error)"])
            return nil
        }
        logger.warning(
            "quarantined unreadable state",
            metadata: ["devstorage.path": "\(path)", "devstorage.quarantine.path": "\(destination)", "devstorage.reason": "\(reason)"])
        return destination
    }

    /// `path` relative to the data directory (its last component if it lies elsewhere).
    func relativePath(_ path: String) -> String {
        let prefix = dataDirectory.hasSuffix("/") ? dataDirectory : dataDirectory + "/"
        if path.hasPrefix(prefix) {
            return String(path.dropFirst(prefix.count).drop { $0 == "/" })
        }
        return String(path.split(separator: "/").last ?? "unnamed")
    }

    /// `candidate`, or the first of `candidate.1`, `candidate.2`, … that does not exist yet. The
    /// stores load on one thread, so nothing else creates names here between the check and the move.
    private func freeName(for candidate: String) -> String {
        var name = candidate
        var suffix = 0
        while POSIXFile.exists(name) {
            suffix += 1
            name = candidate + "." + String(suffix)
        }
        return name
    }
}

extension Quarantine {
    /// The record (`container.json`, `queue.json`) of a container or queue directory at start-up:
    /// nil when the directory is not one (moved here), is an empty leftover of a create that
    /// crashed before its record (removed: nothing in it was acknowledged), or its record does not
    /// decode (the whole directory moved here).
    func record<Record: Decodable>(_ type: Record.Type, _ recordName: String, in directory: String, kind: String) -> Record? {
        let recordPath = directory + "/" + recordName
        guard POSIXFile.isDirectory(directory) else {
            move(directory, reason: "not a \(kind) directory")
            return nil
        }
        if !POSIXFile.exists(recordPath), !POSIXFile.containsFiles(directory) {
            logger.warning("removing incomplete \(kind) directory", metadata: ["devstorage.path": "\(directory)"])
            POSIXFile.removeTree(directory)
            return nil
        }
        guard let record = StoreCoding.decode(Record.self, at: recordPath) else {
            move(directory, reason: "\(recordName) is missing, unreadable or does not decode")
            return nil
        }
        return record
    }
}

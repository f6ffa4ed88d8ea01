import Crypto
import Foundation

/// A job's scratch directory under the temp directory (`mediapipeline-<pid>-<jobId>`), for a video's
/// downloaded input and its outputs. Removed when the job ends; directories left by a worker that
/// was killed are swept at start (their pid is gone).
struct WorkDirectory: Sendable {
    static let prefix = "mediapipeline-"
    let root: String

    init(parent: String, jobId: String) {
        root = (parent as NSString).appendingPathComponent("\(Self.prefix)\(getpid())-\(jobId)")
    }

    func create() throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    func path(_ name: String) -> String { (root as NSString).appendingPathComponent(name) }

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Removes the directories of processes that no longer run; returns how many.
    @discardableResult
    static func sweep(parent: String) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        var removed = 0
        for entry in entries where entry.hasPrefix(prefix) {
            let pidText = entry.dropFirst(prefix.count).prefix { $0 != "-" }
            guard let pid = Int32(pidText), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            if (try? FileManager.default.removeItem(atPath: (parent as NSString).appendingPathComponent(entry))) != nil { removed += 1 }
        }
        return removed
    }

    /// The base64 MD5 of a file, read in 1 MiB pieces.
    static func md5(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoSuchFile) }
        defer { try? handle.close() }
        var hash = Insecure.MD5()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hash.update(data: chunk) }
        return Data(hash.finalize()).base64EncodedString()
    }
}

import Crypto
import Foundation
import Synchronization

/// A job's scratch directory under the temp directory, for a video's downloaded input and its
/// outputs: `mediapipeline-<owner>-<created ms>-<jobId>`, where `owner` is a random id drawn once
/// per process (a PID names nothing in a container, where every worker is PID 1) and `created` its
/// creation time.
///
/// While the directory exists its process holds an exclusive `flock` on it (an open descriptor,
/// released by the kernel however the process ends). It is made under a staging name, locked, and
/// only then renamed into place, so a sweeping process never sees an unlocked directory of a live
/// worker. Removed when the job ends; what a killed worker left is swept at start
/// (`WorkDirectory+Sweep.swift`).
struct WorkDirectory: Sendable {
    static let prefix = "mediapipeline-"
    /// Directories being created: locked, then renamed to their final name.
    static let stagingPrefix = ".mediapipeline-staging-"
    /// This process's owner id: 16 random hex digits.
    static let owner: String = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()

    let root: String

    init(parent: String, jobId: String, now: Date = Date()) {
        let created = Int64((now.timeIntervalSince1970 * 1000).rounded())
        root = (parent as NSString).appendingPathComponent("\(Self.prefix)\(Self.owner)-\(created)-\(jobId)")
    }

    /// Makes the directory (mode 0700), locked by this process until `remove()`.
    func create() throws {
        if Self.locks.withLock({ $0[root] != nil }) { return }
        let parent = (root as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let staging = (parent as NSString).appendingPathComponent(
            Self.stagingPrefix + ((root as NSString).lastPathComponent.dropFirst(Self.prefix.count)))
        guard mkdir(staging, 0o700) == 0 else { throw Self.posixError("mkdir \(staging)") }
        let fd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, flock(fd, LOCK_EX | LOCK_NB) == 0, rename(staging, root) == 0 else {
            let error = Self.posixError("locking \(staging)")
            if fd >= 0 { close(fd) }
            rmdir(staging)
            throw error
        }
        Self.locks.withLock { $0[root] = fd }
    }

    func path(_ name: String) -> String { (root as NSString).appendingPathComponent(name) }

    /// Removes the directory and releases its lock.
    func remove() {
        try? FileManager.default.removeItem(atPath: root)
        if let fd = Self.locks.withLock({ $0.removeValue(forKey: root) }) { close(fd) }
    }

    /// The lock descriptors of this process's directories, by path.
    private static let locks = Mutex<[String: Int32]>([:])

    static func posixError(_ what: String) -> any Error {
        let code = errno
        return NSError(domain: NSPOSIXErrorDomain, code: Int(code), userInfo: [NSLocalizedDescriptionKey: "\(what): \(String(cString: strerror(code)))"])
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

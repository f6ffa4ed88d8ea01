import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Directory entries made durable. A file's own fsync does not persist its name: after a power
/// loss a renamed, linked or newly created entry can be gone unless the directory holding it was
/// fsynced too. Every place that changes a name the store depends on goes through
/// `syncParentDirectories(of:)` (`rename`, `link`, `makeDirectory`), so an acknowledged write is
/// on disk under its final name before the answer is sent.
extension POSIXFile {
    /// fsyncs the directories that hold `paths` (each distinct directory once, in order).
    static func syncParentDirectories(of paths: String...) throws {
        try syncParentDirectories(of: paths)
    }

    /// fsyncs the directories that hold `paths` (each distinct directory once, in order).
    static func syncParentDirectories(of paths: [String]) throws {
        var done: Set<String> = []
        for directory in paths.map(parentDirectory(of:)) where done.insert(directory).inserted {
            try syncDirectory(directory)
        }
    }

    /// fsyncs a directory, persisting the entries created, renamed or linked in it.
    static func syncDirectory(_ path: String) throws {
        let descriptor = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw IOError(errnoCode: errno, reason: "fsync directory \(path)") }
    }

    /// Creates a directory and its missing parents, durably: each new directory's parent is
    /// fsynced after it is created.
    static func makeDirectory(_ path: String) throws {
        var missing: [String] = []
        var current = path
        while !isDirectory(current) {
            missing.append(current)
            let parent = parentDirectory(of: current)
            if parent == current { break }
            current = parent
        }
        for directory in missing.reversed() {
            if mkdir(directory, 0o755) != 0 {
                let code = errno
                guard code == EEXIST, isDirectory(directory) else {
                    throw IOError(errnoCode: code == EEXIST ? ENOTDIR : code, reason: "mkdir \(directory)")
                }
                continue  // created meanwhile by someone else, who syncs it
            }
            try syncParentDirectories(of: directory)
        }
    }

    /// The directory that holds `path` (`.` for a bare name, `/` for a top-level entry).
    static func parentDirectory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        var parent = trimmed[..<slash]
        while parent.hasSuffix("/") { parent = parent.dropLast() }
        return parent.isEmpty ? "/" : String(parent)
    }

    /// Whether `path` names a directory (following symbolic links).
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether anything (file, directory, broken link) exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Whether a directory tree holds anything but (empty) directories.
    static func containsFiles(_ path: String) -> Bool {
        guard let entries = FileManager.default.enumerator(atPath: path) else { return false }
        for case let entry as String in entries where !isDirectory(path + "/" + entry) { return true }
        return false
    }
}

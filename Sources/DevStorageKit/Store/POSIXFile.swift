import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin, synchronous POSIX file helpers for the store. Callers decide on which thread they run:
/// the stores call them on their own executor thread, streaming paths on `NIOThreadPool`.
enum POSIXFile {
    /// Opens a file, retrying on `EINTR`.
    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        while true {
            let descriptor = path.withCString { systemOpen($0, flags | O_CLOEXEC, mode) }
            if descriptor >= 0 { return descriptor }
            if errno == EINTR { continue }
            throw IOError(errnoCode: errno, reason: "open \(path)")
        }
    }

    /// Writes all of `bytes` at `offset`.
    static func write(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let result = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + Int64(done)))
            if result < 0 {
                if errno == EINTR { continue }
                throw IOError(errnoCode: errno, reason: "pwrite")
            }
            done += result
        }
    }

    /// Reads up to `count` bytes at `offset` into a new buffer (short only at end of file).
    static func read(_ descriptor: Int32, count: Int, at offset: Int64) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        var done = 0
        while done < count {
            var result = 0
            var failure: Int32 = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { pointer in
                result = pread(descriptor, pointer.baseAddress, count - done, off_t(offset + Int64(done)))
                if result < 0 { failure = errno }
                return Swift.max(result, 0)
            }
            if result < 0 {
                if failure == EINTR { continue }
                throw IOError(errnoCode: failure, reason: "pread")
            }
            if result == 0 { break }
            done += result
        }
        return buffer
    }

    /// Flushes a file's data to disk.
    static func sync(_ descriptor: Int32) throws {
        guard fsync(descriptor) == 0 else { throw IOError(errnoCode: errno, reason: "fsync") }
    }

    /// Closes a descriptor (errors on close are not actionable here).
    static func close(_ descriptor: Int32) {
        _ = systemClose(descriptor)
    }

    /// Atomically replaces `destination` with `source` (same file system), durably: both parent
    /// directories are fsynced before this returns (see `syncParentDirectories(of:)`).
    static func rename(_ source: String, to destination: String) throws {
        guard systemRename(source, destination) == 0 else {
            throw IOError(errnoCode: errno, reason: "rename \(source) → \(destination)")
        }
        try syncParentDirectories(of: destination, source)
    }

    /// Makes each `destination` a second name of its `source` (same file system; no bytes copied),
    /// durably: the directories of the new names are fsynced once, after all links, before this
    /// returns. On failure the links already made are removed.
    static func link(_ links: [(source: String, destination: String)]) throws {
        for (index, link) in links.enumerated() where systemLink(link.source, link.destination) != 0 {
            let error = IOError(errnoCode: errno, reason: "link \(link.source) → \(link.destination)")
            for made in links[..<index] { remove(made.destination) }
            throw error
        }
        do {
            try syncParentDirectories(of: links.map(\.destination))
        } catch {
            for made in links { remove(made.destination) }
            throw error
        }
    }

    /// Removes a file; a missing file is not an error.
    static func remove(_ path: String) {
        _ = unlink(path)
    }

    /// The size of a file, or nil when it does not exist.
    static func size(_ path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }


    /// Writes `data` to `path` crash-safely: a temporary file in `temporaryDirectory` is written,
    /// fsynced and renamed over `path`, so a kill -9 leaves the old or the new content, never a mix.
    static func writeAtomically(_ data: Data, to path: String, temporaryDirectory: String) throws {
        let temporary = temporaryDirectory + "/" + UUID().uuidString + ".json"
        let descriptor = try open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL)
        do {
            try data.withUnsafeBytes { try write(descriptor, $0, at: 0) }
            try sync(descriptor)
            close(descriptor)
            try rename(temporary, to: path)
        } catch {
            close(descriptor)
            remove(temporary)
            throw error
        }
    }

    /// Removes a directory if it is empty.
    static func removeEmptyDirectory(_ path: String) {
        _ = rmdir(path)
    }

    /// Lists a directory's entries (empty when it does not exist).
    static func list(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }

    /// Removes a directory tree; a missing one is not an error.
    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}

private func systemOpen(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 {
    #if canImport(Darwin)
    Darwin.open(path, flags, mode)
    #elseif canImport(Musl)
    Musl.open(path, flags, mode)
    #else
    Glibc.open(path, flags, mode)
    #endif
}

private func systemClose(_ descriptor: Int32) -> Int32 {
    #if canImport(Darwin)
    Darwin.close(descriptor)
    #elseif canImport(Musl)
    Musl.close(descriptor)
    #else
    Glibc.close(descriptor)
    #endif
}

private func systemRename(_ source: String, _ destination: String) -> Int32 {
    #if canImport(Darwin)
    Darwin.rename(source, destination)
    #elseif canImport(Musl)
    Musl.rename(source, destination)
    #else
    Glibc.rename(source, destination)
    #endif
}

private func systemLink(_ source: String, _ destination: String) -> Int32 {
    #if canImport(Darwin)
    Darwin.link(source, destination)
    #elseif canImport(Musl)
    Musl.link(source, destination)
    #else
    Glibc.link(source, destination)
    #endif
}

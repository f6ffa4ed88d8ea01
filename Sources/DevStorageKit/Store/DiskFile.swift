import Crypto
import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Crash-safe file writes: data goes to a temporary file that is fsynced and renamed into place,
/// so a kill -9 leaves either the old file or the new one, never half of one.
/// Blocking calls run on NIO's thread pool.
enum DiskFile {
    /// A file being written under a temporary name.
    final class Writer: @unchecked Sendable {
        // Safe: one task owns a writer at a time (created, written and committed in sequence).
        let finalPath: String
        let tempPath: String
        let descriptor: Int32
        var md5 = Insecure.MD5()
        var bytes = 0

        init(path: String) throws {
            self.finalPath = path
            self.tempPath = path + ".tmp-" + UUID().uuidString
            let descriptor = open(tempPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "open \(tempPath)") }
            self.descriptor = descriptor
        }

        func write(_ buffer: ByteBuffer) async throws {
            buffer.withUnsafeReadableBytes { md5.update(bufferPointer: $0) }
            bytes += buffer.readableBytes
            let descriptor = self.descriptor
            try await NIOThreadPool.singleton.runIfActive {
                try buffer.withUnsafeReadableBytes { pointer in
                    var offset = 0
                    while offset < pointer.count {
                        let written = Glibc.write(descriptor, pointer.baseAddress! + offset, pointer.count - offset)
                        if written < 0 {
                            if errno == EINTR { continue }
                            throw IOError(errnoCode: errno, reason: "write")
                        }
                        offset += written
                    }
                }
            }
        }

        /// fsync, close, rename into place. Returns the MD5 of what was written.
        func commit() async throws -> Data {
            let (descriptor, tempPath, finalPath) = (self.descriptor, self.tempPath, self.finalPath)
            try await NIOThreadPool.singleton.runIfActive {
                guard fsync(descriptor) == 0 else { throw IOError(errnoCode: errno, reason: "fsync") }
                close(descriptor)
                guard rename(tempPath, finalPath) == 0 else { throw IOError(errnoCode: errno, reason: "rename") }
            }
            return Data(md5.finalize())
        }

        /// Closes and removes the temporary file.
        func abandon() {
            close(descriptor)
            unlink(tempPath)
        }
    }

    /// Streams `body` into `path` atomically; returns (bytes, md5).
    static func write<Body: AsyncSequence>(_ body: Body, to path: String) async throws -> (bytes: Int, md5: Data) where Body.Element == ByteBuffer {
        let writer = try Writer(path: path)
        do {
            for try await chunk in body { try await writer.write(chunk) }
            let md5 = try await writer.commit()
            return (writer.bytes, md5)
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// Writes small data (JSON state) atomically.
    static func write(_ data: Data, to path: String) async throws {
        _ = try await write(AsyncOneShot(ByteBuffer(bytes: data)), to: path)
    }

    /// Reads `count` bytes at `offset` of a file.
    static func read(path: String, offset: Int, count: Int) async throws -> ByteBuffer {
        try await NIOThreadPool.singleton.runIfActive {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "open \(path)") }
            defer { close(descriptor) }
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            var done = 0
            while done < count {
                var result = 0
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { pointer in
                    result = pread(descriptor, pointer.baseAddress, count - done, off_t(offset + done))
                    return Swift.max(result, 0)
                }
                if result < 0, errno == EINTR { continue }
                if result < 0 { throw IOError(errnoCode: errno, reason: "pread") }
                if result == 0 { break }
                done += result
            }
            return buffer
        }
    }

    /// Concatenates files into `path` atomically; returns (bytes, md5).
    static func concatenate(_ parts: [String], to path: String) async throws -> (bytes: Int, md5: Data) {
        let writer = try Writer(path: path)
        do {
            for part in parts {
                let size = try FileManager.default.attributesOfItem(atPath: part)[.size] as? Int ?? 0
                var offset = 0
                while offset < size {
                    let chunk = try await read(path: part, offset: offset, count: min(4 << 20, size - offset))
                    if chunk.readableBytes == 0 { break }
                    try await writer.write(chunk)
                    offset += chunk.readableBytes
                }
            }
            let md5 = try await writer.commit()
            return (writer.bytes, md5)
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// A stable file name for an arbitrary key (blob names contain `/` and any UTF-8).
    static func name(for key: String) -> String {
        SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// An async sequence of one buffer.
struct AsyncOneShot: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffer: ByteBuffer
    init(_ buffer: ByteBuffer) { self.buffer = buffer }
    struct AsyncIterator: AsyncIteratorProtocol {
        var buffer: ByteBuffer?
        mutating func next() async throws -> ByteBuffer? {
            defer { buffer = nil }
            return buffer
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}

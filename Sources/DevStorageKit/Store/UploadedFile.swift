import Crypto
import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A request body written to a temporary file: durable (fsynced) but not yet
/// visible; the store renames it into place when it commits.
struct UploadedFile: Sendable {
    /// Path of the temporary file.
    var path: String
    /// Bytes written.
    var size: Int64
    /// MD5 of the bytes, when computed.
    var md5: Data?

    /// Removes the temporary file (after a failure or a rejected commit).
    func discard() {
        POSIXFile.remove(path)
    }

    /// Streams `body` into a new file at `path` without holding more than `bufferSize` bytes:
    /// chunks are gathered and written on NIO's thread pool, then the file is fsynced.
    /// The file is removed if anything fails.
    static func write<Body: AsyncSequence>(
        _ body: Body, to path: String, bufferSize: Int = 1 << 20
    ) async throws -> UploadedFile where Body.Element == ByteBuffer {
        let pool = NIOThreadPool.singleton
        let descriptor = try await pool.runIfActive {
            try POSIXFile.open(path, flags: O_WRONLY | O_CREAT | O_EXCL)
        }
        var md5 = Insecure.MD5()
        var offset: Int64 = 0
        var pending = ByteBufferAllocator().buffer(capacity: 0)
        func flush() async throws {
            guard pending.readableBytes > 0 else { return }
            let chunk = pending
            let at = offset
            try await pool.runIfActive {
                try chunk.withUnsafeReadableBytes { try POSIXFile.write(descriptor, $0, at: at) }
            }
            offset += Int64(chunk.readableBytes)
            pending.clear()
        }
        do {
            for try await chunk in body {
                chunk.withUnsafeReadableBytes { md5.update(bufferPointer: $0) }
                if pending.readableBytes == 0, chunk.readableBytes >= bufferSize {
                    pending = chunk
                    try await flush()
                    pending = ByteBufferAllocator().buffer(capacity: 0)
                    continue
                }
                var chunk = chunk
                pending.writeBuffer(&chunk)
                if pending.readableBytes >= bufferSize { try await flush() }
            }
            try await flush()
            try await pool.runIfActive {
                try POSIXFile.sync(descriptor)
                POSIXFile.close(descriptor)
            }
        } catch {
            POSIXFile.close(descriptor)
            POSIXFile.remove(path)
            throw error
        }
        return UploadedFile(path: path, size: offset, md5: Data(md5.finalize()))
    }
}

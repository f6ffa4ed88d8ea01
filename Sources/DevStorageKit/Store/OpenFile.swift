import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A data file opened for reading. The descriptor stays valid (and the bytes readable) even if the
/// store replaces or deletes the file meanwhile: it is closed when the last reference goes away.
final class OpenFile: Sendable {
    /// The descriptor; immutable, and `pread` does not share a file position, so concurrent reads are safe.
    let descriptor: Int32

    /// Opens `path` read-only. Call on a thread that may block (the store's executor).
    init(path: String) throws {
        self.descriptor = try POSIXFile.open(path, flags: O_RDONLY)
    }

    deinit {
        POSIXFile.close(descriptor)
    }

    /// Reads `count` bytes at `offset` on NIO's blocking-I/O thread pool.
    func read(offset: Int64, count: Int) async throws -> ByteBuffer {
        try await NIOThreadPool.singleton.runIfActive { [descriptor] in
            try POSIXFile.read(descriptor, count: count, at: offset)
        }
    }
}

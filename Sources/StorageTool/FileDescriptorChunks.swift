import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file descriptor (a pipe, standard input) as an async sequence of buffers, each blocking
/// `read` on NIO's thread pool so the cooperative pool never blocks. Pull-driven: nothing is read
/// ahead of the consumer, so memory stays at one chunk.
struct FileDescriptorChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let descriptor: Int32
    let chunkSize: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let descriptor: Int32
        let chunkSize: Int
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            guard !finished else { return nil }
            let (descriptor, chunkSize) = (self.descriptor, self.chunkSize)
            let buffer = try await NIOThreadPool.singleton.runIfActive { () throws -> ByteBuffer in
                var buffer = ByteBufferAllocator().buffer(capacity: chunkSize)
                while buffer.readableBytes < chunkSize {
                    let wanted = chunkSize - buffer.readableBytes
                    var result = 0
                    buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { pointer in
                        result = read(descriptor, pointer.baseAddress, wanted)
                        return Swift.max(result, 0)
                    }
                    if result < 0, errno == EINTR { continue }
                    if result < 0 { throw IOError(errnoCode: errno, reason: "read") }
                    if result == 0 { break }
                }
                return buffer
            }
            if buffer.readableBytes == 0 {
                finished = true
                return nil
            }
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(descriptor: descriptor, chunkSize: chunkSize) }
}

import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension BlobReadLease {
    /// The bytes `offset..<offset+count` as an async sequence of chunks, each read when it is asked
    /// for (so a consumer that writes them elsewhere sets the pace): Put Block From URL streams a
    /// source range into a new block file with `UploadedFile.write`.
    func chunks(offset: Int64, count: Int64, chunkSize: Int = 1 << 20) -> Chunks {
        Chunks(lease: self, start: offset, end: offset + count, chunkSize: chunkSize)
    }

    /// See `chunks(offset:count:chunkSize:)`.
    struct Chunks: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let lease: BlobReadLease
        let start: Int64
        let end: Int64
        let chunkSize: Int

        func makeAsyncIterator() -> Iterator { Iterator(lease: lease, position: start, end: end, chunkSize: chunkSize) }

        struct Iterator: AsyncIteratorProtocol {
            let lease: BlobReadLease
            var position: Int64
            let end: Int64
            let chunkSize: Int

            mutating func next() async throws -> ByteBuffer? {
                guard position < end else { return nil }
                let chunk = try await lease.readChunk(at: position, maximum: Int(Swift.min(Int64(chunkSize), end - position)))
                position += Int64(chunk.readableBytes)
                return chunk
            }
        }
    }

    /// Up to `maximum` bytes from `position`, within the one segment that holds `position`.
    func readChunk(at position: Int64, maximum: Int) async throws -> ByteBuffer {
        var segmentStart: Int64 = 0
        for segment in segments {
            let segmentEnd = segmentStart + segment.length
            if position < segmentEnd {
                let length = Int(min(Int64(maximum), segmentEnd - position))
                let path = segment.path
                let at = segment.offset + (position - segmentStart)
                return try await NIOThreadPool.singleton.runIfActive {
                    let descriptor = try POSIXFile.open(path, flags: O_RDONLY)
                    defer { POSIXFile.close(descriptor) }
                    let chunk = try POSIXFile.read(descriptor, count: length, at: at)
                    guard chunk.readableBytes == length else {
                        throw IOError(errnoCode: EIO, reason: "data file \(path) is shorter than recorded")
                    }
                    return chunk
                }
            }
            segmentStart = segmentEnd
        }
        throw IOError(errnoCode: EIO, reason: "read past the end of the blob")
    }
}

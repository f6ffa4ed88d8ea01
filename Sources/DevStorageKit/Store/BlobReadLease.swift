import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A consistent view of one blob version for reading: its segments' files stay on disk (pinned)
/// until the lease goes away, even if the blob is overwritten or deleted meanwhile.
final class BlobReadLease: Sendable {
    /// A segment with the full path of its file.
    struct Segment: Sendable {
        var path: String
        var offset: Int64
        var length: Int64
    }

    let segments: [Segment]
    let size: Int64
    private let pins: PinTable

    init(segments: [Segment], pins: PinTable) {
        self.segments = segments
        self.size = segments.reduce(0) { $0 + $1.length }
        self.pins = pins
        pins.pin(Set(segments.map(\.path)))
    }

    deinit {
        pins.release(Set(segments.map(\.path)))
    }

    /// Calls `body` with consecutive chunks (at most `chunkSize` bytes) of the blob's bytes
    /// `offset..<offset+count`, read on NIO's thread pool; one file is open at a time.
    func read(offset: Int64, count: Int64, chunkSize: Int = 256 * 1024, _ body: (ByteBuffer) async throws -> Void) async throws {
        var position = offset
        let end = offset + count
        var segmentStart: Int64 = 0
        for segment in segments {
            let segmentEnd = segmentStart + segment.length
            defer { segmentStart = segmentEnd }
            guard position < end, position < segmentEnd else { continue }
            let path = segment.path
            let descriptor = try await NIOThreadPool.singleton.runIfActive { try POSIXFile.open(path, flags: O_RDONLY) }
            do {
                while position < min(end, segmentEnd) {
                    let length = Int(min(Int64(chunkSize), min(end, segmentEnd) - position))
                    let at = segment.offset + (position - segmentStart)
                    let chunk = try await NIOThreadPool.singleton.runIfActive { try POSIXFile.read(descriptor, count: length, at: at) }
                    guard chunk.readableBytes == length else {
                        throw IOError(errnoCode: EIO, reason: "data file \(path) is shorter than recorded")
                    }
                    try await body(chunk)
                    position += Int64(length)
                }
            } catch {
                POSIXFile.close(descriptor)
                throw error
            }
            POSIXFile.close(descriptor)
        }
    }
}

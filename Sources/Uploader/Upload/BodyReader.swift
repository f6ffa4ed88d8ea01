import Hummingbird
import NIOCore

/// Reads a request body chunk by chunk, enforcing the upload limit as bytes arrive (a chunked body
/// has no `Content-Length` to check up front), the minimum body rate (a client that trickles bytes
/// to hold an upload slot gets 408), and noticing a body that ends before its declared length (a
/// client that went away).
///
/// Used by one task only: the handler that owns the request.
final class BodyReader {
    private var iterator: RequestBody.AsyncIterator
    private let maxBytes: Int
    private let declaredLength: Int?
    private var rate: BodyRateMeter
    private(set) var bytesRead = 0

    init(body: RequestBody, maxBytes: Int, declaredLength: Int?, minimumRate: MinimumBodyRate = .disabled) {
        self.iterator = body.makeAsyncIterator()
        self.maxBytes = maxBytes
        self.declaredLength = declaredLength
        self.rate = BodyRateMeter(policy: minimumRate)
    }

    /// The next chunk, or nil at the end of the body.
    func next() async throws -> ByteBuffer? {
        let chunk: ByteBuffer?
        let waitStarted = ContinuousClock.now
        do {
            chunk = try await iterator.next()
        } catch {
            throw UploaderError(.incompleteBody, "the connection ended before the whole body arrived")
        }
        guard let chunk else {
            if let declaredLength, bytesRead < declaredLength {
                throw UploaderError(.incompleteBody, "the body ended after \(bytesRead) of \(declaredLength) declared bytes")
            }
            return nil
        }
        bytesRead += chunk.readableBytes
        if bytesRead > maxBytes {
            throw UploaderError(.payloadTooLarge, "the upload is larger than the limit of \(maxBytes) bytes")
        }
        // A client that stops sending altogether is closed by the idle timeout; one that sends a
        // little now and then is caught here, when its bytes arrive.
        guard rate.record(bytes: chunk.readableBytes, after: ContinuousClock.now - waitStarted) else {
            let policy = rate.policy
            throw UploaderError(
                .bodyTooSlow,
                "the body arrived slower than \(policy.bytesPerSecond) bytes/s over \(policy.window.components.seconds) s; nothing was kept")
        }
        return chunk
    }
}

/// An async sequence over a pull function: the bytes of one file, read from the request as the
/// blob upload asks for them (so the request is read no faster than storage accepts it).
struct PulledBytes: AsyncSequence {
    typealias Element = ByteBuffer
    /// Bytes already read (the sniffed prefix), yielded first.
    let prefix: ByteBuffer
    let pull: () async throws -> ByteBuffer?

    struct AsyncIterator: AsyncIteratorProtocol {
        var prefix: ByteBuffer?
        let pull: () async throws -> ByteBuffer?

        mutating func next() async throws -> ByteBuffer? {
            if let first = prefix {
                prefix = nil
                if first.readableBytes > 0 { return first }
            }
            return try await pull()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(prefix: prefix, pull: pull) }
}

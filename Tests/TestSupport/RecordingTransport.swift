import AsyncHTTPClient
import Logging
import NIOConcurrencyHelpers
import NIOCore
import StorageKit

/// A real transport (StorageKit's own HTTP client by default) that records every attempt (its
/// operation's URL and the per-attempt timeout the execute core gave it) and reports each attempt on
/// a stream as it starts, so a test can act while a request is in flight without sleeping.
public final class RecordingTransport: StorageTransport {
    /// One attempt as it was handed to the transport.
    public struct Attempt: Sendable {
        /// The request URL.
        public var url: String
        /// The per-attempt timeout.
        public var timeout: TimeAmount
    }

    let inner: any StorageTransport
    /// Yields the attempt number (1, 2, …) as each attempt starts.
    public let started: AsyncStream<Int>
    private let continuation: AsyncStream<Int>.Continuation
    private let recorded = NIOLockedValueBox<[Attempt]>([])

    /// Wraps `inner`.
    public init(_ inner: any StorageTransport = StorageHTTPClient.shared) {
        self.inner = inner
        (started, continuation) = AsyncStream.makeStream(of: Int.self)
    }

    /// Every attempt so far.
    public var attempts: [Attempt] { recorded.withLockedValue { $0 } }

    public func execute(_ request: HTTPClientRequest, timeout: TimeAmount, logger: Logger) async throws -> HTTPClientResponse {
        let number = recorded.withLockedValue { attempts in
            attempts.append(Attempt(url: request.url, timeout: timeout))
            return attempts.count
        }
        continuation.yield(number)
        return try await inner.execute(request, timeout: timeout, logger: logger)
    }
}

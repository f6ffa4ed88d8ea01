import AsyncHTTPClient
import Logging
import NIOCore

/// The one seam between StorageKit and the network: send a request, get the response head and a
/// streamed body. `StorageHTTPClient` (AsyncHTTPClient configured for storage: no decompression, no
/// redirects) is the default; a plain `HTTPClient` also conforms, for callers that share one (they
/// must configure it the same way).
public protocol StorageTransport: Sendable {
    /// Sends `request`; the response must start within `timeout`.
    func execute(_ request: HTTPClientRequest, timeout: TimeAmount, logger: Logger) async throws -> HTTPClientResponse
}

extension HTTPClient: StorageTransport {
    public func execute(_ request: HTTPClientRequest, timeout: TimeAmount, logger: Logger) async throws
        -> HTTPClientResponse
    {
        // The deadline form: calling `execute(_:timeout:logger:)` here would recurse into this method.
        try await self.execute(request, deadline: .now() + timeout, logger: Optional(logger))
    }
}

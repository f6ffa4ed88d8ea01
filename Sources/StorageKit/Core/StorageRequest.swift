import NIOCore
import NIOHTTP1

/// One Azure Storage REST call, before signing: the operation name (for logs and metrics), the
/// path below the service endpoint, decoded query values, headers and an optional body.
///
/// Bodies are in-memory buffers so every retry can resend them; large uploads are split into
/// blocks by `BlobClient.upload(…)` and each block is one request.
public struct StorageRequest: Sendable {
    /// The operation, e.g. `PutBlob` (a label, not sent).
    public var operation: String
    /// The HTTP method.
    public var method: HTTPMethod
    /// The path below the endpoint, already percent-encoded, starting with `/` (or empty).
    public var encodedPath: String
    /// Query parameters with decoded values.
    public var query: [(name: String, value: String)]
    /// Headers to send (StorageKit adds `x-ms-version`, `x-ms-date`, `Authorization`, `Content-Length`).
    public var headers: HTTPHeaders
    /// The body, if any.
    public var body: ByteBuffer?
    /// Statuses that count as success; anything else is an error.
    public var expectedStatus: Set<Int>
    /// Which deadlines apply: a small operation's short ones or a data transfer's per-block ones
    /// (`RetryPolicy.deadlines(for:)`).
    public var deadlineClass: DeadlineClass
    /// A shorter overall deadline than the class's, when the caller has one (a lease renewal must
    /// end well inside the visibility it still holds).
    public var timeLimit: Duration?

    /// Creates a request.
    /// - Parameters:
    ///   - responseLimit: the most response-body bytes the caller will read, when it caps them
    ///     (a capped small read, like a status document, is a small operation).
    ///   - deadlineClass: overrides `DeadlineClass.classify(operation:bodyBytes:responseLimit:)`.
    ///   - timeLimit: caps the overall deadline (every attempt and wait included).
    public init(
        operation: String, method: HTTPMethod, encodedPath: String, query: [(name: String, value: String)] = [],
        headers: HTTPHeaders = [:], body: ByteBuffer? = nil, expectedStatus: Set<Int> = [200, 201, 202, 204, 206],
        responseLimit: Int? = nil, deadlineClass: DeadlineClass? = nil, timeLimit: Duration? = nil
    ) {
        self.timeLimit = timeLimit
        self.operation = operation
        self.method = method
        self.encodedPath = encodedPath
        self.query = query
        self.headers = headers
        self.body = body
        self.expectedStatus = expectedStatus
        self.deadlineClass =
            deadlineClass ?? .classify(operation: operation, bodyBytes: body?.readableBytes ?? 0, responseLimit: responseLimit)
    }
}

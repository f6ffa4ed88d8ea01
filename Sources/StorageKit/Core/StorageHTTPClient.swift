import AsyncHTTPClient
import Logging
import NIOCore

/// StorageKit's own HTTP client: AsyncHTTPClient configured for Azure Storage, not borrowed browser
/// defaults (`HTTPClient.shared` decompresses `Content-Encoding: gzip` bodies, so a download no longer
/// matches its `Content-MD5`, and follows redirects).
///
/// - No decompression: a blob downloads exactly as stored.
/// - No redirects: storage never redirects; a 3xx is an error, not a request to somewhere else.
/// - Its own connect and read timeouts and a connection pool sized for staged uploads.
///
/// Create one per process with `init(configuration:)` and shut it down after the services that use
/// it have stopped; `shared` serves callers that pass no transport and lives as long as the process.
public final class StorageHTTPClient: StorageTransport {
    /// How the client connects.
    public struct Configuration: Sendable {
        /// How long establishing a connection may take (default 5 s, so "storage down" shows quickly).
        public var connectTimeout: Duration
        /// How long the connection may stay silent while a response is read (default 60 s). Per-request
        /// deadlines (`RetryPolicy.deadlines(for:)`) bound the wait for a response head.
        public var readTimeout: Duration
        /// Connections kept per host (default 16). Staged uploads need one per block in flight.
        public var maxConnectionsPerHost: Int
        /// How long an idle pooled connection is kept (default 60 s).
        public var idleTimeout: Duration

        /// Creates a configuration.
        public init(
            connectTimeout: Duration = .seconds(5), readTimeout: Duration = .seconds(60), maxConnectionsPerHost: Int = 16,
            idleTimeout: Duration = .seconds(60)
        ) {
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.idleTimeout = idleTimeout
        }

        /// A configuration whose pool fits `concurrentUploads` staged uploads of `blocksPerUpload`
        /// blocks in flight each, plus room for small operations (never fewer than 16 connections).
        public static func stagedUploads(concurrentUploads: Int, blocksPerUpload: Int) -> Configuration {
            Configuration(maxConnectionsPerHost: max(16, concurrentUploads * blocksPerUpload + 8))
        }

        /// The AsyncHTTPClient configuration these settings make.
        public var httpClientConfiguration: HTTPClient.Configuration {
            HTTPClient.Configuration(
                redirectConfiguration: .disallow,
                timeout: .init(connect: connectTimeout.timeAmount, read: readTimeout.timeAmount),
                connectionPool: .init(
                    idleTimeout: idleTimeout.timeAmount, concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, maxConnectionsPerHost)),
                decompression: .disabled)
        }
    }

    /// The settings in use.
    public let configuration: Configuration
    let client: HTTPClient
    let canBeShutDown: Bool

    /// Creates a client; call `shutdown()` when done with it.
    public convenience init(
        configuration: Configuration = .init(), eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup,
        backgroundActivityLogger: Logger = Logger(label: "StorageKit.HTTP")
    ) {
        self.init(configuration: configuration, eventLoopGroup: eventLoopGroup, backgroundActivityLogger: backgroundActivityLogger, canBeShutDown: true)
    }

    init(configuration: Configuration, eventLoopGroup: any EventLoopGroup, backgroundActivityLogger: Logger, canBeShutDown: Bool) {
        self.configuration = configuration
        self.canBeShutDown = canBeShutDown
        self.client = HTTPClient(
            eventLoopGroup: eventLoopGroup, configuration: configuration.httpClientConfiguration,
            backgroundActivityLogger: backgroundActivityLogger)
    }

    /// The process-wide client behind StorageKit's default transport (default configuration).
    /// `shutdown()` does nothing on it: it lives as long as the process, like `HTTPClient.shared`.
    public static let shared = StorageHTTPClient(
        configuration: .init(), eventLoopGroup: HTTPClient.defaultEventLoopGroup, backgroundActivityLogger: Logger(label: "StorageKit.HTTP"),
        canBeShutDown: false)

    /// Closes every connection; in-flight requests fail. Call it once, after the last request.
    public func shutdown() async throws {
        guard canBeShutDown else { return }
        try await client.shutdown()
    }

    public func execute(_ request: HTTPClientRequest, timeout: TimeAmount, logger: Logger) async throws -> HTTPClientResponse {
        try await client.execute(request, deadline: .now() + timeout, logger: Optional(logger))
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import StorageKit
import Synchronization

/// The local Azure-compatible Blob + Queue server: two Hummingbird applications (blob and queue
/// ports) over one data directory, verifying Shared Key and SAS with StorageKit's canonicalisation.
///
/// Run it as a `Service` (it owns both listeners); `blobPort`/`queuePort` report the bound ports
/// once `waitUntilListening()` returns (useful with port 0).
public final class DevStorage: Service, Sendable {
    /// The configuration it was built with.
    public let configuration: DevStorageConfiguration
    /// Fault injection and clock, changeable while running.
    public let faults: FaultInjector
    let blobs: BlobService
    let queues: QueueService
    let logger: Logger
    let ports = Mutex<(blob: Int?, queue: Int?)>((nil, nil))
    let listening: AsyncStream<Void>
    let listeningContinuation: AsyncStream<Void>.Continuation

    /// Opens (or creates) the data directory and builds both services.
    public init(configuration: DevStorageConfiguration, logger: Logger = Logger(label: "devstorage")) throws {
        self.configuration = configuration
        self.faults = FaultInjector(settings: configuration.faults)
        self.blobs = BlobService(store: try BlobStore(root: configuration.dataDirectory), faults: faults)
        self.queues = QueueService(store: try QueueStore(root: configuration.dataDirectory))
        self.logger = logger
        (self.listening, self.listeningContinuation) = AsyncStream.makeStream()
    }

    /// The bound blob port, once listening.
    public var blobPort: Int? { ports.withLock { $0.blob } }
    /// The bound queue port, once listening.
    public var queuePort: Int? { ports.withLock { $0.queue } }

    /// The development connection string for the bound ports.
    public var connectionString: String {
        let host = configuration.host
        return "DefaultEndpointsProtocol=http;AccountName=\(StorageDefaults.developmentAccountName);AccountKey=\(StorageDefaults.developmentAccountKey);"
            + "BlobEndpoint=http://\(host):\(blobPort ?? 0)/\(StorageDefaults.developmentAccountName);"
            + "QueueEndpoint=http://\(host):\(queuePort ?? 0)/\(StorageDefaults.developmentAccountName);"
    }

    /// Returns once both ports are bound.
    public func waitUntilListening() async {
        var iterator = listening.makeAsyncIterator()
        while blobPort == nil || queuePort == nil {
            guard await iterator.next() != nil else { return }
        }
    }

    public func run() async throws {
        let blobApp = application(isQueue: false, port: configuration.blobPort)
        let queueApp = application(isQueue: true, port: configuration.queuePort)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await blobApp.runService(gracefulShutdownSignals: []) }
            group.addTask { try await queueApp.runService(gracefulShutdownSignals: []) }
        }
    }

    func application(isQueue: Bool, port: Int) -> some ApplicationProtocol {
        let authenticator = RequestAuthenticator(accounts: configuration.accounts, loose: configuration.loose, isQueueService: isQueue)
        let responder = CallbackResponder<BasicRequestContext> { [self] request, context in
            await self.respond(request, isQueue: isQueue, authenticator: authenticator)
        }
        var logger = self.logger
        logger[metadataKey: "devstorage.service"] = isQueue ? "queue" : "blob"
        return Application(
            responder: responder,
            configuration: .init(address: .hostname(configuration.host, port: port), serverName: "devstorage"),
            onServerRunning: { [self] channel in
                let bound = channel.localAddress?.port
                self.ports.withLock { if isQueue { $0.queue = bound } else { $0.blob = bound } }
                self.logger.info("devstorage \(isQueue ? "queue" : "blob") service listening", metadata: ["url": "http://\(self.configuration.host):\(bound ?? 0)/\(StorageDefaults.developmentAccountName)"])
                self.listeningContinuation.yield()
            },
            logger: logger)
    }

    /// Common headers, faults, authentication, dispatch and error mapping for one request.
    func respond(_ request: Request, isQueue: Bool, authenticator: RequestAuthenticator) async -> Response {
        let requestID = UUID().uuidString.lowercased()
        var response: Response
        let operation: String
        do {
            // Signatures are checked against real time; the (test-adjustable) emulator clock drives TTL and visibility.
            let now = faults.now
            if isQueue {
                let target = QueueService.target(request)
                operation = QueueService.operation(request, target)
                try await injectFaults(operation)
                let grant = try authenticator.authenticate(request, resource: .init(account: target.account, container: target.queue), now: Date())
                response = try await queues.handle(request, operation: operation, target: target, grant: grant, now: now)
            } else {
                let target = BlobService.target(request)
                operation = BlobService.operation(request, target)
                try await injectFaults(operation)
                let grant = try authenticator.authenticate(request, resource: .init(account: target.account, container: target.container, blob: target.blob), now: Date())
                response = try await blobs.handle(request, operation: operation, target: target, grant: grant, now: now)
            }
        } catch {
            let serviceError = (error as? StorageServiceError)
                ?? StorageServiceError(.internalServerError, "InternalError", "The server encountered an internal error: \(error)")
            if serviceError.status == .internalServerError, !(error is StorageServiceError) {
                logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            }
            response = serviceError.response(isHead: request.method == .head)
        }
        response.headers[.init("x-ms-request-id")!] = requestID
        response.headers[.init("x-ms-version")!] = request.headers[.init("x-ms-version")!] ?? StorageDefaults.serviceVersion
        response.headers[.date] = HTTPDate.format(Date())
        if let clientID = request.headers[.init("x-ms-client-request-id")!] {
            response.headers[.init("x-ms-client-request-id")!] = clientID
        }
        if response.headers[.contentLength] == nil, response.status == .created || response.status == .noContent || response.status == .accepted || request.method == .head {
            if request.method != .head { response.headers[.contentLength] = "0" }
        }
        return response
    }

    func injectFaults(_ operation: String) async throws {
        let latency = faults.settings.latencyMilliseconds
        if latency > 0 { try await Task.sleep(for: .milliseconds(latency)) }
        if let status = faults.failure(for: operation) {
            if status == 500 {
                throw StorageServiceError(.internalServerError, "InternalError", "Injected fault: the server encountered an internal error.")
            }
            throw StorageServiceError(.serviceUnavailable, "ServerBusy", "Injected fault: the server is busy.")
        }
    }
}

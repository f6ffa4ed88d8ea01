import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import StorageKit
import Synchronization

/// The local Azure-compatible Blob + Queue server: two Hummingbird listeners (blob and queue
/// ports) over one data directory, verifying Shared Key and SAS with StorageKit's canonicalisation,
/// and a third for `GET /metrics` when `metricsPort` is set.
///
/// Run it as a `Service` (in a `ServiceGroup`); `waitUntilListening()` returns the bound ports, which
/// matters with port 0. `faults` and `clock` can be changed while it runs.
public final class DevStorage: Service, Sendable {
    /// The configuration it was built with.
    public let configuration: DevStorageConfiguration
    /// Fault injection, changeable at runtime.
    public let faults: FaultInjector
    /// The emulator's clock (offset changeable at runtime).
    public let clock: DevStorageClock
    /// Its Prometheus metrics (served on the metrics listener when `metricsPort` is set).
    public let metrics: DevStorageMetrics
    let logger: Logger
    let thread: StoreThread
    let blobStore: BlobStore
    let queueStore: QueueStore
    private let state = Mutex<ListenState>(ListenState())

    /// The bound ports, and tasks waiting for them.
    private struct ListenState {
        var blobPort: Int?
        var queuePort: Int?
        var metricsPort: Int?
        var failure: (any Error)?
        var waiters: [CheckedContinuation<DevStorageEndpoints, any Error>] = []
    }

    /// Creates the server; nothing is read or bound until `run()`.
    public init(configuration: DevStorageConfiguration, logger: Logger) {
        self.configuration = configuration
        self.clock = DevStorageClock(offsetSeconds: configuration.clockOffsetSeconds)
        self.faults = FaultInjector(settings: configuration.faults, clock: clock)
        self.metrics = DevStorageMetrics()
        self.logger = logger
        self.thread = StoreThread()
        self.blobStore = BlobStore(dataDirectory: configuration.dataDirectory, thread: thread, logger: logger)
        self.queueStore = QueueStore(dataDirectory: configuration.dataDirectory, thread: thread, logger: logger)
    }

    /// Loads the data directory, then serves both listeners until cancelled or gracefully shut down.
    public func run() async throws {
        defer { fail(CancellationError()) }
        do {
            try await blobStore.load()
            try await queueStore.load()
        } catch {
            fail(error)
            await thread.shutdown()
            throw error
        }
        var services: [any Service] = [application(.blob), application(.queue)]
        if let port = configuration.metricsPort { services.append(metricsApplication(port: port)) }
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        do {
            try await group.run()
        } catch {
            fail(error)
            await thread.shutdown()
            throw error
        }
        await thread.shutdown()
    }

    /// Waits until every listener is bound and returns their endpoints (throws if `run()` failed
    /// or ended first).
    public func waitUntilListening() async throws -> DevStorageEndpoints {
        try await withCheckedThrowingContinuation { continuation in
            state.withLock { state in
                if let endpoints = endpoints(state) {
                    continuation.resume(returning: endpoints)
                } else if let failure = state.failure {
                    continuation.resume(throwing: failure)
                } else {
                    state.waiters.append(continuation)
                }
            }
        }
    }

    /// The endpoints once every listener is bound.
    public var endpoints: DevStorageEndpoints? { state.withLock { endpoints($0) } }

    private func endpoints(_ state: ListenState) -> DevStorageEndpoints? {
        guard let blobPort = state.blobPort, let queuePort = state.queuePort,
            configuration.metricsPort == nil || state.metricsPort != nil
        else { return nil }
        return DevStorageEndpoints(host: configuration.host, blobPort: blobPort, queuePort: queuePort, metricsPort: state.metricsPort)
    }

    /// Which listener a bound port belongs to.
    private enum Listener { case blob, queue, metrics }

    private func bound(_ listener: Listener, port: Int) {
        let (ready, waiters) = state.withLock { state -> (DevStorageEndpoints?, [CheckedContinuation<DevStorageEndpoints, any Error>]) in
            switch listener {
            case .blob: state.blobPort = port
            case .queue: state.queuePort = port
            case .metrics: state.metricsPort = port
            }
            guard let endpoints = endpoints(state) else { return (nil, []) }
            defer { state.waiters = [] }
            return (endpoints, state.waiters)
        }
        guard let ready else { return }
        logger.info(
            "devstorage listening",
            metadata: [
                "devstorage.blob.url": "\(ready.blobEndpoint)", "devstorage.queue.url": "\(ready.queueEndpoint)",
                "devstorage.data.dir": "\(configuration.dataDirectory)",
                "devstorage.metrics.url": "\(ready.metricsURL ?? "off")",
            ])
        logger.info("connection string: \(ready.connectionString)")
        for waiter in waiters { waiter.resume(returning: ready) }
    }

    private func fail(_ error: any Error) {
        let waiters = state.withLock { state in
            if state.failure == nil { state.failure = error }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    func application(_ service: StorageService) -> some Service {
        let authenticator = RequestAuthenticator(
            accounts: AccountRegistry(configuration.accounts), service: service, loose: configuration.loose,
            allowBearer: configuration.allowBearer)
        let responder = StorageResponder(
            service: service, authenticator: authenticator,
            blobs: BlobController(store: blobStore, authenticator: authenticator), queues: QueueController(store: queueStore),
            faults: faults, clock: clock, metrics: metrics)
        var logger = self.logger
        logger[metadataKey: "devstorage.service"] = .string(service.rawValue)
        let port = service == .blob ? configuration.blobPort : configuration.queuePort
        return Application(
            responder: responder,
            server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()])),
            configuration: .init(address: .hostname(configuration.host, port: port), serverName: "devstorage"),
            onServerRunning: { [weak self] channel in
                self?.bound(service == .blob ? .blob : .queue, port: channel.localAddress?.port ?? port)
            },
            logger: logger)
    }

    /// `GET /metrics`: the Prometheus text of `metrics`, the queue gauges read first. A listener of
    /// its own, so the Azure URL space (`/{account}/...`) is untouched.
    func metricsApplication(port: Int) -> some Service {
        let router = Router()
        router.get("metrics") { [metrics, queueStore, clock] _, _ in
            metrics.setQueueMessages(await queueStore.messageCounts(now: clock.now))
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
        var logger = self.logger
        logger[metadataKey: "devstorage.service"] = "metrics"
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: port), serverName: "devstorage"),
            onServerRunning: { [weak self] channel in
                self?.bound(.metrics, port: channel.localAddress?.port ?? port)
            },
            logger: logger)
    }
}

import AsyncHTTPClient
import Hummingbird
import Logging
import MediaKit
import NIOPosix
import Prometheus
import QueueKit
import ServiceLifecycle
import StorageKit

/// Builds the processor's services (tests call this with devstorage's account and a short
/// visibility timeout): the worker, the queue-depth sampler, the health/metrics server and the
/// storage HTTP client's shutdown.
func buildServices(
    configuration: ProcessorConfiguration, account: StorageAccount, registry: PrometheusCollectorRegistry? = nil,
    retryPolicy: RetryPolicy = .default, names: JobHandler.Names = .init(), logger: Logger
) async throws -> (services: [any Service], handler: JobHandler) {
    // StorageKit's settings (no redirects, no decompression: a blob is the bytes its MD5 describes).
    let httpConfiguration = StorageHTTPClient.Configuration(readTimeout: .seconds(120), maxConnectionsPerHost: max(8, configuration.concurrency * 4))
    let httpClient = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: httpConfiguration.httpClientConfiguration)
    let blobs = BlobClient(account: account, transport: httpClient, retryPolicy: retryPolicy, logger: logger)
    let queues = QueueClient(account: account, transport: httpClient, retryPolicy: retryPolicy, logger: logger)

    if configuration.createStorage {
        do {
            for container in [names.rawContainer, names.processedContainer, names.statusContainer] { _ = try await blobs.createContainer(container) }
            _ = try await queues.createQueue(names.queue)
            _ = try await queues.createQueue(names.poisonQueue)
        } catch {
            logger.warning("could not create the containers and queues (they may already exist)", metadata: ["error": "\(error)"])
        }
    }
    let swept = WorkDirectory.sweep(parent: configuration.tempDirectory, olderThan: .seconds(configuration.tempMaxAgeSeconds))
    if swept > 0 { logger.info("removed work directories left by stopped workers", metadata: ["count": "\(swept)", "dir": "\(configuration.tempDirectory)"]) }
    let webhook = Webhooks(
        fallback: configuration.webhookURL.map { Webhook(url: $0, secret: configuration.webhookSecret, client: httpClient) },
        byTenant: configuration.tenantWebhooks.mapValues { Webhook(url: $0.url, secret: $0.secret, client: httpClient) })
    let handler = JobHandler(
        blobs: blobs, queues: queues, configuration: configuration, webhook: webhook, names: names,
        runner: MediaRunner(mode: configuration.isolation, limits: configuration.profile.limits))
    let worker = JobWorker(queues: queues, handler: handler, configuration: configuration, logger: logger)
    let health = HealthServer.build(configuration: configuration, blobs: blobs, queues: queues, registry: registry, logger: logger)
    // Shut down in reverse: health server and sampler, then the worker (it drains), then the client.
    return ([HTTPClientService(client: httpClient, after: worker.drained), worker, QueueBacklogSampler(queues: queues, queue: names.queue, poisonQueue: names.poisonQueue), health], handler)
}

/// Shuts the storage HTTP client down after the services that use it have stopped.
struct HTTPClientService: Service {
    let client: HTTPClient
    /// The worker's end: even when the group cancels everything after the grace period, the client
    /// stays up until stopped jobs have released their messages.
    let after: DrainSignal

    func run() async throws {
        try? await gracefulShutdown()
        await after.wait()
        try await client.shutdown()
    }
}

import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Prometheus
import QueueKit
import ServiceLifecycle
import StorageKit

/// Builds the uploader: storage clients, controllers, middleware and the HTTP server. Tests call
/// it with port 0 and devstorage's account; `App` adds signal handling and metrics set-up.
func buildApplication(
    configuration: UploaderConfiguration,
    account: StorageAccount,
    registry: PrometheusCollectorRegistry? = nil,
    retryPolicy: RetryPolicy = .default,
    logger: Logger
) async throws -> some ApplicationProtocol {
    // One client for every storage call, configured by StorageKit (no decompression, no redirects,
    // 5 s connect timeout so "storage down" shows in seconds), its pool sized for the uploads' blocks.
    let httpClient = StorageHTTPClient(
        configuration: .stagedUploads(concurrentUploads: configuration.maxConcurrentUploads, blocksPerUpload: configuration.staging.maxConcurrency),
        eventLoopGroup: MultiThreadedEventLoopGroup.singleton)

    let blobs = BlobClient(account: account, transport: httpClient, retryPolicy: retryPolicy, logger: logger)
    let queues = QueueClient(account: account, transport: httpClient, retryPolicy: retryPolicy, logger: logger)
    let ingest = Ingest(
        blobs: blobs, queues: queues, staging: configuration.staging,
        rawContainer: PipelineNames.rawContainer, statusContainer: PipelineNames.statusContainer, queue: PipelineNames.jobQueue)

    if configuration.createStorage {
        do {
            for container in [PipelineNames.rawContainer, PipelineNames.statusContainer, PipelineNames.processedContainer] {
                _ = try await blobs.createContainer(container)
            }
            _ = try await queues.createQueue(PipelineNames.jobQueue)
        } catch {
            // Missing rights to create them is normal where Terraform made them; readiness tells if they are absent.
            logger.warning("could not create the containers and queue (they may already exist)", metadata: ["error": "\(error)"])
        }
    }

    let router = Router(context: UploaderRequestContext.self)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: MetricsMiddleware())
    WebController().addRoutes(to: router)
    HealthController(
        ingest: ingest, registry: registry, readiness: ReadinessWindow(tolerance: .seconds(configuration.readyFailureWindowSeconds))
    ).addRoutes(to: router)

    let signer = OutputLinkSigner(secret: configuration.linksSecret, apiKeys: configuration.apiKeys)
    if configuration.links == .proxy, configuration.linksSecret == nil, configuration.apiKeys.isEmpty, !configuration.authDisabled {
        logger.warning("proxy links are signed with a per-process key (no API keys, no UPLOADER_LINKS_SECRET): other replicas and restarts refuse them")
    }
    let oidc = configuration.oidc.map { oidc in
        logger.info(
            "accepting OIDC bearer tokens",
            metadata: [
                "oidc.issuer": "\(oidc.issuer)", "oidc.audience": "\(oidc.audience)", "oidc.jwks.url": "\(oidc.jwksURL ?? "(discovery)")",
                "oidc.tenant.claim": "\(oidc.tenantClaim)", "oidc.required.role": "\(oidc.requiredRole ?? "(none)")",
            ])
        return OIDCVerifier(configuration: oidc, source: OIDCDiscoveryKeySource(configuration: oidc), logger: logger)
    }
    let keys = APIKeys(keys: configuration.apiKeys)
    let api = router.group().add(middleware: APIKeyMiddleware(keys: keys, disabled: configuration.authDisabled, links: signer, oidc: oidc))
    // One set of per-tenant limits for every way in (`POST /upload`, resumable and direct uploads).
    let quotas = TenantQuotas(blobs: ingest.blobs, container: PipelineNames.statusContainer, limits: configuration.quotas, logger: logger)
    let admission = UploadAdmission(
        rateLimiter: RateLimiter(ratePerSecond: configuration.ratePerSecond, burst: configuration.rateBurst), quotas: quotas,
        slots: UploadSlots(limit: configuration.maxConcurrentUploads, perKeyLimit: configuration.uploadsPerKey),
        metrics: UploaderMetrics(tenants: keys.allTenants.union(configuration.metricsTenants).union([APIKeyMiddleware.anonymous])))
    UploadController(ingest: ingest, configuration: configuration, admission: admission).addRoutes(to: api)
    DirectUploadController(
        uploads: DirectUploads(ingest: ingest, sasExpirySeconds: configuration.directSASExpirySeconds, maxBytes: configuration.maxUploadBytes),
        admission: admission
    ).addRoutes(to: api)
    ResumableController(
        uploads: ResumableUploads(
            ingest: ingest, store: ResumableStore(blobs: ingest.blobs, container: PipelineNames.rawContainer), staging: configuration.staging,
            maxBytes: configuration.maxUploadBytes, lifetimeSeconds: configuration.resumableExpirySeconds, quotas: quotas),
        configuration: configuration, admission: admission
    ).addRoutes(to: api, open: router)
    JobsController(ingest: ingest, links: configuration.links, linksTTLSeconds: configuration.linksTTLSeconds, signer: signer)
        .addRoutes(to: api)

    let headerTimeoutSeconds = configuration.headerTimeoutSeconds
    return Application(
        router: router,
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [
                    UploadConnectionHandler(headerTimeout: .seconds(Int64(headerTimeoutSeconds)))
                ],
                idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)),
                httpDecoderConfiguration: .init(maxHeaderFieldSize: 8 * 1024, maxHeaderListSize: 32 * 1024, maxHeaderFieldCount: 100))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "mediapipeline-uploader"),
        services: [HTTPClientService(client: httpClient)],
        logger: logger)
}

/// Shuts the storage HTTP client down after the server has finished its in-flight requests
/// (the application stops its own services after the server).
struct HTTPClientService: Service {
    let client: StorageHTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

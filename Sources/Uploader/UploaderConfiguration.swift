import Configuration
import Foundation
import Logging
import QueueKit
import StorageKit

/// Everything the uploader reads from configuration. Providers are chained by `App`: flags
/// (`--uploader-port 9090`), then environment variables (`UPLOADER_PORT`), then these defaults.
///
/// | Key | Environment | Default |
/// |---|---|---|
/// | `uploader.host` | `UPLOADER_HOST` | `0.0.0.0` |
/// | `uploader.port` | `UPLOADER_PORT` | 8080 (0 = any free port) |
/// | `uploader.api.keys` | `UPLOADER_API_KEYS` | none; comma-separated `tenant:key` entries or bare keys, each its own tenant (secret) |
/// | `uploader.api.keys.file` | `UPLOADER_API_KEYS_FILE` | none; a file of such entries, one per line (a mounted Secret) |
/// | `uploader.auth.disabled` | `UPLOADER_AUTH_DISABLED` | `false`; with no keys and no OIDC issuer configured the uploader refuses to start unless this is `true` |
/// | `uploader.oidc.issuer` | `UPLOADER_OIDC_ISSUER` | none; set, `Authorization: Bearer <JWT>` is verified as an OIDC access token of this exact `iss` (e.g. `https://login.microsoftonline.com/{tenant}/v2.0`) |
/// | `uploader.oidc.audience` | `UPLOADER_OIDC_AUDIENCE` | none; required with the issuer: a value the token's `aud` must contain |
/// | `uploader.oidc.jwks.url` | `UPLOADER_OIDC_JWKS_URL` | none: the `jwks_uri` of `{issuer}/.well-known/openid-configuration` |
/// | `uploader.oidc.tenant.claim` | `UPLOADER_OIDC_TENANT_CLAIM` | `tid`: the claim naming the tenant (`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`; a token without it is refused) |
/// | `uploader.oidc.required.role` | `UPLOADER_OIDC_REQUIRED_ROLE` | none; set, the token must carry it in `roles` or in `scp` |
/// | `uploader.oidc.jwks.cache.seconds` | `UPLOADER_OIDC_JWKS_CACHE_SECONDS` | 3600: signing keys are fetched again after this long (and on an unknown `kid`) |
/// | `uploader.oidc.jwks.refresh.min.seconds` | `UPLOADER_OIDC_JWKS_REFRESH_MIN_SECONDS` | 10: at most one key fetch per this many seconds |
/// | `uploader.max.upload.bytes` | `UPLOADER_MAX_UPLOAD_BYTES` | 2147483648 (2 GiB) per request |
/// | `uploader.max.files` | `UPLOADER_MAX_FILES` | 10 files per request |
/// | `uploader.multipart.max.parts` | `UPLOADER_MULTIPART_MAX_PARTS` | 16 |
/// | `uploader.multipart.max.header.bytes` | `UPLOADER_MULTIPART_MAX_HEADER_BYTES` | 8192 per part |
/// | `uploader.multipart.max.header.lines` | `UPLOADER_MULTIPART_MAX_HEADER_LINES` | 32 per part |
/// | `uploader.max.concurrent.uploads` | `UPLOADER_MAX_CONCURRENT_UPLOADS` | 32 (more → 503 + `Retry-After`) |
/// | `uploader.max.uploads.per.key` | `UPLOADER_MAX_UPLOADS_PER_KEY` | a quarter of the above, at least 1 (all of them with auth disabled); more from one tenant (all its keys) → 429 `TooManyUploadsForKey` |
/// | `uploader.body.min.rate` | `UPLOADER_BODY_MIN_RATE` | 1024 bytes/s: a slower body gets 408 and the connection closed (0 = off) |
/// | `uploader.body.min.rate.window.seconds` | `UPLOADER_BODY_MIN_RATE_WINDOW_SECONDS` | 30: the rate is averaged over this much waiting time |
/// | `uploader.body.min.rate.grace.seconds` | `UPLOADER_BODY_MIN_RATE_GRACE_SECONDS` | 10: checked only after the client has had this long |
/// | `uploader.rate.per.second` | `UPLOADER_RATE_PER_SECOND` | 20 uploads per second per tenant (0 = no limit) |
/// | `uploader.rate.burst` | `UPLOADER_RATE_BURST` | 40 |
/// | `uploader.metrics.tenants` | `UPLOADER_METRICS_TENANTS` | none: comma-separated tenants (e.g. OIDC tenant ids) labelled by name in metrics; the API keys' tenants always are, any other is `oidc` |
/// | `uploader.quota.daily.uploads` | `UPLOADER_QUOTA_DAILY_UPLOADS` | 0 (off): files per tenant per UTC day, across replicas; more → 429 `QuotaExceeded` |
/// | `uploader.quota.daily.bytes` | `UPLOADER_QUOTA_DAILY_BYTES` | 0 (off): bytes per tenant per UTC day, across replicas |
/// | `uploader.header.timeout.seconds` | `UPLOADER_HEADER_TIMEOUT_SECONDS` | 10: a request head must be complete this long after the connection opens (or the previous answer) |
/// | `uploader.idle.timeout.seconds` | `UPLOADER_IDLE_TIMEOUT_SECONDS` | 30: a connection that sends nothing for this long is closed |
/// | `uploader.block.size.bytes` | `UPLOADER_BLOCK_SIZE_BYTES` | 4194304 (4 MiB) |
/// | `uploader.block.concurrency` | `UPLOADER_BLOCK_CONCURRENCY` | 3 blocks in flight per upload |
/// | `uploader.block.md5` | `UPLOADER_BLOCK_MD5` | `false`: no per-block Content-MD5 (the whole file's MD5 travels in the job and the processor checks it) |
/// | `uploader.links` | `UPLOADER_LINKS` | `sas` (short-lived read SAS URLs) or `proxy` (`/jobs/{id}/outputs/{name}` through the uploader) |
/// | `uploader.links.ttl.seconds` | `UPLOADER_LINKS_TTL_SECONDS` | 3600: lifetime of SAS links and of signed proxy links |
/// | `uploader.links.secret` | `UPLOADER_LINKS_SECRET` | none (secret): signs proxy links; unset, derived from the API keys (every replica with the same keys agrees) |
/// | `uploader.resumable.expiry.seconds` | `UPLOADER_RESUMABLE_EXPIRY_SECONDS` | 86400: a resumable upload (`/files/`, `/resumable/`) may be continued this long after its creation (at most 7 days: Azure drops uncommitted blocks then) |
/// | `uploader.direct.sas.expiry.seconds` | `UPLOADER_DIRECT_SAS_EXPIRY_SECONDS` | 3600: lifetime of the SAS URL `POST /uploads` hands out (60 to 86400) |
/// | `uploader.ready.failure.window.seconds` | `UPLOADER_READY_FAILURE_WINDOW_SECONDS` | 30: `/readyz` fails only when storage has failed this long without a success |
/// | `uploader.storage.create` | `UPLOADER_STORAGE_CREATE` | `true`: create the containers and the queue at start if missing |
/// | `uploader.shutdown.grace.seconds` | `UPLOADER_SHUTDOWN_GRACE_SECONDS` | 30 |
/// | `uploader.log.level` | `UPLOADER_LOG_LEVEL` | `info` |
///
/// Storage is configured by the `azure.*` keys of `StorageAccount.Configuration`
/// (`AZURE_STORAGE_CONNECTION_STRING`, or workload identity with `AZURE_STORAGE_ACCOUNT`).
struct UploaderConfiguration: Sendable {
    enum Links: String, Sendable { case sas, proxy }

    var host = "0.0.0.0"
    var port = 8080
    var apiKeys: [String] = []
    var authDisabled = false
    /// OIDC bearer tokens (`uploader.oidc.*`); nil: not accepted.
    var oidc: OIDCConfiguration?
    /// Tenants named in metric labels besides the API keys' (e.g. OIDC tenants); others are `oidc`.
    var metricsTenants: [String] = []
    var maxUploadBytes = 2 << 30
    var maxFiles = 10
    var multipart = MultipartReader.Limits()
    var maxConcurrentUploads = 32
    /// nil: a quarter of `maxConcurrentUploads` (see `uploadsPerKey`).
    var maxUploadsPerKey: Int?
    var minimumBodyRate = MinimumBodyRate.default
    var ratePerSecond = 20.0
    var rateBurst = 40
    var quotas = TenantQuotas.Limits()
    var idleTimeoutSeconds = 30
    var headerTimeoutSeconds = 10
    var staging = BlobClient.StagedUploadOptions(blockSize: 4 << 20, maxConcurrency: 3, blockMD5: false)
    var links = Links.sas
    var linksTTLSeconds = 3600
    var linksSecret: String?
    var readyFailureWindowSeconds = 30
    /// Lifetime of a direct upload's SAS URL (`uploader.direct.sas.expiry.seconds`).
    var directSASExpirySeconds = 3600
    /// How long a resumable upload may be continued after its creation.
    var resumableExpirySeconds = 86400
    var createStorage = true
    var shutdownGraceSeconds = 30
    var logLevel = Logger.Level.info
    var storage = StorageAccount.Configuration()

    init() {}

    /// The per-key share of the upload slots: configured, or a quarter of the global cap. With
    /// auth disabled every client is `anonymous`, one key: a quarter would cap everyone together.
    var uploadsPerKey: Int { maxUploadsPerKey ?? (authDisabled ? maxConcurrentUploads : max(1, maxConcurrentUploads / 4)) }

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    init(reader: ConfigReader) throws {
        let config = reader.scoped(to: "uploader")
        host = config.string(forKey: "host", default: host)
        port = config.int(forKey: "port", default: port)
        var keys = config.string(forKey: "api.keys", isSecret: true).map(APIKeys.parse) ?? []
        if let file = config.string(forKey: "api.keys.file"), !file.isEmpty {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw Invalid(description: "cannot read the API key file \(file)")
            }
            keys += APIKeys.parse(text)
        }
        apiKeys = keys
        authDisabled = config.bool(forKey: "auth.disabled", default: false)
        oidc = try OIDCConfiguration.read(from: config)
        metricsTenants = (config.string(forKey: "metrics.tenants") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        if let bad = metricsTenants.first(where: { !Tenant.isValid($0) }) {
            throw Invalid(description: "uploader.metrics.tenants: \(bad) is not a tenant name")
        }
        maxUploadBytes = config.int(forKey: "max.upload.bytes", default: maxUploadBytes)
        maxFiles = config.int(forKey: "max.files", default: maxFiles)
        multipart.maxParts = config.int(forKey: "multipart.max.parts", default: multipart.maxParts)
        multipart.maxHeaderBytes = config.int(forKey: "multipart.max.header.bytes", default: multipart.maxHeaderBytes)
        multipart.maxHeaderLines = config.int(forKey: "multipart.max.header.lines", default: multipart.maxHeaderLines)
        maxConcurrentUploads = config.int(forKey: "max.concurrent.uploads", default: maxConcurrentUploads)
        maxUploadsPerKey = config.int(forKey: "max.uploads.per.key")
        minimumBodyRate.bytesPerSecond = config.int(forKey: "body.min.rate", default: minimumBodyRate.bytesPerSecond)
        minimumBodyRate.window = .seconds(config.int(forKey: "body.min.rate.window.seconds", default: Int(minimumBodyRate.window.components.seconds)))
        minimumBodyRate.grace = .seconds(config.int(forKey: "body.min.rate.grace.seconds", default: Int(minimumBodyRate.grace.components.seconds)))
        ratePerSecond = config.double(forKey: "rate.per.second", default: ratePerSecond)
        rateBurst = config.int(forKey: "rate.burst", default: rateBurst)
        quotas.uploadsPerDay = config.int(forKey: "quota.daily.uploads", default: quotas.uploadsPerDay)
        quotas.bytesPerDay = config.int(forKey: "quota.daily.bytes", default: quotas.bytesPerDay)
        idleTimeoutSeconds = config.int(forKey: "idle.timeout.seconds", default: idleTimeoutSeconds)
        headerTimeoutSeconds = config.int(forKey: "header.timeout.seconds", default: headerTimeoutSeconds)
        staging.blockSize = config.int(forKey: "block.size.bytes", default: staging.blockSize)
        staging.maxConcurrency = config.int(forKey: "block.concurrency", default: staging.maxConcurrency)
        staging.blockMD5 = config.bool(forKey: "block.md5", default: staging.blockMD5)
        let linksValue = config.string(forKey: "links", default: links.rawValue)
        guard let links = Links(rawValue: linksValue.lowercased()) else {
            throw Invalid(description: "uploader.links must be `sas` or `proxy`, not \(linksValue)")
        }
        self.links = links
        linksTTLSeconds = config.int(forKey: "links.ttl.seconds", default: linksTTLSeconds)
        linksSecret = config.string(forKey: "links.secret", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        readyFailureWindowSeconds = config.int(forKey: "ready.failure.window.seconds", default: readyFailureWindowSeconds)
        directSASExpirySeconds = config.int(forKey: "direct.sas.expiry.seconds", default: directSASExpirySeconds)
        resumableExpirySeconds = config.int(forKey: "resumable.expiry.seconds", default: resumableExpirySeconds)
        createStorage = config.bool(forKey: "storage.create", default: createStorage)
        shutdownGraceSeconds = config.int(forKey: "shutdown.grace.seconds", default: shutdownGraceSeconds)
        logLevel = config.string(forKey: "log.level").flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        storage = StorageAccount.Configuration(reader: reader)
        try validate()
    }

    func validate() throws {
        guard !apiKeys.isEmpty || oidc != nil || authDisabled else {
            throw Invalid(
                description: "no API keys: set UPLOADER_API_KEYS (comma-separated) or UPLOADER_API_KEYS_FILE, or UPLOADER_OIDC_ISSUER and UPLOADER_OIDC_AUDIENCE, or UPLOADER_AUTH_DISABLED=true for a private network")
        }
        try oidc?.validate()
        guard maxUploadBytes > 0, maxFiles > 0, maxConcurrentUploads > 0, staging.blockSize >= 64 << 10,
            staging.blockSize <= 100 << 20, staging.maxConcurrency > 0
        else {
            throw Invalid(description: "limits must be positive; the block size between 64 KiB and 100 MiB")
        }
        guard (1...maxConcurrentUploads).contains(uploadsPerKey) else {
            throw Invalid(description: "uploader.max.uploads.per.key must be between 1 and uploader.max.concurrent.uploads (\(maxConcurrentUploads))")
        }
        guard minimumBodyRate.bytesPerSecond >= 0, minimumBodyRate.window >= .seconds(1), minimumBodyRate.grace >= .zero else {
            throw Invalid(description: "uploader.body.min.rate must be 0 (off) or more; its window at least 1 s; its grace 0 s or more")
        }
        guard quotas.uploadsPerDay >= 0, quotas.bytesPerDay >= 0 else {
            throw Invalid(description: "uploader.quota.daily.uploads and .bytes must be 0 (off) or more")
        }
        guard (1...ResumableUploads.maxLifetimeSeconds).contains(resumableExpirySeconds) else {
            throw Invalid(description: "uploader.resumable.expiry.seconds must be between 1 and 604800 (7 days: Azure drops uncommitted blocks then)")
        }
        // Up to a day: the user-delegation key that signs it on Entra identity is renewed a day before it expires.
        guard (60...86_400).contains(directSASExpirySeconds) else {
            throw Invalid(description: "uploader.direct.sas.expiry.seconds must be between 60 and 86400")
        }
        guard readyFailureWindowSeconds >= 0 else {
            throw Invalid(description: "uploader.ready.failure.window.seconds must be 0 or more")
        }
    }
}

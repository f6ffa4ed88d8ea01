import Configuration
import Foundation
import Logging
import StorageKit

/// Everything the processor reads from configuration: flags (`--processor-concurrency 2`), then
/// environment variables (`PROCESSOR_CONCURRENCY`), then these defaults.
///
/// | Key | Environment | Default |
/// |---|---|---|
/// | `processor.host` / `processor.port` | `PROCESSOR_HOST` / `PROCESSOR_PORT` | `0.0.0.0` / 8081: `/healthz`, `/readyz`, `/metrics` |
/// | `processor.concurrency` | `PROCESSOR_CONCURRENCY` | one job per core |
/// | `processor.visibility.timeout.seconds` | `PROCESSOR_VISIBILITY_TIMEOUT_SECONDS` | 300 (renewed at half) |
/// | `processor.retry.delay.seconds` | `PROCESSOR_RETRY_DELAY_SECONDS` | the profile's `retry.firstDelaySeconds` (10): the first backoff after a transient failure |
/// | `processor.retry.max.delay.seconds` | `PROCESSOR_RETRY_MAX_DELAY_SECONDS` | the profile's `retry.maxDelaySeconds` (900): the backoff doubles up to this |
/// | `processor.max.dequeue.count` | `PROCESSOR_MAX_DEQUEUE_COUNT` | the profile's `retry.poisonAfterDeliveries` (8): transient failures poison only from this delivery on… |
/// | `processor.poison.min.age.seconds` | `PROCESSOR_POISON_MIN_AGE_SECONDS` | the profile's `retry.poisonAfterSeconds` (21600): …and only once the first attempt is this old |
/// | `processor.poll.max.interval.ms` | `PROCESSOR_POLL_MAX_INTERVAL_MS` | 1000: the longest wait between polls of an empty queue |
/// | `processor.shutdown.grace.seconds` | `PROCESSOR_SHUTDOWN_GRACE_SECONDS` | 60: on SIGTERM running jobs get this long, then are released |
/// | `processor.profile` | `PROCESSOR_PROFILE` | none: the built-in profile (the same as `profiles/default.json`) |
/// | `processor.webhook.url` | `PROCESSOR_WEBHOOK_URL` | none: POST each final status document here |
/// | `processor.webhook.secret` | `PROCESSOR_WEBHOOK_SECRET` | none: HMAC-SHA256 key for the `X-MediaPipeline-Signature` header (secret) |
/// | `processor.webhook.tenants.file` | `PROCESSOR_WEBHOOK_TENANTS_FILE` | none: YAML/JSON `{tenant: {url, secret}}`; a tenant's jobs go to its own webhook instead of the one above |
/// | `processor.storage.retries` | `PROCESSOR_STORAGE_RETRIES` | 3 retries of a failed storage call (jittered exponential backoff) |
/// | `processor.storage.retry.base.ms` | `PROCESSOR_STORAGE_RETRY_BASE_MS` | 800: the first backoff |
/// | `processor.storage.create` | `PROCESSOR_STORAGE_CREATE` | `true`: create the containers and queues at start if missing |
/// | `processor.temp.dir` | `PROCESSOR_TEMP_DIR` | `$TMPDIR`, else `/tmp`: videos are downloaded and transcoded in a per-job directory here, always removed |
/// | `processor.temp.max.age.seconds` | `PROCESSOR_TEMP_MAX_AGE_SECONDS` | 3600: an unlocked leftover directory without an owner lock (staging, or named by PID) is swept at start once this old |
/// | `processor.isolation` | `PROCESSOR_ISOLATION` | `process`: each file is decoded in a child process under the profile's `limits.child`; `none`: in the daemon |
/// | `processor.log.level` | `PROCESSOR_LOG_LEVEL` | `info` |
struct ProcessorConfiguration: Sendable {
    var host = "0.0.0.0"
    var port = 8081
    var concurrency = max(1, ProcessInfo.processInfo.activeProcessorCount)
    var visibilityTimeout = 300
    var pollMaxInterval = Duration.milliseconds(1000)
    var shutdownGraceSeconds = 60
    var profile = ProcessingProfile()
    var webhookURL: String?
    var webhookSecret: String?
    var tenantWebhooks: [String: Webhooks.Target] = [:]
    var createStorage = true
    var retryPolicy = RetryPolicy.default
    var logLevel = Logger.Level.info
    var isolation = IsolationMode.process
    var tempMaxAgeSeconds = 3600
    var tempDirectory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    var storage = StorageAccount.Configuration()

    init() {}

    init(reader: ConfigReader) throws {
        let config = reader.scoped(to: "processor")
        host = config.string(forKey: "host", default: host)
        port = config.int(forKey: "port", default: port)
        concurrency = max(1, config.int(forKey: "concurrency", default: concurrency))
        visibilityTimeout = max(2, config.int(forKey: "visibility.timeout.seconds", default: visibilityTimeout))
        pollMaxInterval = .milliseconds(max(10, config.int(forKey: "poll.max.interval.ms", default: 1000)))
        shutdownGraceSeconds = config.int(forKey: "shutdown.grace.seconds", default: shutdownGraceSeconds)
        if let path = config.string(forKey: "profile"), !path.isEmpty { profile = try ProcessingProfile.load(path: path) }
        // The retry policy lives in the profile; these keys override it (one deployment's outage
        // tolerance without editing the profile).
        var retry = profile.retry
        retry.firstDelaySeconds = config.int(forKey: "retry.delay.seconds", default: retry.firstDelaySeconds)
        retry.maxDelaySeconds = config.int(forKey: "retry.max.delay.seconds", default: max(retry.maxDelaySeconds, retry.firstDelaySeconds))
        retry.poisonAfterDeliveries = config.int(forKey: "max.dequeue.count", default: retry.poisonAfterDeliveries)
        retry.poisonAfterSeconds = config.int(forKey: "poison.min.age.seconds", default: retry.poisonAfterSeconds)
        if let problem = retry.problem { throw ProcessingProfile.Invalid(description: problem) }
        profile.retry = retry
        webhookURL = config.string(forKey: "webhook.url").flatMap { $0.isEmpty ? nil : $0 }
        webhookSecret = config.string(forKey: "webhook.secret", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        if let file = config.string(forKey: "webhook.tenants.file"), !file.isEmpty { tenantWebhooks = try Webhooks.load(path: file) }
        createStorage = config.bool(forKey: "storage.create", default: createStorage)
        retryPolicy = RetryPolicy(
            maxRetries: max(0, config.int(forKey: "storage.retries", default: 3)),
            baseDelay: .milliseconds(max(1, config.int(forKey: "storage.retry.base.ms", default: 800))))
        tempDirectory = config.string(forKey: "temp.dir").flatMap { $0.isEmpty ? nil : $0 } ?? tempDirectory
        tempMaxAgeSeconds = max(0, config.int(forKey: "temp.max.age.seconds", default: tempMaxAgeSeconds))
        if let mode = config.string(forKey: "isolation"), !mode.isEmpty {
            guard let parsed = IsolationMode(rawValue: mode.lowercased()) else {
                throw ProcessingProfile.Invalid(description: "processor.isolation must be one of \(IsolationMode.allCases.map(\.rawValue).joined(separator: ", ")), not \(mode)")
            }
            isolation = parsed
        }
        logLevel = config.string(forKey: "log.level").flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        storage = StorageAccount.Configuration(reader: reader)
    }
}

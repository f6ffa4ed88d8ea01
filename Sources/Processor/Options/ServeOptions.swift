import ArgumentParser
import Configuration

/// `processor serve`'s options: every `processor.*` key of `ProcessorConfiguration` as a flag, its
/// key spelled as swift-configuration spells keys on a command line (`processor.concurrency` →
/// `--processor-concurrency`). A flag wins over the key's environment variable, which wins over the
/// default. Options are optional with no default, so an absent flag leaves the key to the
/// environment.
struct ServeOptions: ParsableArguments {
    @Option(name: .customLong("processor-host"), help: "Address of /healthz, /readyz and /metrics (PROCESSOR_HOST; default 0.0.0.0).")
    var host: String?
    @Option(name: .customLong("processor-port"), help: "Port of /healthz, /readyz and /metrics (PROCESSOR_PORT; default 8081).")
    var port: Int?
    @Option(name: .customLong("processor-concurrency"), help: "Jobs at once (PROCESSOR_CONCURRENCY; default one per core).")
    var concurrency: Int?
    @Option(name: .customLong("processor-visibility-timeout-seconds"), help: "Message lease, renewed at half (default 300).")
    var visibilityTimeoutSeconds: Int?
    @Option(name: .customLong("processor-max-dequeue-count"), help: "Transient failures poison only from this delivery on (profile retry.poisonAfterDeliveries, default 8).")
    var maxDequeueCount: Int?
    @Option(name: .customLong("processor-poison-min-age-seconds"), help: "…and only once the first attempt is this old (profile retry.poisonAfterSeconds, default 21600).")
    var poisonMinAgeSeconds: Int?
    @Option(name: .customLong("processor-retry-delay-seconds"), help: "Transient failure: the first backoff, doubling per delivery (profile retry.firstDelaySeconds, default 10).")
    var retryDelaySeconds: Int?
    @Option(name: .customLong("processor-retry-max-delay-seconds"), help: "The longest backoff (profile retry.maxDelaySeconds, default 900).")
    var retryMaxDelaySeconds: Int?
    @Option(name: .customLong("processor-poll-max-interval-ms"), help: "Longest wait between polls of an empty queue (default 1000).")
    var pollMaxIntervalMs: Int?
    @Option(name: .customLong("processor-shutdown-grace-seconds"), help: "SIGTERM: running jobs get this long, then are released (default 60).")
    var shutdownGraceSeconds: Int?
    @Option(name: .customLong("processor-profile"), help: "Processing profile file, JSON or YAML (default: the built-in profile).")
    var profile: String?
    @Option(name: .customLong("processor-webhook-url"), help: "POST each final status document here.")
    var webhookURL: String?
    @Option(name: .customLong("processor-webhook-secret"), help: "HMAC-SHA256 key of the webhook signature (secret: prefer PROCESSOR_WEBHOOK_SECRET).")
    var webhookSecret: String?
    @Option(name: .customLong("processor-webhook-tenants-file"), help: "YAML/JSON {tenant: {url, secret}}: each tenant's jobs go to its own webhook.")
    var webhookTenantsFile: String?
    @Option(name: .customLong("processor-storage-retries"), help: "Retries of a failed storage call (default 3).")
    var storageRetries: Int?
    @Option(name: .customLong("processor-storage-retry-base-ms"), help: "First storage retry backoff (default 800).")
    var storageRetryBaseMs: Int?
    @Option(name: .customLong("processor-storage-create"), help: "Create the containers and queues at start: true or false (default true).")
    var storageCreate: Bool?
    @Option(name: .customLong("processor-temp-dir"), help: "Parent of the per-job work directories (default $TMPDIR, else /tmp).")
    var tempDir: String?
    @Option(name: .customLong("processor-temp-max-age-seconds"), help: "Age after which an unlocked leftover without an owner lock is swept (default 3600).")
    var tempMaxAgeSeconds: Int?
    @Option(name: .customLong("processor-isolation"), help: "process (a child per file, default) or none.")
    var isolation: String?
    @Option(name: .customLong("processor-log-level"), help: "trace, debug, info (default), notice, warning, error or critical.")
    var logLevel: String?

    @OptionGroup var storage: StorageOptions

    /// The options given, by configuration key.
    var values: [AbsoluteConfigKey: ConfigValue] {
        var values = ConfigValues()
        values.set("processor.host", host)
        values.set("processor.port", port)
        values.set("processor.concurrency", concurrency)
        values.set("processor.visibility.timeout.seconds", visibilityTimeoutSeconds)
        values.set("processor.max.dequeue.count", maxDequeueCount)
        values.set("processor.poison.min.age.seconds", poisonMinAgeSeconds)
        values.set("processor.retry.delay.seconds", retryDelaySeconds)
        values.set("processor.retry.max.delay.seconds", retryMaxDelaySeconds)
        values.set("processor.poll.max.interval.ms", pollMaxIntervalMs)
        values.set("processor.shutdown.grace.seconds", shutdownGraceSeconds)
        values.set("processor.profile", profile)
        values.set("processor.webhook.url", webhookURL)
        values.set("processor.webhook.secret", webhookSecret, isSecret: true)
        values.set("processor.webhook.tenants.file", webhookTenantsFile)
        values.set("processor.storage.retries", storageRetries)
        values.set("processor.storage.retry.base.ms", storageRetryBaseMs)
        values.set("processor.storage.create", storageCreate)
        values.set("processor.temp.dir", tempDir)
        values.set("processor.temp.max.age.seconds", tempMaxAgeSeconds)
        values.set("processor.isolation", isolation)
        values.set("processor.log.level", logLevel)
        return values.values.merging(storage.values) { first, _ in first }
    }
}

import Configuration
import Logging

extension DevStorageConfiguration {
    /// Reads the configuration from `reader` (providers chained CLI → environment → defaults by the
    /// caller). Keys, with their environment variable and command-line flag:
    ///
    /// | Key | Environment | Default |
    /// |---|---|---|
    /// | `devstorage.host` | `DEVSTORAGE_HOST` | `127.0.0.1` |
    /// | `devstorage.blob.port` | `DEVSTORAGE_BLOB_PORT` | 10000 (0 = any free port) |
    /// | `devstorage.queue.port` | `DEVSTORAGE_QUEUE_PORT` | 10001 (0 = any free port) |
    /// | `devstorage.metrics.port` | `DEVSTORAGE_METRICS_PORT` | off; `GET /metrics` (Prometheus) on this port (0 = any free port) |
    /// | `devstorage.data.dir` | `DEVSTORAGE_DATA_DIR` | `.devstorage` |
    /// | `devstorage.accounts` | `DEVSTORAGE_ACCOUNTS` | extra accounts `name1:key1[:key2];name2:key1`; falls back to `azurite.accounts` (`AZURITE_ACCOUNTS`) |
    /// | `devstorage.loose` | `DEVSTORAGE_LOOSE` | `false`: requests without credentials get 404 `ResourceNotFound` |
    /// | `devstorage.allow.bearer` | `DEVSTORAGE_ALLOW_BEARER` | `false`: accept any `Authorization: Bearer` token |
    /// | `devstorage.log.level` | `DEVSTORAGE_LOG_LEVEL` | `info` |
    /// | `devstorage.clock.offset.seconds` | `DEVSTORAGE_CLOCK_OFFSET_SECONDS` | 0 |
    /// | `devstorage.faults.rate` | `DEVSTORAGE_FAULTS_RATE` | 0 (fraction 0…1 of requests failed) |
    /// | `devstorage.faults.status` | `DEVSTORAGE_FAULTS_STATUS` | 503 (`ServerBusy`); 500 gives `InternalError` |
    /// | `devstorage.faults.retry.after.seconds` | `DEVSTORAGE_FAULTS_RETRY_AFTER_SECONDS` | none (no `Retry-After`) |
    /// | `devstorage.faults.latency.ms` | `DEVSTORAGE_FAULTS_LATENCY_MS` | 0 |
    /// | `devstorage.faults.cut.after.bytes` | `DEVSTORAGE_FAULTS_CUT_AFTER_BYTES` | none (close the connection after this many response body bytes) |
    /// | `devstorage.faults.operations` | `DEVSTORAGE_FAULTS_OPERATIONS` | all; comma-separated operation names (`PutBlock,PutMessage`) the rate/latency/cut apply to |
    /// | `devstorage.faults.resources` | `DEVSTORAGE_FAULTS_RESOURCES` | all; comma-separated containers or queues (`rawfiles`) the rate/latency/cut apply to |
    /// | `devstorage.faults.next.count` | `DEVSTORAGE_FAULTS_NEXT_COUNT` | 0 (apply `next.action` to the next N matching requests) |
    /// | `devstorage.faults.next.action` | `DEVSTORAGE_FAULTS_NEXT_ACTION` | `fail` (answer `next.status`), `drop` (process, then close without answering) or `cut` (close after `next.cut.after.bytes` body bytes) |
    /// | `devstorage.faults.next.status` | `DEVSTORAGE_FAULTS_NEXT_STATUS` | `devstorage.faults.status` |
    /// | `devstorage.faults.next.cut.after.bytes` | `DEVSTORAGE_FAULTS_NEXT_CUT_AFTER_BYTES` | 0 |
    /// | `devstorage.faults.next.operation` | `DEVSTORAGE_FAULTS_NEXT_OPERATION` | any |
    /// | `devstorage.faults.next.method` | `DEVSTORAGE_FAULTS_NEXT_METHOD` | any |
    ///
    /// Command-line flags are the keys with dashes: `--devstorage-blob-port 0`.
    public init(reader: ConfigReader) {
        let faults = reader.scoped(to: "devstorage.faults")
        var settings = FaultSettings(
            failureRate: faults.double(forKey: "rate", default: 0),
            failureStatus: faults.int(forKey: "status", default: 503),
            retryAfterSeconds: faults.int(forKey: "retry.after.seconds"),
            latencyMilliseconds: faults.int(forKey: "latency.ms", default: 0),
            cutAfterBytes: faults.int(forKey: "cut.after.bytes"),
            operations: faults.string(forKey: "operations").map(StorageOperation.parseList),
            resources: faults.string(forKey: "resources").map { Set($0.split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }) })
        let nextCount = faults.int(forKey: "next.count", default: 0)
        if nextCount > 0 {
            let action: FaultRule.Action =
                switch faults.string(forKey: "next.action", default: "fail").lowercased() {
                case "drop": .dropResponse
                case "cut": .cutResponse(afterBytes: faults.int(forKey: "next.cut.after.bytes", default: 0))
                default: .fail(status: faults.int(forKey: "next.status", default: settings.failureStatus))
                }
            settings.rules = [
                FaultRule(
                    count: nextCount, action: action,
                    operation: faults.string(forKey: "next.operation").flatMap(StorageOperation.init(rawValue:)),
                    method: faults.string(forKey: "next.method"))
            ]
        }
        let accounts = reader.string(forKey: "devstorage.accounts", isSecret: true)
            ?? reader.string(forKey: "azurite.accounts", isSecret: true)
        self.init(
            host: reader.string(forKey: "devstorage.host", default: "127.0.0.1"),
            blobPort: reader.int(forKey: "devstorage.blob.port", default: 10000),
            queuePort: reader.int(forKey: "devstorage.queue.port", default: 10001),
            metricsPort: reader.int(forKey: "devstorage.metrics.port"),
            dataDirectory: reader.string(forKey: "devstorage.data.dir", default: ".devstorage"),
            extraAccounts: accounts.map(DevStorageAccount.parseList) ?? [],
            loose: reader.bool(forKey: "devstorage.loose", default: false),
            allowBearer: reader.bool(forKey: "devstorage.allow.bearer", default: false),
            faults: settings,
            clockOffsetSeconds: reader.double(forKey: "devstorage.clock.offset.seconds", default: 0),
            logLevel: reader.string(forKey: "devstorage.log.level").flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info)
    }
}

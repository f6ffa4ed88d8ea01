import Prometheus
import Synchronization

/// devstorage's Prometheus metrics, served at `GET /metrics` on the metrics listener
/// (`devstorage.metrics.port`). Names are constants here and all start with `devstorage_`, so they
/// never collide with the daemons' (`uploader_`, `processor_`, `storage_`).
///
/// Each server has its own `PrometheusCollectorRegistry` instead of the global `MetricsSystem`:
/// tests run many servers in one process (each must count only its own requests), and a library
/// never bootstraps the process-wide metrics system.
public final class DevStorageMetrics: Sendable {
    /// Counter: answered requests by `service`, `operation` (Azure's name), `status` (the code) and
    /// `status_class` (`2xx` … `5xx`).
    public static let requests = "devstorage_requests_total"
    /// Histogram: seconds from a request's head to its response head, by `service` and `operation`.
    public static let duration = "devstorage_request_duration_seconds"
    /// Counter: injected faults by `kind` (`fail`, `drop`, `cut`, `latency`) and `operation`.
    public static let faults = "devstorage_faults_injected_total"
    /// Gauge: messages held per queue (`account`, `queue`; visible or not), refreshed at each scrape.
    public static let queueMessages = "devstorage_queue_messages"

    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    /// The registry every devstorage metric is in (`emitToBuffer()` gives the Prometheus text).
    public let registry: PrometheusCollectorRegistry
    /// The queue gauges last set, by `account/queue` (to unregister a deleted queue's).
    private let queueGauges = Mutex<[String: Gauge]>([:])

    /// Creates the metrics in `registry` (a fresh one by default).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Records one answered request.
    func request(service: StorageService, operation: StorageOperation, status: Int, duration: Duration) {
        let service = service.rawValue, operation = operation.rawValue
        registry.makeCounter(
            descriptor: Self.descriptor(Self.requests, "Requests answered by devstorage, by service, operation and status."),
            labels: [("service", service), ("operation", operation), ("status", "\(status)"), ("status_class", "\(status / 100)xx")]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.descriptor(Self.duration, "Seconds from a request's head to its response head, by operation."),
            labels: [("service", service), ("operation", operation)], buckets: Self.durationBuckets
        ).record(duration)
    }

    /// Records the faults injected into one request.
    func injected(_ decision: FaultDecision, operation: StorageOperation) {
        var kinds: [String] = []
        if decision.failureStatus != nil { kinds.append("fail") }
        if decision.dropResponse { kinds.append("drop") }
        if decision.cutAfterBytes != nil { kinds.append("cut") }
        if decision.latencyMilliseconds > 0 { kinds.append("latency") }
        for kind in kinds {
            registry.makeCounter(
                descriptor: Self.descriptor(Self.faults, "Faults devstorage injected, by kind (fail, drop, cut, latency) and operation."),
                labels: [("kind", kind), ("operation", operation.rawValue)]
            ).increment()
        }
    }

    /// Sets the per-queue message gauges; a queue that is gone loses its series.
    func setQueueMessages(_ counts: [(account: String, queue: String, messages: Int)]) {
        let descriptor = Self.descriptor(Self.queueMessages, "Messages held per queue (visible or not), read at scrape time.")
        queueGauges.withLock { gauges in
            var current: [String: Gauge] = [:]
            for (account, queue, messages) in counts {
                let gauge = gauges["\(account)/\(queue)"]
                    ?? registry.makeGauge(descriptor: descriptor, labels: [("account", account), ("queue", queue)])
                gauge.set(Double(messages))
                current["\(account)/\(queue)"] = gauge
            }
            for (key, gauge) in gauges where current[key] == nil { registry.unregisterGauge(gauge) }
            gauges = current
        }
    }

    /// `devstorage_requests_total` → name `devstorage_requests`, unit `total` (the descriptor joins them).
    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        let unit = name.split(separator: "_").last.map(String.init) ?? ""
        return MetricNameDescriptor(metricName: String(name.dropLast(unit.count + 1)), unitName: unit, helpText: help)
    }
}

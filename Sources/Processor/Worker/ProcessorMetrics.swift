import Metrics
import QueueKit

/// The processor's metric names (one place: swift-prometheus traps on a name registered twice
/// with different types).
enum ProcessorMetrics {
    static let jobs = "processor_jobs_total"
    static let stageDuration = "processor_stage_duration_seconds"
    static let inFlight = "processor_jobs_in_flight"
    static let queueDepth = "processor_queue_depth"
    static let poisonedTotal = "processor_poisoned_total"
    /// Counter: jobs given up on (poisoned), by failure `code` (`corrupt`, `unsupported`, `max_deliveries`, …).
    static let failuresTotal = "processor_job_failures_total"
    /// Gauge: seconds the oldest visible job has waited on the job queue (0: none waiting).
    static let oldestJobAge = "processor_queue_oldest_age_seconds"
    /// Gauge: entries on the poison queue.
    static let poisonQueueDepth = "processor_poison_queue_depth"

    static func job(outcome: String, media: String) {
        Counter(label: jobs, dimensions: [("outcome", outcome), ("media", media)]).increment()
    }

    static func stage(_ stage: String, seconds: Double) {
        Metrics.Timer(label: stageDuration, dimensions: [("stage", stage)]).recordSeconds(seconds)
    }

    static func poisoned(code: String) {
        Counter(label: poisonedTotal).increment()
        Counter(label: failuresTotal, dimensions: [("code", code)]).increment()
    }

    /// Exports the unlabelled counters at 0 from the start, so that the first increment is a rise
    /// `increase()` sees (a series that appears at 1 has no rise).
    static func registerCounters() {
        Counter(label: poisonedTotal).increment(by: 0)
        Counter(label: QueueMetrics.leaseLosses).increment(by: 0)
    }

    static func setInFlight(_ count: Int) { Gauge(label: inFlight).record(count) }
    static func setQueueDepth(_ count: Int) { Gauge(label: queueDepth).record(count) }
    static func setOldestJobAge(_ seconds: Double) { Gauge(label: oldestJobAge).record(seconds) }
    static func setPoisonQueueDepth(_ count: Int) { Gauge(label: poisonQueueDepth).record(count) }
}

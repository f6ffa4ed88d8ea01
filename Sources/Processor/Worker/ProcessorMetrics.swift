import Metrics

/// The processor's metric names (one place: swift-prometheus traps on a name registered twice
/// with different types).
enum ProcessorMetrics {
    static let jobs = "processor_jobs_total"
    static let stageDuration = "processor_stage_duration_seconds"
    static let inFlight = "processor_jobs_in_flight"
    static let queueDepth = "processor_queue_depth"
    static let poisonedTotal = "processor_poisoned_total"

    static func job(outcome: String, media: String) {
        Counter(label: jobs, dimensions: [("outcome", outcome), ("media", media)]).increment()
    }

    static func stage(_ stage: String, seconds: Double) {
        Metrics.Timer(label: stageDuration, dimensions: [("stage", stage)]).recordSeconds(seconds)
    }

    static func poisoned() { Counter(label: poisonedTotal).increment() }

    static func setInFlight(_ count: Int) { Gauge(label: inFlight).record(count) }
    static func setQueueDepth(_ count: Int) { Gauge(label: queueDepth).record(count) }
}

import Metrics

/// The uploader's metrics. Names are constants; the Prometheus registry is set up by `App`.
struct UploaderMetrics: Sendable {
    static let uploads = "uploader_uploads_total"
    static let bytes = "uploader_upload_bytes_total"
    static let duration = "uploader_upload_duration_seconds"
    static let inFlight = "uploader_uploads_in_flight"

    private let inFlightGauge = Gauge(label: Self.inFlight)
    private let bytesCounter = Counter(label: Self.bytes)

    func setInFlight(_ count: Int) { inFlightGauge.record(count) }

    /// Records one finished upload request.
    func record(outcome: String, bytes: Int, seconds: Double) {
        Counter(label: Self.uploads, dimensions: [("outcome", outcome)]).increment()
        if bytes > 0 { bytesCounter.increment(by: bytes) }
        Metrics.Timer(label: Self.duration, dimensions: [("outcome", outcome)]).recordSeconds(seconds)
    }
}

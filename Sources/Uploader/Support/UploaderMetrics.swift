import Metrics

/// The uploader's metrics. Names are constants; the Prometheus registry is set up by `App`.
/// Uploads carry a `tenant` label of bounded cardinality: the configured tenants by name, any other
/// (a token's tenant) as `oidc`.
struct UploaderMetrics: Sendable {
    static let uploads = "uploader_uploads_total"
    static let bytes = "uploader_upload_bytes_total"
    static let duration = "uploader_upload_duration_seconds"
    static let inFlight = "uploader_uploads_in_flight"
    static let appends = "uploader_resumable_appends_total"

    private let inFlightGauge = Gauge(label: Self.inFlight)
    /// The tenants named in labels.
    let tenants: Set<String>
    static let otherTenant = "oidc"

    init(tenants: Set<String> = []) { self.tenants = tenants }

    func label(_ tenant: String?) -> String { tenant.map { tenants.contains($0) ? $0 : Self.otherTenant } ?? Self.otherTenant }

    func setInFlight(_ count: Int) { inFlightGauge.record(count) }

    /// Records one finished upload request.
    func record(outcome: String, tenant: String?, bytes: Int, seconds: Double) {
        let tenant = label(tenant)
        Counter(label: Self.uploads, dimensions: [("outcome", outcome), ("tenant", tenant)]).increment()
        if bytes > 0 { Counter(label: Self.bytes, dimensions: [("tenant", tenant)]).increment(by: bytes) }
        Metrics.Timer(label: Self.duration, dimensions: [("outcome", outcome)]).recordSeconds(seconds)
    }

    /// Records one request that sent bytes to a resumable upload (a tus PATCH, the draft's POST or
    /// PATCH): it counts in `uploader_resumable_appends_total` and its bytes in
    /// `uploader_upload_bytes_total`. It counts as an upload in `uploader_uploads_total` only when it
    /// ends one: the append that completes the upload (`accepted`) or one that is refused (its error
    /// code), so an upload sent in twenty pieces is one upload, not twenty. The duration histogram is
    /// left to single-request uploads: one piece's time is not the upload's.
    func recordAppend(outcome: String, tenant: String?, bytes: Int) {
        let tenant = label(tenant)
        Counter(label: Self.appends, dimensions: [("outcome", outcome), ("tenant", tenant)]).increment()
        if bytes > 0 { Counter(label: Self.bytes, dimensions: [("tenant", tenant)]).increment(by: bytes) }
        if outcome != Self.appended { Counter(label: Self.uploads, dimensions: [("outcome", outcome), ("tenant", tenant)]).increment() }
    }

    /// The outcome of an append that took bytes without completing its upload.
    static let appended = "appended"
}

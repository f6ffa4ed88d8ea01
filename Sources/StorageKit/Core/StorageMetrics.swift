/// Metric names StorageKit records, in one place (swift-prometheus traps when one name is
/// registered twice with different types). Every metric carries an `operation` dimension.
public enum StorageMetrics {
    /// Counter: requests that got an answer, by `operation` and `status`.
    public static let requests = "storage_requests_total"
    /// Timer: duration of whole operations (all attempts), by `operation`.
    public static let duration = "storage_request_duration_seconds"
    /// Counter: operations that failed after retries, by `operation` and `code`.
    public static let errors = "storage_errors_total"
    /// Counter: retries, by `operation`.
    public static let retries = "storage_retries_total"
}

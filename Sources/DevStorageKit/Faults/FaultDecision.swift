/// What the fault injector decided for one request.
struct FaultDecision: Sendable {
    /// Answer with this status instead of processing.
    var failureStatus: Int?
    /// `Retry-After` seconds on an injected failure.
    var retryAfterSeconds: Int?
    /// Wait this long first.
    var latencyMilliseconds = 0
    /// Close the connection after this many response body bytes.
    var cutAfterBytes: Int?
    /// Process, then close the connection without answering.
    var dropResponse = false
}

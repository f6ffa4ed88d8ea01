/// The faults devstorage injects. Set them in the configuration or at runtime with
/// `FaultInjector.update(_:)`.
public struct FaultSettings: Sendable, Equatable {
    /// Fraction (0…1) of requests answered with `failureStatus` before they are processed.
    public var failureRate: Double
    /// Status of injected failures: 503 (`ServerBusy`, default) or 500 (`InternalError`).
    public var failureStatus: Int
    /// `Retry-After` seconds sent with injected failures (none when nil).
    public var retryAfterSeconds: Int?
    /// Latency added before every (matching) request is processed.
    public var latencyMilliseconds: Int
    /// Close the connection after this many bytes of a (matching) response body.
    public var cutAfterBytes: Int?
    /// Operations that `failureRate`, `latencyMilliseconds` and `cutAfterBytes` apply to (nil = all).
    public var operations: Set<StorageOperation>?
    /// Containers or queues they apply to (nil = all): a partial outage, e.g. only `rawfiles`.
    public var resources: Set<String>?
    /// Deterministic faults: each rule applies to the next `count` matching requests (the first
    /// matching rule wins; rules are consumed in order).
    public var rules: [FaultRule]

    /// Creates settings; the defaults inject nothing.
    public init(
        failureRate: Double = 0, failureStatus: Int = 503, retryAfterSeconds: Int? = nil, latencyMilliseconds: Int = 0,
        cutAfterBytes: Int? = nil, operations: Set<StorageOperation>? = nil, resources: Set<String>? = nil, rules: [FaultRule] = []
    ) {
        self.resources = resources
        self.failureRate = failureRate
        self.failureStatus = failureStatus
        self.retryAfterSeconds = retryAfterSeconds
        self.latencyMilliseconds = latencyMilliseconds
        self.cutAfterBytes = cutAfterBytes
        self.operations = operations
        self.rules = rules
    }
}

import Synchronization

/// Fault injection for tests, changeable while devstorage runs. Tests get it from
/// `DevStorage.faults` (or TestSupport's `RunningDevStorage.faults`).
public final class FaultInjector: Sendable {
    private struct State {
        var settings: FaultSettings
        var injected = 0
    }

    private let state: Mutex<State>
    /// The emulator's clock (moving time is a test fault too: TTL, visibility).
    public let clock: DevStorageClock

    /// Creates an injector with initial settings and the clock it moves.
    public init(settings: FaultSettings = .init(), clock: DevStorageClock = DevStorageClock()) {
        self.state = Mutex(State(settings: settings))
        self.clock = clock
    }

    /// Moves the emulator's clock forward (or back, with a negative value) by `seconds`.
    public func advanceClock(by seconds: Double) {
        clock.advance(by: seconds)
    }

    /// The current settings.
    public var settings: FaultSettings { state.withLock { $0.settings } }

    /// Replaces the settings.
    public func update(_ settings: FaultSettings) {
        state.withLock { $0.settings = settings }
    }

    /// Changes the settings in place.
    public func update(_ change: (inout FaultSettings) -> Void) {
        state.withLock { change(&$0.settings) }
    }

    /// Fails the next `count` requests matching `operation` and `method` (any when nil) with `status`
    /// (503 `ServerBusy` or 500 `InternalError`).
    public func failNext(_ count: Int, status: Int = 503, operation: StorageOperation? = nil, method: String? = nil) {
        add(FaultRule(count: count, action: .fail(status: status), operation: operation, method: method))
    }

    /// Fails the next `count` requests of the operation named `operation` (Azure's name, e.g.
    /// `"PutBlock"`; see `StorageOperation`) with `status`.
    public func failNext(_ count: Int, operation: String, status: Int = 503) {
        add(FaultRule(count: count, action: .fail(status: status), operation: StorageOperation(rawValue: operation) ?? .unsupported))
    }

    /// Processes the next `count` matching requests but closes their connections instead of
    /// answering (the client sees a lost response after a successful write).
    public func dropNextResponses(_ count: Int, operation: StorageOperation? = nil, method: String? = nil) {
        add(FaultRule(count: count, action: .dropResponse, operation: operation, method: method))
    }

    /// Cuts the responses of the next `count` matching requests after `bytes` body bytes.
    public func cutNextResponses(_ count: Int, afterBytes bytes: Int, operation: StorageOperation? = nil, method: String? = nil) {
        add(FaultRule(count: count, action: .cutResponse(afterBytes: bytes), operation: operation, method: method))
    }

    /// Adds a deterministic rule.
    public func add(_ rule: FaultRule) {
        state.withLock { $0.settings.rules.append(rule) }
    }

    /// Turns every fault off.
    public func reset() {
        state.withLock { $0.settings = FaultSettings() }
    }

    /// How many requests have been failed by injection so far.
    public var injectedFailures: Int { state.withLock { $0.injected } }

    /// Decides what happens to one request (consumes a rule if one matches).
    func decide(operation: StorageOperation, method: String, resource: String? = nil) -> FaultDecision {
        state.withLock { state in
            var decision = FaultDecision()
            let settings = state.settings
            if let index = settings.rules.firstIndex(where: { $0.matches(operation, method: method) }) {
                switch settings.rules[index].action {
                case .fail(let status): decision.failureStatus = status
                case .dropResponse: decision.dropResponse = true
                case .cutResponse(let bytes): decision.cutAfterBytes = bytes
                }
                state.settings.rules[index].count -= 1
                if state.settings.rules[index].count <= 0 { state.settings.rules.remove(at: index) }
            }
            let applies =
                (settings.operations.map { $0.contains(operation) } ?? true)
                && (settings.resources.map { resources in resource.map(resources.contains) ?? false } ?? true)
            if applies {
                if decision.failureStatus == nil, settings.failureRate > 0, Double.random(in: 0..<1) < settings.failureRate {
                    decision.failureStatus = settings.failureStatus
                }
                decision.latencyMilliseconds = settings.latencyMilliseconds
                decision.cutAfterBytes = decision.cutAfterBytes ?? settings.cutAfterBytes
            }
            decision.retryAfterSeconds = settings.retryAfterSeconds
            if decision.failureStatus != nil { state.injected += 1 }
            return decision
        }
    }
}

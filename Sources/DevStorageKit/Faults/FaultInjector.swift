import Foundation
import Synchronization

/// Faults devstorage injects, for tests of retries and timeouts.
public struct FaultSettings: Sendable, Equatable {
    /// Fraction of requests (0…1) answered with `failureStatus`.
    public var failureRate: Double
    /// 500 (`InternalError`) or 503 (`ServerBusy`).
    public var failureStatus: Int
    /// Latency added to every request.
    public var latencyMilliseconds: Int
    /// Response bodies are cut (connection closed) after this many bytes.
    public var cutAfterBytes: Int?

    /// Creates settings.
    public init(failureRate: Double = 0, failureStatus: Int = 503, latencyMilliseconds: Int = 0, cutAfterBytes: Int? = nil) {
        self.failureRate = failureRate
        self.failureStatus = failureStatus
        self.latencyMilliseconds = latencyMilliseconds
        self.cutAfterBytes = cutAfterBytes
    }
}

/// Fault injection and the emulator's clock, changeable while it runs (tests hold a reference).
public final class FaultInjector: Sendable {
    struct State {
        var settings: FaultSettings
        var failNext: [(count: Int, operation: String?, status: Int)] = []
        var clockOffset: TimeInterval = 0
        var injected = 0
    }
    private let state: Mutex<State>

    /// Creates an injector with initial settings.
    public init(settings: FaultSettings = .init()) {
        self.state = Mutex(State(settings: settings))
    }

    /// Replaces the settings.
    public func update(_ settings: FaultSettings) { state.withLock { $0.settings = settings } }

    /// Fails the next `count` requests whose operation matches (any when nil) with `status`.
    public func failNext(_ count: Int, operation: String? = nil, status: Int = 503) {
        state.withLock { $0.failNext.append((count, operation, status)) }
    }

    /// Moves the emulator's clock (for TTL and visibility tests).
    public func advanceClock(by seconds: TimeInterval) { state.withLock { $0.clockOffset += seconds } }

    /// The emulator's current time.
    public var now: Date { Date().addingTimeInterval(state.withLock { $0.clockOffset }) }

    /// Requests failed so far by injection.
    public var injectedFailures: Int { state.withLock { $0.injected } }

    /// The current settings.
    public var settings: FaultSettings { state.withLock { $0.settings } }

    /// Decides whether a request for `operation` fails, and with which status.
    func failure(for operation: String) -> Int? {
        state.withLock { state in
            if let index = state.failNext.firstIndex(where: { $0.operation == nil || $0.operation == operation }) {
                let status = state.failNext[index].status
                state.failNext[index].count -= 1
                if state.failNext[index].count <= 0 { state.failNext.remove(at: index) }
                state.injected += 1
                return status
            }
            if state.settings.failureRate > 0, Double.random(in: 0..<1) < state.settings.failureRate {
                state.injected += 1
                return state.settings.failureStatus
            }
            return nil
        }
    }
}

import Foundation
import Synchronization

/// The emulator's clock: real time plus an offset that tests can move forward (message TTL and
/// visibility, Last-Modified). Authentication (Shared Key date skew, SAS validity) uses real time,
/// because clients sign with their real clocks.
public final class DevStorageClock: Sendable {
    private let offset: Mutex<Double>

    /// Creates a clock with an initial offset in seconds.
    public init(offsetSeconds: Double = 0) {
        self.offset = Mutex(offsetSeconds)
    }

    /// The emulated current time.
    public var now: Date { Date().addingTimeInterval(offset.withLock { $0 }) }

    /// The current offset in seconds.
    public var offsetSeconds: Double {
        get { offset.withLock { $0 } }
    }

    /// Sets the offset in seconds.
    public func setOffset(seconds: Double) {
        offset.withLock { $0 = seconds }
    }

    /// Moves the clock forward (or back, with a negative value).
    public func advance(by seconds: Double) {
        offset.withLock { $0 += seconds }
    }
}

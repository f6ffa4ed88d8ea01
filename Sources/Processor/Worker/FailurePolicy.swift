import Foundation
import MediaKit
import QueueKit
import StorageKit

/// What happens to a job that did not succeed: the one place that maps every error — storage,
/// media, lease, cancellation, a child process's death — to a decision, with the delay.
///
/// - Permanent failures (the file is unsupported, corrupt, over a limit, crashes its decoder; the
///   uploaded file is gone) poison at once.
/// - Transient failures (storage unreachable or busy, a codec's internal error, anything unknown)
///   come back after an exponential backoff with jitter: `firstDelaySeconds` doubling up to
///   `maxDelaySeconds`. They poison only when the job has been delivered `poisonAfterDeliveries`
///   times **and** its first attempt is at least `poisonAfterSeconds` old — a storage outage of
///   minutes or hours never poisons a backlog. When the first attempt's time is unknown (the
///   status document could not be read), a transient failure never poisons.
/// - Cancellation (shutdown past the grace period) releases the message for another worker at once.
/// - A lost lease stops: the message belongs to whoever holds it now.
///
/// Part of the processing profile (`retry`), so operators tune it beside the limits.
struct FailurePolicy: Codable, Sendable, Equatable {
    /// The first backoff after a transient failure, in seconds.
    var firstDelaySeconds = 10
    /// The longest backoff, in seconds (15 minutes).
    var maxDelaySeconds = 900
    /// Transient failures poison only from this delivery on…
    var poisonAfterDeliveries = 8
    /// …and only once the job's first attempt is this old (6 hours).
    var poisonAfterSeconds = 21_600

    init(firstDelaySeconds: Int = 10, maxDelaySeconds: Int = 900, poisonAfterDeliveries: Int = 8, poisonAfterSeconds: Int = 21_600) {
        self.firstDelaySeconds = firstDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
        self.poisonAfterDeliveries = poisonAfterDeliveries
        self.poisonAfterSeconds = poisonAfterSeconds
    }

    enum CodingKeys: String, CodingKey { case firstDelaySeconds, maxDelaySeconds, poisonAfterDeliveries, poisonAfterSeconds }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = FailurePolicy()
        firstDelaySeconds = try c.decodeIfPresent(Int.self, forKey: .firstDelaySeconds) ?? defaults.firstDelaySeconds
        maxDelaySeconds = try c.decodeIfPresent(Int.self, forKey: .maxDelaySeconds) ?? defaults.maxDelaySeconds
        poisonAfterDeliveries = try c.decodeIfPresent(Int.self, forKey: .poisonAfterDeliveries) ?? defaults.poisonAfterDeliveries
        poisonAfterSeconds = try c.decodeIfPresent(Int.self, forKey: .poisonAfterSeconds) ?? defaults.poisonAfterSeconds
        if let problem = problem {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: problem))
        }
    }

    /// Why the values cannot be used, if they cannot.
    var problem: String? {
        if firstDelaySeconds < 0 { return "retry.firstDelaySeconds must be ≥ 0" }
        if maxDelaySeconds < firstDelaySeconds || maxDelaySeconds > 604_800 { return "retry.maxDelaySeconds must be firstDelaySeconds…604800" }
        if poisonAfterDeliveries < 1 { return "retry.poisonAfterDeliveries must be ≥ 1" }
        if poisonAfterSeconds < 0 { return "retry.poisonAfterSeconds must be ≥ 0" }
        return nil
    }

    /// What to do.
    enum Decision: Equatable, Sendable {
        /// Make the message visible again after this many seconds.
        case retry(afterSeconds: Int)
        /// Give up: the status says `failed` with this code and reason, the message goes to poison.
        case poison(code: String, reason: String)
        /// Stopped from outside: make the message visible again now; not a failure of the job.
        case release
        /// The lease is gone: leave the message alone.
        case stop
    }

    /// The decision for `error` on delivery `delivery` (1-based) of a job whose first attempt was
    /// `age` seconds ago (nil: unknown). `jitter` (0.75…1) scales the backoff; tests pin it.
    func decide(_ error: any Error, delivery: Int, age: TimeInterval?, jitter: Double = .random(in: 0.75...1)) -> Decision {
        switch error {
        case is LeaseLostError:
            return .stop
        case is CancellationError:
            return .release
        case let error as MediaError where error.code == .cancelled:
            return .release
        case let error as MediaError where error.isPermanent:
            return .poison(code: error.code.rawValue, reason: error.reason)
        case let error as PermanentJobFailure:
            return .poison(code: error.code, reason: error.reason)
        default:
            if gaveUp(delivery: delivery, age: age) {
                let hours = (age ?? 0) / 3600
                return .poison(
                    code: "transient",
                    reason: "gave up after \(delivery) attempts over \(String(format: "%.1f", hours)) h: \(Self.describe(error))")
            }
            return .retry(afterSeconds: delay(beforeDelivery: delivery + 1, jitter: jitter))
        }
    }

    /// True when a job delivered `delivery` times, first tried `age` seconds ago, has had its
    /// chances: the transient-failure rule, also applied to a message that keeps coming back
    /// without ever finishing (a worker that dies on it).
    func gaveUp(delivery: Int, age: TimeInterval?) -> Bool {
        guard let age else { return false }
        return delivery >= poisonAfterDeliveries && age >= TimeInterval(poisonAfterSeconds)
    }

    /// The backoff before delivery `next` (≥ 2): `firstDelaySeconds · 2^(next−2)`, at most
    /// `maxDelaySeconds`, times `jitter`.
    func delay(beforeDelivery next: Int, jitter: Double) -> Int {
        let doublings = min(max(next - 2, 0), 30)
        let nominal = min(Double(maxDelaySeconds), Double(firstDelaySeconds) * Double(1 << doublings))
        return max(0, Int((nominal * min(1, max(0, jitter))).rounded()))
    }

    /// A failure's text for the status document.
    static func describe(_ error: any Error) -> String {
        (error as? MediaError)?.reason ?? "\(error)"
    }
}

/// A job that can never succeed for a reason outside the media: the uploaded file is gone, or is
/// not the file that was uploaded.
struct PermanentJobFailure: Error, Sendable, CustomStringConvertible {
    /// The stable code in the status document (`input_missing`, …).
    let code: String
    let reason: String
    var description: String { "\(code): \(reason)" }
}

import Foundation
import Logging
import Metrics
import StorageKit
import Synchronization

/// A received message held invisible while work runs.
///
/// The lease knows how long it surely holds the message: until the start of the last successful
/// receive or renewal plus the visibility timeout (the service counts from when it handled the
/// request, which is later). Renewals start at half of that and have their own deadline, ending
/// `margin` before the held time runs out, so a renewal still retrying never overlaps another
/// worker's lease.
///
/// Ambiguous outcomes (the request may have been carried out, but no answer arrived) are settled
/// by what can be known: a retried Update Message that meets a stale receipt inside the held time
/// met its own earlier success — the message is still ours, only its new receipt is unknown, so
/// the work goes on until the held time ends; a retried Delete Message that finds no message had
/// deleted it.
public final class MessageLease: Sendable {
    /// The queue.
    public let queue: String
    /// The message id.
    public let messageID: String
    /// The visibility timeout each renewal asks for, in seconds.
    public let visibilityTimeout: Int
    let client: QueueClient
    let logger: Logger

    struct State {
        /// The newest pop receipt; nil once an unanswered update replaced it with one we never saw.
        var receipt: String?
        /// Until when the message is surely invisible to others.
        var heldUntil: ContinuousClock.Instant
        var renewals = 0
        /// A renewal request is on the wire: its answer carries the newest receipt.
        var renewing = false
        /// `complete()` or `release(after:)` has begun: no further renewals.
        var finishing = false
    }

    let state: Mutex<State>

    init(client: QueueClient, queue: String, message: QueueMessage, visibilityTimeout: Int, receivedAt: ContinuousClock.Instant, logger: Logger) {
        self.client = client
        self.queue = queue
        self.messageID = message.id
        self.visibilityTimeout = visibilityTimeout
        self.logger = logger
        self.state = Mutex(State(receipt: message.popReceipt, heldUntil: receivedAt + .seconds(visibilityTimeout)))
    }

    /// How long before the held time runs out a renewal must have ended: a tenth of the visibility
    /// timeout, at least 1 s, at most a quarter (renewals start half-way).
    public var margin: Duration { min(max(.seconds(1), .seconds(visibilityTimeout) / 10), .seconds(visibilityTimeout) / 4) }

    /// True once the work has completed or released the message.
    var isFinishing: Bool { state.withLock { $0.finishing } }

    /// The newest pop receipt (nil once it was lost to an unanswered renewal).
    public var popReceipt: String? { state.withLock { $0.receipt } }
    /// Successful renewals so far.
    public var renewals: Int { state.withLock { $0.renewals } }
    /// Until when the message is surely invisible to other workers.
    public var heldUntil: ContinuousClock.Instant { state.withLock { $0.heldUntil } }
    /// False once a renewal's answer was lost: the message is still ours until `heldUntil`, but it
    /// can be neither renewed, deleted nor released (it comes back when the held time ends).
    public var isRenewable: Bool { state.withLock { $0.receipt != nil } }

    /// Extends the visibility once, with the newest receipt, within a deadline that ends `margin`
    /// before the held time. Does nothing once the work is finishing or the receipt was lost.
    /// Throws `StorageError` (stale receipt or no message: `isLeaseLost`; or the deadline passed).
    public func renew() async throws {
        let start = ContinuousClock.now
        let current: (receipt: String, limit: Duration)? = state.withLock {
            guard !$0.finishing, let receipt = $0.receipt else { return nil }
            $0.renewing = true
            return (receipt, $0.heldUntil - margin - start)
        }
        guard let current else { return }
        defer { state.withLock { $0.renewing = false } }
        guard current.limit > .zero else {
            throw StorageError(.timeout, message: "no time left to renew inside the visibility held", operation: "UpdateMessage")
        }
        do {
            let (newReceipt, _) = try await client.update(
                queue, messageID: messageID, popReceipt: current.receipt, visibilityTimeout: visibilityTimeout, timeLimit: current.limit)
            state.withLock {
                $0.receipt = newReceipt
                $0.renewals += 1
                $0.heldUntil = start + .seconds(visibilityTimeout)
            }
            Counter(label: QueueMetrics.leaseRenewals).increment()
        } catch let error as StorageError where error.code == .popReceiptMismatch && error.afterUncertainAttempt {
            // Inside the held time nobody else can have received the message: the stale receipt is
            // the one our own unanswered attempt replaced. Still ours until start + visibility.
            state.withLock {
                $0.receipt = nil
                $0.heldUntil = start + .seconds(visibilityTimeout)
            }
            Counter(label: QueueMetrics.leaseReceiptsLost).increment()
            logger.warning(
                "a lease renewal was carried out but its answer was lost; the message stays held until its visibility ends",
                metadata: ["queue.message_id": "\(messageID)", "queue.error": "\(error)"])
        }
    }

    /// Stops renewals and waits for one on the wire, so the next call uses the newest receipt
    /// (a delete racing a renewal would otherwise carry a receipt the renewal just replaced).
    private func finish() async -> String? {
        while true {
            let receipt: String?? = state.withLock {
                $0.finishing = true
                return $0.renewing ? nil : .some($0.receipt)
            }
            if let receipt { return receipt }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Deletes the message (the work is done). A message whose receipt was lost cannot be deleted:
    /// it comes back after the held time, and whoever receives it finds the work done.
    public func complete() async throws {
        guard let receipt = await finish() else {
            logger.info("the message's receipt was lost; it returns after its visibility and is deleted as done", metadata: ["queue.message_id": "\(messageID)"])
            return
        }
        do {
            try await client.delete(queue, messageID: messageID, popReceipt: receipt)
        } catch let error as StorageError where error.code == .messageNotFound && error.afterUncertainAttempt {
            // An earlier attempt deleted it; its answer was lost.
            logger.debug("delete retried after a lost answer found the message gone", metadata: ["queue.message_id": "\(messageID)"])
        }
    }

    /// Makes the message visible again after `seconds` (0 = now), for another attempt. A message
    /// whose receipt was lost comes back when the held time ends instead.
    public func release(after seconds: Int = 0) async throws {
        guard let receipt = await finish() else { return }
        do {
            let (newReceipt, _) = try await client.update(queue, messageID: messageID, popReceipt: receipt, visibilityTimeout: seconds)
            state.withLock { $0.receipt = newReceipt }
        } catch let error as StorageError where error.code == .popReceiptMismatch && error.afterUncertainAttempt {
            state.withLock { $0.receipt = nil }  // released by the unanswered attempt
        }
    }

    /// When the renewal loop acts next: half-way through the held time, or — while the receipt is
    /// lost — when the held time is about to end.
    var nextRenewal: ContinuousClock.Instant {
        state.withLock {
            $0.receipt == nil ? $0.heldUntil - margin : $0.heldUntil - .seconds(visibilityTimeout) / 2
        }
    }
}

/// The lease on a message was lost (its receipt went stale, the message vanished, or renewals
/// failed until the visibility timeout ran out): another worker may own it now, so stop.
public struct LeaseLostError: Error, Sendable, CustomStringConvertible {
    /// The message id.
    public let messageID: String
    /// Why.
    public let reason: String
    public var description: String { "lease on message \(messageID) lost: \(reason)" }

    /// Creates the error.
    public init(messageID: String, reason: String) {
        self.messageID = messageID
        self.reason = reason
    }
}

extension QueueClient {
    /// Runs `body` while holding `message` invisible: renews its visibility half-way through each
    /// held period with the newest pop receipt, retrying a failed renewal every second or two until
    /// `margin` before the held time ends. If the lease is lost, `body` is cancelled and
    /// `LeaseLostError` is thrown. The body gets the lease to `complete()` or `release(after:)` the
    /// message when it is done.
    ///
    /// - Parameter receivedAt: when the receive request that returned `message` was sent (the held
    ///   time counts from it); now, when not given.
    public func withLease<T: Sendable>(
        _ message: QueueMessage, in queue: String, visibilityTimeout: Int, receivedAt: ContinuousClock.Instant = .now,
        logger: Logger = Logger(label: "QueueKit.Lease"), body: @escaping @Sendable (MessageLease) async throws -> T
    ) async throws -> T {
        let lease = MessageLease(client: self, queue: queue, message: message, visibilityTimeout: visibilityTimeout, receivedAt: receivedAt, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body(lease) }
            group.addTask { try await Self.keepRenewing(lease, logger: logger) }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
            }
            throw CancellationError()
        }
    }

    /// The renewal loop of one lease; returns nil when the work finished, throws `LeaseLostError`.
    private static func keepRenewing<T>(_ lease: MessageLease, logger: Logger) async throws -> T? {
        var failures = 0
        var next = lease.nextRenewal
        while true {
            do {
                try await Task.sleep(until: next)
            } catch {
                return nil
            }
            if lease.isFinishing { return nil }
            guard lease.isRenewable else {
                Counter(label: QueueMetrics.leaseLosses).increment()
                throw LeaseLostError(messageID: lease.messageID, reason: "a renewal's answer was lost and the visibility it bought is ending")
            }
            do {
                try await lease.renew()
                failures = 0
                next = lease.nextRenewal
            } catch let error as StorageError where error.isLeaseLost {
                if lease.isFinishing { return nil }
                Counter(label: QueueMetrics.leaseLosses).increment()
                logger.warning("lease lost", metadata: ["queue.message_id": "\(lease.messageID)", "queue.error": "\(error)"])
                throw LeaseLostError(messageID: lease.messageID, reason: "\(error.code)")
            } catch is CancellationError {
                return nil
            } catch {
                if lease.isFinishing { return nil }
                failures += 1
                let retryAt = ContinuousClock.now + .milliseconds(min(500 << min(failures, 4), 5_000))
                if retryAt >= lease.heldUntil - lease.margin {
                    Counter(label: QueueMetrics.leaseLosses).increment()
                    logger.warning("lease renewals failed until the visibility ran out", metadata: ["queue.message_id": "\(lease.messageID)", "queue.error": "\(error)"])
                    throw LeaseLostError(messageID: lease.messageID, reason: "renewals failed until the visibility ran out: \(error)")
                }
                logger.info("lease renewal failed; retrying", metadata: ["queue.message_id": "\(lease.messageID)", "queue.error": "\(error)"])
                next = retryAt
            }
        }
    }
}

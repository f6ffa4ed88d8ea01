import Foundation
import Logging
import Metrics
import StorageKit
import Synchronization

/// A received message held invisible while work runs. Renewed at half the visibility timeout
/// with the newest pop receipt; `complete()` deletes it and `release(after:)` hands it back.
public final class MessageLease: Sendable {
    /// The queue.
    public let queue: String
    /// The message id.
    public let messageID: String
    /// The visibility timeout each renewal asks for, in seconds.
    public let visibilityTimeout: Int
    let client: QueueClient
    struct State {
        var receipt: String
        var renewals = 0
        var lastRenewal = ContinuousClock.now
        /// A renewal request is on the wire: its answer carries the newest receipt.
        var renewing = false
        /// `complete()` or `release(after:)` has begun: no further renewals.
        var finishing = false
    }

    let state: Mutex<State>

    init(client: QueueClient, queue: String, message: QueueMessage, visibilityTimeout: Int) {
        self.client = client
        self.queue = queue
        self.messageID = message.id
        self.visibilityTimeout = visibilityTimeout
        self.state = Mutex(State(receipt: message.popReceipt))
    }

    /// True once the work has completed or released the message.
    var isFinishing: Bool { state.withLock { $0.finishing } }

    /// The newest pop receipt.
    public var popReceipt: String { state.withLock { $0.receipt } }
    /// Successful renewals so far.
    public var renewals: Int { state.withLock { $0.renewals } }

    /// Extends the visibility once, with the newest receipt. Does nothing once the work is finishing.
    public func renew() async throws {
        let receipt: String? = state.withLock {
            guard !$0.finishing else { return nil }
            $0.renewing = true
            return $0.receipt
        }
        guard let receipt else { return }
        do {
            let (newReceipt, _) = try await client.update(queue, messageID: messageID, popReceipt: receipt, visibilityTimeout: visibilityTimeout)
            state.withLock {
                $0.receipt = newReceipt
                $0.renewals += 1
                $0.lastRenewal = .now
                $0.renewing = false
            }
        } catch {
            state.withLock { $0.renewing = false }
            throw error
        }
        Counter(label: QueueMetrics.leaseRenewals).increment()
    }

    /// Stops renewals and waits for one on the wire, so the next call uses the newest receipt
    /// (a delete racing a renewal would otherwise carry a receipt the renewal just replaced).
    private func finish() async -> String {
        while true {
            let receipt: String? = state.withLock {
                $0.finishing = true
                return $0.renewing ? nil : $0.receipt
            }
            if let receipt { return receipt }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Deletes the message (the work is done).
    public func complete() async throws {
        try await client.delete(queue, messageID: messageID, popReceipt: await finish())
    }

    /// Makes the message visible again after `seconds` (0 = now), for another attempt.
    public func release(after seconds: Int = 0) async throws {
        let (receipt, _) = try await client.update(queue, messageID: messageID, popReceipt: await finish(), visibilityTimeout: seconds)
        state.withLock { $0.receipt = receipt }
    }

    var sinceLastRenewal: Duration { ContinuousClock.now - state.withLock { $0.lastRenewal } }
}

/// The lease on a message was lost (its receipt went stale, the message vanished, or renewals
/// failed until the visibility timeout ran out): another worker may own it now, so stop.
public struct LeaseLostError: Error, Sendable, CustomStringConvertible {
    /// The message.
    public let messageID: String
    /// Why.
    public let reason: String
    public var description: String { "lease on message \(messageID) lost: \(reason)" }
}

extension QueueClient {
    /// Runs `body` while holding `message` invisible: renews its visibility every
    /// `visibilityTimeout / 2` seconds with the newest pop receipt. If the lease is lost, `body`
    /// is cancelled and `LeaseLostError` is thrown. The body gets the lease to `complete()` or
    /// `release(after:)` the message when it is done.
    public func withLease<T: Sendable>(
        _ message: QueueMessage, in queue: String, visibilityTimeout: Int,
        logger: Logger = Logger(label: "QueueKit.Lease"), body: @escaping @Sendable (MessageLease) async throws -> T
    ) async throws -> T {
        let lease = MessageLease(client: self, queue: queue, message: message, visibilityTimeout: visibilityTimeout)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body(lease) }
            group.addTask {
                let interval = Duration.milliseconds(visibilityTimeout * 500)
                while true {
                    try await Task.sleep(for: interval)
                    if lease.isFinishing { return nil }
                    do {
                        try await lease.renew()
                    } catch let error as StorageError where error.isLeaseLost {
                        if lease.isFinishing { return nil }
                        Counter(label: QueueMetrics.leaseLosses).increment()
                        logger.warning("lease lost", metadata: ["queue.message_id": "\(message.id)", "queue.error": "\(error)"])
                        throw LeaseLostError(messageID: message.id, reason: "\(error.code)")
                    } catch is CancellationError {
                        return nil
                    } catch {
                        // Transient failures were retried by the execute core; keep trying until the
                        // message could have become visible to others.
                        if lease.sinceLastRenewal >= .seconds(visibilityTimeout) {
                            Counter(label: QueueMetrics.leaseLosses).increment()
                            throw LeaseLostError(messageID: message.id, reason: "renewals failed past the visibility timeout: \(error)")
                        }
                        logger.info("lease renewal failed; retrying", metadata: ["queue.message_id": "\(message.id)", "queue.error": "\(error)"])
                    }
                }
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
            }
            throw CancellationError()
        }
    }
}

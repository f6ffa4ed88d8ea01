import Foundation
import QueueKit
import ServiceLifecycle

/// Samples what the queues hold into gauges every `interval` (the alert rules in
/// `deploy/monitoring/` read them):
/// - `processor_queue_depth`: the job queue's approximate message count (visible or not);
/// - `processor_queue_oldest_age_seconds`: how long the oldest visible job has waited, from a peek
///   (0 when none is visible; jobs held by a worker or waiting out a retry delay are invisible, so
///   this is the wait of work nobody has picked up);
/// - `processor_poison_queue_depth`: entries waiting for an operator on the poison queue.
/// A failed storage call leaves a gauge at its last value; the storage error metrics tell why.
struct QueueBacklogSampler: Service {
    let queues: QueueClient
    let queue: String
    let poisonQueue: String
    var interval = Duration.seconds(5)

    func run() async throws {
        ProcessorMetrics.registerCounters()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await sample()
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One sample of each gauge.
    func sample(now: Date = Date()) async {
        if let count = try? await queues.approximateMessageCount(queue) { ProcessorMetrics.setQueueDepth(count) }
        if let oldest = try? await queues.peek(queue, count: 1) { ProcessorMetrics.setOldestJobAge(Self.age(of: oldest, now: now)) }
        if let count = try? await queues.approximateMessageCount(poisonQueue) { ProcessorMetrics.setPoisonQueueDepth(count) }
    }

    /// Seconds the oldest of `messages` has waited (0 for none; a clock behind the service's counts as 0).
    static func age(of messages: [PeekedMessage], now: Date) -> Double {
        let oldest = messages.compactMap(\.insertionTime).min()
        return oldest.map { max(0, now.timeIntervalSince($0)) } ?? 0
    }
}

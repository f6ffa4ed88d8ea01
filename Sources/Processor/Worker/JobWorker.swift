import Logging
import QueueKit
import ServiceLifecycle
import Synchronization

/// The poll loop (after swift-jobs' `JobQueueProcessor`): receives as many messages as there are
/// free slots (up to 32 per call), runs each in a child task, and polls again straight away while
/// messages come, backing off to `pollMaxInterval` when the queue is empty. On graceful shutdown
/// it stops receiving; running jobs go on until the service group's grace period ends, then they
/// are cancelled and release their messages.
struct JobWorker: Service {
    let queues: QueueClient
    let handler: JobHandler
    let configuration: ProcessorConfiguration
    let logger: Logger
    /// Signalled when every job has ended (and released its message, if it was stopped).
    var drained = DrainSignal()

    func run() async throws {
        defer { drained.signal() }
        let inFlight = InFlightCounter()
        let (slotFreed, signalSlot) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        var slots = slotFreed.makeAsyncIterator()
        logger.info("processor polling", metadata: ["queue": "\(handler.names.queue)", "concurrency": "\(configuration.concurrency)"])
        await withDiscardingTaskGroup { group in
            var idle = Duration.zero
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                let free = configuration.concurrency - inFlight.count
                if free <= 0 {
                    _ = await slots.next(isolation: #isolation)
                    continue
                }
                let messages: [QueueMessage]
                let receivedAt = ContinuousClock.now  // the leases' held time counts from the request
                do {
                    messages = try await queues.receive(
                        handler.names.queue, count: min(32, free), visibilityTimeout: configuration.visibilityTimeout)
                } catch {
                    if Task.isCancelled || Task.isShuttingDownGracefully { break }
                    logger.warning("receiving failed", metadata: ["error": "\(error)"])
                    messages = []
                }
                if messages.isEmpty {
                    // Back off while the queue is empty: 50 ms, doubling, up to the maximum.
                    idle = idle == .zero ? .milliseconds(50) : min(idle * 2, configuration.pollMaxInterval)
                    let wait = idle
                    _ = try? await cancelOnGracefulShutdown { try await Task.sleep(for: wait) }
                    continue
                }
                idle = .zero
                for message in messages {
                    ProcessorMetrics.setInFlight(inFlight.add(1))
                    let handler = self.handler
                    let logger = self.logger
                    group.addTask {
                        _ = await handler.handle(message, receivedAt: receivedAt, logger: logger)
                        ProcessorMetrics.setInFlight(inFlight.add(-1))
                        signalSlot.yield()
                    }
                }
            }
            logger.info("processor stopped receiving; letting running jobs finish", metadata: ["running": "\(inFlight.count)"])
        }
        signalSlot.finish()
        logger.info("processor stopped")
    }
}

/// A one-shot signal that ignores cancellation: the storage client's shutdown waits on it, so the
/// messages of stopped jobs are released before the client goes away.
final class DrainSignal: Sendable {
    private let state = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func signal() {
        let waiters = state.withLock { state in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if !state.done { state.waiters.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }
}

/// Jobs running now (shared by the poll loop and the job tasks).
final class InFlightCounter: Sendable {
    private let value = Atomic<Int>(0)
    var count: Int { value.load(ordering: .acquiring) }
    /// Adds `delta`; returns the new count.
    func add(_ delta: Int) -> Int { value.add(delta, ordering: .acquiringAndReleasing).newValue }
}

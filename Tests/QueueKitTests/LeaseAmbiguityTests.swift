import DevStorageKit
import Foundation
import QueueKit
import StorageKit
import Synchronization
import TestSupport
import Testing

/// Lease semantics when an answer is lost (devstorage's `drop` fault: the request is carried out,
/// then the connection closes without an answer) or late.
@Suite("Lease renewal and completion under lost and late answers")
struct LeaseAmbiguityTests {
    /// A queue `work` holding one message, received with `visibility` seconds.
    static func received(_ devstorage: RunningDevStorage, visibility: Int) async throws -> (QueueClient, QueueMessage) {
        let queues = QueueClient(account: devstorage.account, retryPolicy: .fast)
        try await queues.createQueue("work")
        try await queues.send("work", text: "job")
        return (queues, try #require(try await queues.receive("work", visibilityTimeout: visibility).first))
    }

    // Visibility timeouts of 20–30 s: renewals start half-way, so a CI machine that delays a task by
    // several seconds still renews inside the held time (the tests wait on events, not on time).

    @Test("a renewal whose answer is lost never cancels work while the message is still held")
    func lostRenewalAnswer() async throws {
        try await withDevStorage { devstorage in
            let start = ContinuousClock.now
            let (queues, message) = try await Self.received(devstorage, visibility: 20)
            // The first renewal (at 10 s) is carried out but its answer never arrives; the retry
            // meets a stale receipt — its own earlier success.
            devstorage.faults.dropNextResponses(1, operation: .updateMessage)
            let stolen = Atomic<Int>(0)
            let renewable = try await queues.withLease(message, in: "work", visibilityTimeout: 20, receivedAt: start) { lease in
                // Work on, while another worker polls, until that renewal has happened.
                while lease.isRenewable, ContinuousClock.now < start + .seconds(60) {
                    stolen.add(try await queues.receive("work", visibilityTimeout: 60).count, ordering: .relaxed)
                    try await Task.sleep(for: .milliseconds(200))
                }
                try await lease.complete()  // cannot delete without the receipt: the message returns
                return lease.isRenewable
            }
            #expect(renewable == false)
            #expect(stolen.load(ordering: .relaxed) == 0)
            // The renewal was carried out: the message is invisible until its visibility ends, then
            // back for whoever finds the job done.
            #expect(try await queues.receive("work").isEmpty)
            devstorage.faults.advanceClock(by: 25)
            let again = try #require(try await queues.receive("work").first)
            #expect(again.id == message.id && again.dequeueCount == 2)
        }
    }

    @Test("after a lost renewal answer the work stops when the visibility it bought ends")
    func lostRenewalThenEnd() async throws {
        try await withDevStorage { devstorage in
            let start = ContinuousClock.now
            // 20 s, as above: with 12 s a loaded machine once delayed the renewal (due at 6 s) past
            // the margin, and the lease was given up for lateness before the answer could be lost.
            let (queues, message) = try await Self.received(devstorage, visibility: 20)
            devstorage.faults.dropNextResponses(1, operation: .updateMessage)
            let error = await #expect(throws: LeaseLostError.self) {
                try await queues.withLease(message, in: "work", visibilityTimeout: 20, receivedAt: start) { _ in
                    try await Task.sleep(for: .seconds(120))
                }
            }
            #expect(error?.reason.contains("answer was lost") == true)
            // Stopped a margin before the held time (renewal at ~10 s + 20 s) ran out, not at 120 s.
            #expect(ContinuousClock.now - start < .seconds(60))
        }
    }

    @Test("a delete whose answer is lost counts as deleted")
    func lostDeleteAnswer() async throws {
        try await withDevStorage { devstorage in
            let (queues, message) = try await Self.received(devstorage, visibility: 30)
            devstorage.faults.dropNextResponses(1, operation: .deleteMessage)
            try await queues.withLease(message, in: "work", visibilityTimeout: 30) { lease in
                try await lease.complete()
            }
            #expect(try await queues.approximateMessageCount("work") == 0)
            #expect(devstorage.faults.settings.rules.isEmpty)  // the drop did happen
        }
    }

    @Test("a release whose answer is lost counts as released")
    func lostReleaseAnswer() async throws {
        try await withDevStorage { devstorage in
            let (queues, message) = try await Self.received(devstorage, visibility: 30)
            devstorage.faults.dropNextResponses(1, operation: .updateMessage)
            try await queues.withLease(message, in: "work", visibilityTimeout: 30) { lease in
                try await lease.release(after: 0)
            }
            #expect(try await queues.receive("work").first?.id == message.id)
        }
    }

    @Test("a renewal that cannot end inside the held time gives the lease up before others can receive the message")
    func lateRenewal() async throws {
        try await withDevStorage { devstorage in
            let start = ContinuousClock.now
            let (queues, message) = try await Self.received(devstorage, visibility: 20)
            // Every Update Message now takes 25 s to be answered: the renewal at 10 s cannot end
            // inside the 2 s margin before the held time (20 s) runs out.
            devstorage.faults.update { $0.latencyMilliseconds = 25_000; $0.operations = [.updateMessage] }
            let stolen = Atomic<Int>(0)
            await #expect(throws: LeaseLostError.self) {
                try await queues.withLease(message, in: "work", visibilityTimeout: 20, receivedAt: start) { _ in
                    // Another worker polls while this one works, until the lease is given up (or
                    // for 40 s: a lease that outlives its visibility ends the body normally).
                    while ContinuousClock.now < start + .seconds(40) {
                        stolen.add(try await queues.receive("work", visibilityTimeout: 60).count, ordering: .relaxed)
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
            }
            #expect(stolen.load(ordering: .relaxed) == 0)
            devstorage.faults.reset()
        }
    }
}

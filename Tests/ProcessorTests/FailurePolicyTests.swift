import Foundation
import MediaKit
import QueueKit
import StorageKit
import Testing

@testable import Processor

@Suite("The failure policy: one decision for every error")
struct FailurePolicyTests {
    let policy = FailurePolicy()
    let hour: TimeInterval = 3600

    @Test("defaults: 10 s doubling to 15 min; poison after 8 deliveries and 6 hours")
    func defaults() {
        #expect(policy.firstDelaySeconds == 10 && policy.maxDelaySeconds == 900)
        #expect(policy.poisonAfterDeliveries == 8 && policy.poisonAfterSeconds == 21_600)
        #expect(ProcessingProfile().retry == policy)
    }

    @Test("transient failures back off exponentially with jitter, capped")
    func backoff() {
        let transient = StorageError(.serverBusy, status: 503)
        let delays = (1...10).map { delivery -> Int in
            guard case .retry(let seconds) = policy.decide(transient, delivery: delivery, age: 60, jitter: 1) else { return -1 }
            return seconds
        }
        #expect(delays == [10, 20, 40, 80, 160, 320, 640, 900, 900, 900])
        // Jitter only ever shortens, and by at most a quarter.
        for _ in 0..<200 {
            guard case .retry(let seconds) = policy.decide(transient, delivery: 3, age: 60) else { Issue.record("not a retry"); return }
            #expect((30...40).contains(seconds))
        }
    }

    @Test("a transient failure poisons only with both enough deliveries and enough age")
    func poisonNeedsBoth() {
        let transient = StorageError(.transport, message: "connection refused")
        // A 3-minute outage at delivery 20: retried.
        #expect(policy.decide(transient, delivery: 20, age: 180, jitter: 1) == .retry(afterSeconds: 900))
        // Seven hours old but only the 7th delivery: retried.
        #expect(policy.decide(transient, delivery: 7, age: 7 * hour, jitter: 1) == .retry(afterSeconds: 640))
        // Unknown age (the status document was never readable): never poisoned.
        #expect(policy.decide(transient, delivery: 500, age: nil, jitter: 1) == .retry(afterSeconds: 900))
        // Both: poisoned, with the reason.
        guard case .poison(let code, let reason) = policy.decide(transient, delivery: 8, age: 6 * hour) else {
            Issue.record("not poisoned")
            return
        }
        #expect(code == "transient")
        #expect(reason.hasPrefix("gave up after 8 attempts over 6.0 h:"))
        #expect(reason.contains("connection refused"))
    }

    @Test("permanent media failures and a missing input poison at once")
    func permanent() {
        for code in [MediaError.Code.unsupported, .corrupt, .limit, .crashed] {
            #expect(policy.decide(MediaError(code, "why"), delivery: 1, age: 0) == .poison(code: code.rawValue, reason: "why"))
        }
        #expect(
            policy.decide(PermanentJobFailure(code: "input_missing", reason: "gone"), delivery: 1, age: nil)
                == .poison(code: "input_missing", reason: "gone"))
        // A codec's internal failure is not the file's fault: retried.
        #expect(policy.decide(MediaError(.internal, "the fork server is gone"), delivery: 1, age: 0, jitter: 1) == .retry(afterSeconds: 10))
    }

    @Test("cancellation releases; a lost lease stops")
    func cancellationAndLease() {
        #expect(policy.decide(CancellationError(), delivery: 8, age: 7 * hour) == .release)
        #expect(policy.decide(MediaError(.cancelled, "stopped"), delivery: 8, age: 7 * hour) == .release)
        #expect(policy.decide(LeaseLostError(messageID: "m", reason: "PopReceiptMismatch"), delivery: 8, age: 7 * hour) == .stop)
    }

    @Test("the quarantine of a message that never answers uses the same rule")
    func quarantine() {
        #expect(!policy.gaveUp(delivery: 8, age: 60))
        #expect(!policy.gaveUp(delivery: 7, age: 7 * hour))
        #expect(policy.gaveUp(delivery: 8, age: 6 * hour))
        #expect(!policy.gaveUp(delivery: 100, age: nil))
    }

    @Test("the profile's retry section: defaults for missing keys, refusals for nonsense")
    func profileKeys() throws {
        let partial = try JSONDecoder().decode(ProcessingProfile.self, from: Data(#"{"retry": {"poisonAfterDeliveries": 3}}"#.utf8))
        #expect(partial.retry == FailurePolicy(poisonAfterDeliveries: 3))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ProcessingProfile.self, from: Data(#"{"retry": {"firstDelaySeconds": 60, "maxDelaySeconds": 30}}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ProcessingProfile.self, from: Data(#"{"retry": {"poisonAfterDeliveries": 0}}"#.utf8))
        }
    }
}

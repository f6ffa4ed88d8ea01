import Foundation
@testable import QueueKit
import Testing

@testable import Processor

@Suite("What the processor tells operators: traceparent for webhooks, the oldest job's age")
struct ObservabilityTests {
    @Test("traceparent continues the job's trace id with a new span id, sampled")
    func traceparent() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736"
        #expect(Traceparent.header(traceId: id, spanId: 0xab) == "00-\(id)-00000000000000ab-01")
        #expect(Traceparent.header(traceId: id, spanId: .max) == "00-\(id)-ffffffffffffffff-01")
        let random = Traceparent.header(traceId: id)
        #expect(random?.hasPrefix("00-\(id)-") == true && random?.count == 55)
    }

    @Test("no traceparent for an id the W3C rules forbid", arguments: [
        "", "4bf92f3577b34da6a3ce929d0e0e473", "4bf92f3577b34da6a3ce929d0e0e47366", "4BF92F3577B34DA6A3CE929D0E0E4736",
        "4bf92f3577b34da6a3ce929d0e0e473g", String(repeating: "0", count: 32), "trace-1",
    ])
    func refusesInvalidTraceIds(id: String) {
        #expect(Traceparent.header(traceId: id) == nil)
    }

    @Test("the oldest visible message's age; 0 when none is visible or the clocks disagree")
    func oldestAge() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        func message(_ secondsAgo: Double?) -> PeekedMessage {
            PeekedMessage(id: "m", text: "", dequeueCount: 0, insertionTime: secondsAgo.map { now.addingTimeInterval(-$0) }, expirationTime: nil)
        }
        #expect(QueueBacklogSampler.age(of: [], now: now) == 0)
        #expect(QueueBacklogSampler.age(of: [message(90)], now: now) == 90)
        #expect(QueueBacklogSampler.age(of: [message(5), message(700), message(nil)], now: now) == 700)
        #expect(QueueBacklogSampler.age(of: [message(-3)], now: now) == 0)
    }
}

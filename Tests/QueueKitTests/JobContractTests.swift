import Foundation
import QueueKit
import Testing

@Suite("Job contract")
struct JobContractTests {
    let input = BlobReference(container: "rawfiles", blob: "2026/11/23/abc.jpg", bytes: 123_456, mediaType: "image/jpeg", md5: "XrY7u+Ae7tCTyyK7j1rNww==")

    @Test("MediaJob round-trips through base64 message text, dates included")
    func mediaJobRoundTrip() throws {
        let job = MediaJob(jobId: "6f1c2d34-0000-4000-8000-000000000001", input: input, originalName: "holiday.jpg", submittedAt: Date(timeIntervalSince1970: 1_763_880_000.123), traceId: "trace-1")
        let text = try job.messageText()
        #expect(Data(base64Encoded: text) != nil)
        let decoded = try MediaJob.decode(messageText: text)
        #expect(decoded == job)
        #expect(abs(decoded.submittedAt.timeIntervalSince1970 - 1_763_880_000.123) < 0.001)
    }

    @Test("plain JSON text is accepted and unknown fields are ignored")
    func plainJSON() throws {
        let json = #"{"version":1,"jobId":"j","input":{"container":"rawfiles","blob":"b","bytes":1,"mediaType":"image/png","md5":"x","future":true},"submittedAt":"2026-11-23T10:00:00Z","traceId":"t","addedLater":[1,2]}"#
        let job = try MediaJob.decode(messageText: json)
        #expect(job.jobId == "j")
        #expect(job.input.mediaType == "image/png")
        #expect(job.originalName == nil)
    }

    @Test("a future contract version is refused")
    func futureVersion() throws {
        let json = #"{"version":2,"jobId":"j","input":{"container":"c","blob":"b","bytes":1,"mediaType":"m","md5":"x"},"submittedAt":"2026-11-23T10:00:00Z","traceId":"t"}"#
        #expect(throws: MediaJob.UnsupportedVersion(version: 2)) { try MediaJob.decode(messageText: json) }
        #expect(throws: (any Error).self) { try MediaJob.decode(messageText: "not json at all") }
    }

    @Test("JobStatus moves queued → processing → succeeded/failed and round-trips with error: null")
    func statusDocument() throws {
        let job = MediaJob(input: input)
        let queued = JobStatus(queued: job, timings: ["upload": 0.25])
        #expect(queued.status == .queued)
        let json = String(decoding: try queued.json(), as: UTF8.self)
        #expect(json.contains(#""error":null"#))
        #expect(json.contains(#""status":"queued""#))
        let done = queued.processing(attempt: 1).succeeded(
            outputs: [.init(name: "main.webp", contentType: "image/webp", bytes: 42_000, width: 2048, height: 1365, container: "processed", blob: "\(job.jobId)/main.webp")],
            timings: ["decode": 0.1, "encode": 0.2])
        #expect(done.status == .succeeded)
        #expect(done.attempts == 1)
        #expect(done.timings == ["upload": 0.25, "decode": 0.1, "encode": 0.2])
        #expect(try JobStatus.decode(try done.json()) == done)
        let failed = queued.failed(code: "corrupt", reason: "JPEG data ends early")
        #expect(try JobStatus.decode(try failed.json()).error == .init(code: "corrupt", reason: "JPEG data ends early"))
    }

    @Test("PoisonMessage round-trips")
    func poison() throws {
        let poison = PoisonMessage(jobId: "j", code: "maxDeliveries", reason: "received 6 times", dequeueCount: 6, originalMessageId: "m-1", input: input, originalText: "abc", failedAt: Date(timeIntervalSince1970: 1_763_880_000))
        #expect(try PoisonMessage.decode(messageText: try poison.messageText()) == poison)
    }
}

import Foundation
import Logging
import StorageKit
import Testing

@testable import Uploader

@Suite("Fair uploads: per-key slots and the minimum body rate")
struct FairnessTests {
    @Test("a key gets at most its share of the slots; its refusal (429) comes before the uploader's (503)")
    func slots() {
        let slots = UploadSlots(limit: 4, perKeyLimit: 2)
        // (key, expected admission) in order; nothing leaves in between.
        let steps: [(String, UploadSlots.Admission)] = [
            ("a", .admitted), ("a", .admitted), ("a", .keyAtLimit), ("a", .keyAtLimit),
            ("b", .admitted), ("b", .admitted), ("c", .full), ("b", .keyAtLimit),
        ]
        for (index, (key, expected)) in steps.enumerated() {
            #expect(slots.tryEnter(key: key) == expected, "step \(index): \(key)")
        }
        #expect(slots.inUse == 4)
        #expect(slots.inUse(key: "a") == 2)
        slots.leave(key: "a")
        #expect(slots.tryEnter(key: "c") == .admitted)
        #expect(slots.tryEnter(key: "a") == .full)
        slots.leave(key: "c")
        slots.leave(key: "c")  // more leaves than entries change nothing
        #expect(slots.inUse == 3)
        #expect(slots.inUse(key: "c") == 0)
    }

    @Test("the per-key share defaults to a quarter of the slots, at least one, and must fit in them")
    func perKeyDefault() throws {
        var configuration = UploaderConfiguration()
        configuration.apiKeys = ["k"]
        #expect(configuration.uploadsPerKey == 8)
        configuration.maxConcurrentUploads = 3
        #expect(configuration.uploadsPerKey == 1)
        configuration.authDisabled = true  // every client is `anonymous`: no share to keep apart
        #expect(configuration.uploadsPerKey == 3)
        configuration.authDisabled = false
        configuration.maxUploadsPerKey = 3
        try configuration.validate()
        configuration.maxUploadsPerKey = 4
        #expect(throws: UploaderConfiguration.Invalid.self) { try configuration.validate() }
        configuration.maxUploadsPerKey = 0
        #expect(throws: UploaderConfiguration.Invalid.self) { try configuration.validate() }
    }

    typealias Arrival = (bytes: Int, after: Double)

    /// `count` arrivals of `bytes`, each after waiting `every` seconds.
    static func repeated(_ bytes: Int, every: Double, _ count: Int) -> [Arrival] {
        Array(repeating: (bytes: bytes, after: every), count: count)
    }

    /// Feeds a meter arrivals; returns the waiting time (s) at the first refusal, or nil if every
    /// arrival passed.
    static func firstRefusal(_ policy: MinimumBodyRate, _ arrivals: [Arrival]) -> Double? {
        var meter = BodyRateMeter(policy: policy)
        var clock = 0.0
        for arrival in arrivals {
            clock += arrival.after
            if !meter.record(bytes: arrival.bytes, after: .milliseconds(Int64(arrival.after * 1000))) { return clock }
        }
        return nil
    }

    @Test("the minimum body rate: who is cut off, and when")
    func bodyRate() {
        let policy = MinimumBodyRate.default  // 1 KiB/s over 30 s, after 10 s
        let preamble: [Arrival] = [(bytes: 120, after: 0)]
        // The scenario of issue 13: one byte every 5 s → refused at the first arrival after the grace.
        #expect(Self.firstRefusal(policy, preamble + Self.repeated(1, every: 5, 20)) == 10)
        // A phone at 2 KiB/s for two minutes, in 1 KiB pieces: never.
        #expect(Self.firstRefusal(policy, Self.repeated(1024, every: 0.5, 240)) == nil)
        // Exactly the minimum, 1 KiB each second: never.
        #expect(Self.firstRefusal(policy, Self.repeated(1024, every: 1, 120)) == nil)
        // A stall of 20 s within a fast upload: the window still holds enough.
        #expect(Self.firstRefusal(policy, Self.repeated(64 << 10, every: 0.1, 10) + [(bytes: 64 << 10, after: 20)]) == nil)
        // A fast start, then a trickle: refused once the fast second has left the 30 s window.
        #expect(Self.firstRefusal(policy, [(bytes: 40 << 10, after: 1)] + Self.repeated(1, every: 5, 12)) == 31)
        // Within the grace period nothing is refused, however slow.
        #expect(Self.firstRefusal(policy, [(bytes: 1, after: 9)]) == nil)
        // 0 disables the check.
        #expect(Self.firstRefusal(.disabled, preamble + Self.repeated(1, every: 5, 20)) == nil)
        // Shorter settings, as a test might configure: 10 B/s over 4 s after 2 s.
        let short = MinimumBodyRate(bytesPerSecond: 10, window: .seconds(4), grace: .seconds(2))
        #expect(Self.firstRefusal(short, [(bytes: 100, after: 0)] + Self.repeated(1, every: 1, 10)) == 4)
    }

    /// An admission with quotas off (nothing is read from storage) over `slots`.
    static func admission(slots: UploadSlots, ratePerSecond: Double = 1000, burst: Int = 1000) -> UploadAdmission {
        let account = StorageAccount(
            name: "devstoreaccount1", blobEndpoint: URL(string: "http://127.0.0.1:9/devstoreaccount1")!,
            queueEndpoint: URL(string: "http://127.0.0.1:9/devstoreaccount1")!, credential: .sharedAccessSignature("sv=x"))
        let quotas = TenantQuotas(blobs: BlobClient(account: account), container: "jobstatus", limits: .init(), logger: Logger(label: "test"))
        return UploadAdmission(
            rateLimiter: RateLimiter(ratePerSecond: ratePerSecond, burst: burst), quotas: quotas, slots: slots, metrics: UploaderMetrics())
    }

    @Test("every way in shares one admission: the slot is held while the body runs and given back when it throws; refusals are 429 and 503")
    func admission() async throws {
        let slots = UploadSlots(limit: 2, perKeyLimit: 1)
        let admission = Self.admission(slots: slots)
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await admission.withSlot(tenant: "a") { throw Boom() } }
        #expect(slots.inUse == 0)
        try await admission.withSlot(tenant: "a") {
            #expect(slots.inUse(key: "a") == 1)
            let own = await #expect(throws: UploaderError.self) { try await admission.withSlot(tenant: "a") {} }
            #expect(own?.code == .tooManyUploadsForKey && own?.retryAfter == 2)
            try await admission.withSlot(tenant: "b") {
                let full = await #expect(throws: UploaderError.self) { try await admission.withSlot(tenant: "c") {} }
                #expect(full?.code == .busy)
            }
        }
        #expect(slots.inUse == 0)
        let when = try await admission.admit(tenant: "a", logger: Logger(label: "test"), now: Date(timeIntervalSince1970: 42))
        #expect(when == Date(timeIntervalSince1970: 42))
    }

    @Test("the rate limit refuses with 429 and when to retry")
    func admissionRate() throws {
        let admission = Self.admission(slots: UploadSlots(limit: 2, perKeyLimit: 1), ratePerSecond: 0.5, burst: 1)
        try admission.checkRate(tenant: "a")
        let refused = #expect(throws: UploaderError.self) { try admission.checkRate(tenant: "a") }
        #expect(refused?.code == .rateLimited && (refused?.retryAfter ?? 0) >= 1)
        try admission.checkRate(tenant: "b")  // another tenant's budget
    }
}

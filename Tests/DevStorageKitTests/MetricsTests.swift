import AsyncHTTPClient
import Configuration
import DevStorageKit
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TestSupport

@Suite("Metrics listener", .timeLimit(.minutes(2)))
struct MetricsTests {
    /// The Prometheus text at `url`.
    static func scrape(_ url: String) async throws -> (status: Int, text: String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    /// The value of the series `series` (`name{labels}` exactly as exported), nil when absent.
    static func value(_ series: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) }
    }

    static let putBlob201 = #"devstorage_requests_total{service="blob",operation="PutBlob",status="201",status_class="2xx"}"#
    static let putBlob503 = #"devstorage_requests_total{service="blob",operation="PutBlob",status="503",status_class="5xx"}"#
    static let putBlobFault = #"devstorage_faults_injected_total{kind="fail",operation="PutBlob"}"#
    static let putBlobDurations = #"devstorage_request_duration_seconds_count{service="blob",operation="PutBlob"}"#
    static let putMessage201 = #"devstorage_requests_total{service="queue",operation="PutMessage",status="201",status_class="2xx"}"#
    static let jobsMessages = #"devstorage_queue_messages{account="devstoreaccount1",queue="jobs"}"#

    @Test("GET /metrics on its own port counts requests by operation and status, faults by kind, messages per queue")
    func counts() async throws {
        var configuration = DevStorageConfiguration.testing()
        configuration.metricsPort = 0
        try await withDevStorage(configuration: configuration) { storage in
            let url = try #require(storage.server.endpoints?.metricsURL)
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            #expect(try await client.putBlob("media", "a", Data("x".utf8)).status == 201)
            storage.faults.failNext(1, status: 503, operation: .putBlob)
            #expect(try await client.putBlob("media", "b", Data("y".utf8)).status == 503)
            try await client.createQueue("jobs")
            for text in ["one", "two"] { #expect(try await client.putMessage("jobs", text).status == 201) }

            let first = try await Self.scrape(url)
            #expect(first.status == 200)
            #expect(Self.value(Self.putBlob201, in: first.text) == 1)
            #expect(Self.value(Self.putBlob503, in: first.text) == 1)
            #expect(Self.value(Self.putBlobFault, in: first.text) == 1)
            #expect(Self.value(Self.putBlobDurations, in: first.text) == 2)
            #expect(Self.value(Self.putMessage201, in: first.text) == 2)
            #expect(Self.value(Self.jobsMessages, in: first.text) == 2)
            #expect(first.text.contains("# TYPE devstorage_request_duration_seconds histogram"))

            // Every further request counts; the gauge follows the queue.
            #expect(try await client.putBlob("media", "c", Data("z".utf8)).status == 201)
            _ = try await client.send(.DELETE, .queue, "/jobs/messages")
            let second = try await Self.scrape(url)
            #expect(Self.value(Self.putBlob201, in: second.text) == 2)
            #expect(Self.value(Self.putBlobDurations, in: second.text) == 3)
            #expect(Self.value(Self.putBlobFault, in: second.text) == 1)
            #expect(Self.value(Self.jobsMessages, in: second.text) == 0)

            // The storage listeners' URL space is untouched: /metrics there is a storage request.
            let onBlobPort = try await Self.scrape("http://127.0.0.1:\(storage.blobPort)/metrics")
            #expect(onBlobPort.status != 200)
            #expect(!onBlobPort.text.contains("devstorage_requests_total"))
        }
    }

    @Test("off by default; devstorage.metrics.port turns it on")
    func configuration() async throws {
        try await withDevStorage { storage in
            #expect(storage.server.configuration.metricsPort == nil)
            #expect(storage.server.endpoints?.metricsPort == nil)
            #expect(storage.server.endpoints?.metricsURL == nil)
        }
        let reader = ConfigReader(provider: InMemoryProvider(values: ["devstorage.metrics.port": 9465]))
        #expect(DevStorageConfiguration(reader: reader).metricsPort == 9465)
        #expect(DevStorageConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: [:]))).metricsPort == nil)
    }
}

import DevStorageKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InMemoryLogging
import Logging
import NIOCore
import NIOFoundationCompat
import StorageKit
import Testing
import TestSupport

@testable import Uploader

@Suite("An upload's storage log lines carry its trace id", .timeLimit(.minutes(2)))
struct UploadTraceLogTests {
    static let traceId = "4bf92f3577b34da6a3ce929d0e0e4736"

    @Test("StorageKit's retry lines for the blob write and the enqueue of a traced upload name its trace id")
    func retriedCallsNameTheTrace() async throws {
        let handler = InMemoryLogHandler()
        var logger = Logger(label: "uploader.test") { _ in handler }
        logger.logLevel = .info
        try await withDevStorage { storage in
            var configuration = UploaderConfiguration()
            configuration.host = "127.0.0.1"
            configuration.port = 0
            configuration.apiKeys = [UploaderHarness.key]
            let app = try await buildApplication(configuration: configuration, account: storage.account, retryPolicy: .fast, logger: logger)
            // One transient failure on each storage write of the upload (whichever blob write it uses).
            storage.faults.failNext(1, status: 503, operation: .putBlob)
            storage.faults.failNext(1, status: 503, operation: .putBlock)
            storage.faults.failNext(1, status: 503, operation: .putMessage)
            try await app.test(.live) { client in
                let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0]) + Data(repeating: 7, count: 100)
                let headers: HTTPFields = [
                    APIKeyMiddleware.apiKeyHeader: UploaderHarness.key,
                    HTTPField.Name("traceparent")!: "00-\(Self.traceId)-00f067aa0ba902b7-01",
                ]
                let response = try await client.execute(uri: "/upload", method: .post, headers: headers, body: ByteBuffer(data: jpeg))
                #expect(response.status == .accepted)
            }
        }
        let retries = handler.entries.filter { $0.message.description == "retrying storage call" }
        let operations = Set(retries.compactMap { $0.metadata["storage.operation"].map { "\($0)" } })
        #expect(operations.contains("PutMessage"))
        #expect(operations.contains("PutBlob") || operations.contains("PutBlock"))
        for entry in retries {
            #expect(entry.metadata["trace.id"] == .string(Self.traceId), "\(entry.metadata)")
        }
    }
}

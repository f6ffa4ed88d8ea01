import AsyncHTTPClient
import DevStorageKit
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import StorageKit
import TestSupport
import Testing

@Suite("Cancellation stays cancellation through the execute core")
struct CancellationTests {
    @Test("a call cancelled in flight (devstorage delaying its answer) throws CancellationError after one attempt")
    func cancelledInFlight() async throws {
        try await withDevStorage { devstorage in
            try await BlobClient(account: devstorage.account, retryPolicy: .fast).createContainer("media")
            devstorage.faults.update { $0.latencyMilliseconds = 20_000; $0.operations = [.putBlob] }
            let transport = RecordingTransport()
            let blobs = BlobClient(account: devstorage.account, transport: transport, retryPolicy: .fast)
            let call = Task { try await blobs.putBlob("media", "a.txt", body: ByteBuffer(string: "x")) }
            var started = transport.started.makeAsyncIterator()
            #expect(await started.next() == 1)
            let cancelledAt = ContinuousClock.now
            call.cancel()
            let result = await call.result
            #expect(ContinuousClock.now - cancelledAt < .seconds(10))  // not after devstorage's 20 s answer
            #expect(throws: CancellationError.self) { try result.get() }
            #expect(transport.attempts.count == 1)
        }
    }

    /// A transport whose task is cancelled while its connection fails: what AsyncHTTPClient reports
    /// then (a closed connection) must not turn cancellation into a retriable storage error.
    final class ResetWhileCancelled: StorageTransport {
        let calls = NIOLockedValueBox(0)
        func execute(_ request: HTTPClientRequest, timeout: TimeAmount, logger: Logger) async throws -> HTTPClientResponse {
            calls.withLockedValue { $0 += 1 }
            withUnsafeCurrentTask { $0?.cancel() }
            throw HTTPClientError.remoteConnectionClosed
        }
    }

    @Test("a transport error while the task is cancelled is CancellationError, not a retried transport error")
    func transportErrorWhileCancelled() async throws {
        let transport = ResetWhileCancelled()
        let blobs = BlobClient(account: .development, transport: transport, retryPolicy: .fast)
        let result = await Task { try await blobs.putBlob("media", "a.txt", body: ByteBuffer(string: "x")) }.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(transport.calls.withLockedValue { $0 } == 1)
    }
}

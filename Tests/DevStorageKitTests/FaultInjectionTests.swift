import AsyncHTTPClient
import DevStorageKit
import Foundation
import NIOHTTP1
import NIOCore
import Testing
import TestSupport

@Suite("Fault injection", .timeLimit(.minutes(2)))
struct FaultInjectionTests {
    @Test("fail the next N matching requests with 503 ServerBusy, then recover")
    func failNext() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            storage.faults.failNext(2, status: 503, operation: .putBlob)
            // Other operations are unaffected.
            #expect(try await client.send(.GET, "/media", query: [("restype", "container")]).status == 200)
            for _ in 0..<2 {
                let response = try await client.putBlob("media", "a", Data("x".utf8))
                #expect(response.status == 503)
                #expect(response.errorCode == "ServerBusy")
            }
            #expect(try await client.putBlob("media", "a", Data("x".utf8)).status == 201)
            #expect(storage.faults.injectedFailures == 2)
        }
    }

    @Test("a failure rate of 1 fails everything with the configured status and Retry-After")
    func rate() async throws {
        try await withDevStorage(configuration: .testing(faults: FaultSettings(failureRate: 1, failureStatus: 500, retryAfterSeconds: 2))) { storage in
            let response = try await StorageTestClient(storage).createContainer("media")
            #expect(response.status == 500)
            #expect(response.errorCode == "InternalError")
            #expect(response.header("Retry-After") == "2")
            storage.faults.reset()
            #expect(try await StorageTestClient(storage).createContainer("media").status == 201)
        }
    }

    @Test("latency is added to matching operations")
    func latency() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            storage.faults.update { $0.latencyMilliseconds = 300; $0.operations = [.getContainerProperties] }
            let clock = ContinuousClock()
            let slow = try await clock.measure { _ = try await client.send(.GET, "/media", query: [("restype", "container")]) }
            #expect(slow >= .milliseconds(300))
        }
    }

    @Test("cut the connection after N bytes of a response body")
    func cut() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            try await client.putBlob("media", "a", Data(repeating: 1, count: 100_000))
            storage.faults.update { $0.cutAfterBytes = 1000; $0.operations = [.getBlob] }
            await #expect(throws: (any Error).self) {
                _ = try await client.send(.GET, "/media/a")
            }
            storage.faults.reset()
            #expect(try await client.send(.GET, "/media/a").body.count == 100_000)
        }
    }
}

@Suite("Fault injection: ambiguous outcomes", .timeLimit(.minutes(2)))
struct AmbiguousFaultTests {
    @Test("drop the response after processing: the client sees a lost connection, the write happened")
    func dropResponse() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            storage.faults.dropNextResponses(1, operation: .putBlob)
            await #expect(throws: (any Error).self) {
                _ = try await client.putBlob("media", "a", Data("written".utf8))
            }
            #expect(try await client.send(.GET, "/media/a").text == "written")
        }
    }

    @Test("cut only the next matching response")
    func cutNext() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            try await client.putBlob("media", "a", Data(repeating: 2, count: 50_000))
            storage.faults.cutNextResponses(1, afterBytes: 10, operation: .getBlob)
            await #expect(throws: (any Error).self) {
                _ = try await client.send(.GET, "/media/a")
            }
            #expect(try await client.send(.GET, "/media/a").body.count == 50_000)
        }
    }
}

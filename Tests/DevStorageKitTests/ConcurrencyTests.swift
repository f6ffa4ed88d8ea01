import DevStorageKit
import Foundation
import NIOHTTP1
import Testing
import TestSupport

@Suite("Concurrent requests", .timeLimit(.minutes(2)))
struct ConcurrencyTests {
    @Test("concurrent consumers never receive the same message twice")
    func competingConsumers() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            for index in 0..<40 { try await client.putMessage("jobs", "m\(index)") }
            let received = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var mine: [String] = []
                        for _ in 0..<100 {
                            let batch = try await client.send(.GET, .queue, "/jobs/messages", query: [("numofmessages", "3"), ("visibilitytimeout", "300")])
                            let texts = batch.elements("MessageText")
                            if texts.isEmpty { return mine }
                            mine += texts
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(received.count == 40)
            #expect(Set(received).count == 40)
        }
    }

    @Test("concurrent staged uploads to different blobs and overwrites of one blob stay consistent")
    func parallelUploads() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for blob in 0..<6 {
                    group.addTask {
                        for block in 0..<4 {
                            let response = try await client.putBlock("media", "b\(blob)", id: blockID(block), Data(repeating: UInt8(blob), count: 10_000))
                            #expect(response.status == 201)
                        }
                        #expect(try await client.putBlockList("media", "b\(blob)", latest: (0..<4).map(blockID)).status == 201)
                    }
                }
                for writer in 0..<6 {
                    group.addTask {
                        let response = try await client.putBlob("media", "shared", Data(repeating: UInt8(writer), count: 50_000))
                        #expect(response.status == 201)
                    }
                }
                try await group.waitForAll()
            }
            for blob in 0..<6 {
                #expect(try await client.send(.GET, "/media/b\(blob)").body == Data(repeating: UInt8(blob), count: 40_000))
            }
            let shared = try await client.send(.GET, "/media/shared").body
            #expect(shared.count == 50_000)
            #expect(Set(shared).count == 1)
        }
    }
}

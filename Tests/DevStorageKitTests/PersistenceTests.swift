import DevStorageKit
import Foundation
import NIOHTTP1
import Testing
import TestSupport

@Suite("Persistence across restarts", .timeLimit(.minutes(2)))
struct PersistenceTests {
    @Test("blobs, metadata, uncommitted blocks, queues and messages survive a restart on the same data directory")
    func restart() async throws {
        try await withTemporaryDirectory { directory in
            let (etag, messageID) = try await withDevStorage(dataDirectory: directory) { storage in
                let client = StorageTestClient(storage)
                try await client.createContainer("media")
                let put = try await client.putBlob("media", "keep%20me.txt", Data("persisted".utf8), headers: [("x-ms-meta-Origin", "up"), ("x-ms-blob-content-type", "text/plain")])
                try await client.putBlock("media", "staged", id: blockID(0), Data("part0".utf8))
                try await client.createQueue("jobs")
                try await client.putMessage("jobs", "first")
                let message = try await client.putMessage("jobs", "second")
                return (put.header("ETag"), message.element("MessageId"))
            }
            try await withDevStorage(dataDirectory: directory) { storage in
                let client = StorageTestClient(storage)
                let get = try await client.send(.GET, "/media/keep%20me.txt")
                #expect(get.text == "persisted")
                #expect(get.header("ETag") == etag)
                #expect(get.header("x-ms-meta-Origin") == "up")
                #expect(get.header("Content-Type") == "text/plain")
                let commit = try await client.putBlockList("media", "staged", latest: [blockID(0)])
                #expect(commit.status == 201)
                #expect(try await client.send(.GET, "/media/staged").text == "part0")
                let messages = try await client.send(.GET, .queue, "/jobs/messages", query: [("numofmessages", "32")])
                #expect(messages.elements("MessageText") == ["first", "second"])
                #expect(messages.elements("MessageId").last == messageID)
                #expect(try await client.createQueue("jobs").status == 204)
            }
            // Nothing temporary is left behind.
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/tmp")) ?? []
            #expect(leftovers.isEmpty)
        }
    }

    @Test("a half-written upload (crash before commit) is not visible after a restart")
    func crashBeforeCommit() async throws {
        try await withTemporaryDirectory { directory in
            try await withDevStorage(dataDirectory: directory) { storage in
                try await StorageTestClient(storage).createContainer("media")
            }
            // Simulate kill -9 during an upload: a temporary file and an orphaned data file.
            try Data("partial".utf8).write(to: URL(fileURLWithPath: directory + "/tmp/\(UUID().uuidString).upload"))
            try Data("orphan".utf8).write(to: URL(fileURLWithPath: directory + "/blob/devstoreaccount1/media/data/orphan"))
            try await withDevStorage(dataDirectory: directory) { storage in
                let list = try await StorageTestClient(storage).send(.GET, "/media", query: [("restype", "container"), ("comp", "list")])
                #expect(list.elements("Name").isEmpty)
            }
            #expect(!FileManager.default.fileExists(atPath: directory + "/blob/devstoreaccount1/media/data/orphan"))
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: directory + "/tmp")) ?? []).isEmpty)
        }
    }
}

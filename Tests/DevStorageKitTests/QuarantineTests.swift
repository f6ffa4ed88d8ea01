import Foundation
import InMemoryLogging
import Logging
import NIOHTTP1
import Testing
import TestSupport

@testable import DevStorageKit

/// Restarts on a data directory whose files were damaged between runs: what cannot be read is moved
/// to `quarantine/`, with a warning, and everything else is still served.
@Suite("Unreadable state is quarantined, never deleted", .timeLimit(.minutes(2)))
struct QuarantineTests {
    static let garbage = Data([0x00, 0xff, 0x7b, 0x13, 0x37, 0x0a])

    /// A logger that keeps what it logged, and the handler to read it back.
    static func capturingLogger() -> (Logger, InMemoryLogHandler) {
        let handler = InMemoryLogHandler()
        return (Logger(label: "devstorage.test") { _ in handler }, handler)
    }

    /// Every file and directory under `{directory}/quarantine`, as full paths.
    static func quarantined(_ directory: String) -> [String] {
        let root = directory + "/quarantine"
        let entries = FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []
        return entries.map { root + "/" + $0 }
    }

    /// The warnings about quarantined items, by original path.
    static func quarantineWarnings(_ logs: InMemoryLogHandler) -> [String] {
        logs.entries.filter { $0.level == .warning && $0.message.description == "quarantined unreadable state" }
            .compactMap { $0.metadata["devstorage.path"]?.description }
    }

    @Test("a blob record of garbage bytes goes to quarantine/ with its data and a warning; other blobs are served")
    func unreadableBlobRecord() async throws {
        try await withTemporaryDirectory { directory in
            try await withDevStorage(dataDirectory: directory) { storage in
                let client = StorageTestClient(storage)
                try await client.createContainer("media")
                try await client.putBlob("media", "broken.txt", Data("acknowledged".utf8))
                try await client.putBlob("media", "fine.txt", Data("still here".utf8))
            }
            let record = directory + "/blob/devstoreaccount1/media/blobs/" + BlobStore.hash("broken.txt") + ".json"
            try Self.garbage.write(to: URL(fileURLWithPath: record))
            let (logger, logs) = Self.capturingLogger()
            try await withDevStorage(dataDirectory: directory, logger: logger) { storage in
                let client = StorageTestClient(storage)
                let broken = try await client.send(.GET, "/media/broken.txt")
                #expect(broken.errorCode == "BlobNotFound")
                let fine = try await client.send(.GET, "/media/fine.txt")
                #expect(fine.text == "still here")
                let added = try await client.putBlob("media", "new.txt", Data("new".utf8))
                #expect(added.status == 201)
            }
            let quarantined = Self.quarantined(directory)
            let copy = try #require(quarantined.first { $0.hasSuffix("/blob/devstoreaccount1/media/blobs/" + BlobStore.hash("broken.txt") + ".json") })
            #expect(FileManager.default.contents(atPath: copy) == Self.garbage)
            // The blob's data is kept beside its record, not swept as an orphan.
            let data = quarantined.filter { $0.contains("/blob/devstoreaccount1/media/data/") }
            #expect(data.map { FileManager.default.contents(atPath: $0) } == [Data("acknowledged".utf8)])
            #expect(!FileManager.default.fileExists(atPath: record))
            let warnings = Self.quarantineWarnings(logs)
            #expect(warnings.count == 2)
            #expect(warnings.contains(record))
        }
    }

    @Test("a container.json of garbage bytes moves the whole container to quarantine/; other containers are served")
    func unreadableContainerRecord() async throws {
        try await withTemporaryDirectory { directory in
            try await withDevStorage(dataDirectory: directory) { storage in
                let client = StorageTestClient(storage)
                for container in ["media", "other"] {
                    try await client.createContainer(container)
                    try await client.putBlob(container, "a.txt", Data("in \(container)".utf8))
                }
            }
            let container = directory + "/blob/devstoreaccount1/media"
            try Self.garbage.write(to: URL(fileURLWithPath: container + "/container.json"))
            let (logger, logs) = Self.capturingLogger()
            try await withDevStorage(dataDirectory: directory, logger: logger) { storage in
                let client = StorageTestClient(storage)
                let lost = try await client.send(.GET, "/media/a.txt")
                #expect(lost.errorCode == "ContainerNotFound")
                let other = try await client.send(.GET, "/other/a.txt")
                #expect(other.text == "in other")
                let listing = try await client.send(.GET, "/", query: [("comp", "list")])
                #expect(listing.elements("Name") == ["other"])
            }
            let moved = try #require(Self.quarantined(directory).first { $0.hasSuffix("/blob/devstoreaccount1/media") })
            #expect(FileManager.default.contents(atPath: moved + "/container.json") == Self.garbage)
            let data = try FileManager.default.contentsOfDirectory(atPath: moved + "/data")
            #expect(data.map { FileManager.default.contents(atPath: moved + "/data/" + $0) } == [Data("in media".utf8)])
            #expect(!FileManager.default.fileExists(atPath: container))
            #expect(Self.quarantineWarnings(logs) == [container])
        }
    }

    @Test("a queue message of garbage bytes goes to quarantine/ with a warning; the other messages are served")
    func unreadableMessage() async throws {
        try await withTemporaryDirectory { directory in
            let broken = try await withDevStorage(dataDirectory: directory) { storage in
                let client = StorageTestClient(storage)
                try await client.createQueue("jobs")
                let broken = try await client.putMessage("jobs", "first").element("MessageId")
                try await client.putMessage("jobs", "second")
                return try #require(broken)
            }
            let message = directory + "/queue/devstoreaccount1/jobs/messages/" + broken + ".json"
            try Self.garbage.write(to: URL(fileURLWithPath: message))
            let (logger, logs) = Self.capturingLogger()
            try await withDevStorage(dataDirectory: directory, logger: logger) { storage in
                let messages = try await StorageTestClient(storage).send(
                    .GET, .queue, "/jobs/messages", query: [("numofmessages", "32")])
                #expect(messages.elements("MessageText") == ["second"])
            }
            let copy = try #require(Self.quarantined(directory).first { $0.hasSuffix("/queue/devstoreaccount1/jobs/messages/\(broken).json") })
            #expect(FileManager.default.contents(atPath: copy) == Self.garbage)
            #expect(Self.quarantineWarnings(logs) == [message])
        }
    }

    @Test("a record damaged again after a restart is quarantined again, beside the first copy, never over it")
    func neverOverwrites() async throws {
        try await withTemporaryDirectory { directory in
            let record = directory + "/blob/devstoreaccount1/media/blobs/" + BlobStore.hash("x") + ".json"
            try await withDevStorage(dataDirectory: directory) { storage in
                let client = StorageTestClient(storage)
                try await client.createContainer("media")
                try await client.putBlob("media", "x", Data("one".utf8))
            }
            try Data("first damage".utf8).write(to: URL(fileURLWithPath: record))
            try await withDevStorage(dataDirectory: directory) { storage in
                try await StorageTestClient(storage).putBlob("media", "x", Data("two".utf8))
            }
            try Data("second damage".utf8).write(to: URL(fileURLWithPath: record))
            try await withDevStorage(dataDirectory: directory) { _ in }
            let copies = Self.quarantined(directory).filter { $0.contains("/blobs/" + BlobStore.hash("x") + ".json") }
            let contents = Set(copies.compactMap { FileManager.default.contents(atPath: $0) })
            #expect(contents == [Data("first damage".utf8), Data("second damage".utf8)])
        }
    }

    @Test("records with fields this version does not know load as usual (forward compatibility)")
    func unknownFieldsAreIgnored() async throws {
        try await withTemporaryDirectory { directory in
            try await withDevStorage(dataDirectory: directory) { storage in
                let client = StorageTestClient(storage)
                try await client.createContainer("media")
                try await client.putBlob("media", "a.txt", Data("payload".utf8), headers: [("x-ms-meta-Origin", "up")])
                try await client.createQueue("jobs")
                try await client.putMessage("jobs", "hello")
            }
            let container = directory + "/blob/devstoreaccount1/media"
            let queue = directory + "/queue/devstoreaccount1/jobs"
            let message = try #require(try FileManager.default.contentsOfDirectory(atPath: queue + "/messages").first)
            for path in [
                container + "/container.json", container + "/blobs/" + BlobStore.hash("a.txt") + ".json", queue + "/queue.json",
                queue + "/messages/" + message,
            ] {
                try Self.addField(to: path)
            }
            let (logger, logs) = Self.capturingLogger()
            try await withDevStorage(dataDirectory: directory, logger: logger) { storage in
                let client = StorageTestClient(storage)
                let get = try await client.send(.GET, "/media/a.txt")
                #expect(get.text == "payload")
                #expect(get.header("x-ms-meta-Origin") == "up")
                let messages = try await client.send(.GET, .queue, "/jobs/messages")
                #expect(messages.elements("MessageText") == ["hello"])
            }
            #expect(Self.quarantined(directory).isEmpty)
            #expect(logs.entries.filter { $0.level >= .warning }.isEmpty)
        }
    }

    @Test("the empty directories of a Create Container that crashed before its record are removed, not quarantined")
    func incompleteContainerIsRemoved() async throws {
        try await withTemporaryDirectory { directory in
            let container = directory + "/blob/devstoreaccount1/half"
            for sub in ["blobs", "data", "staging"] {
                try FileManager.default.createDirectory(atPath: container + "/" + sub, withIntermediateDirectories: true)
            }
            try await withDevStorage(dataDirectory: directory) { storage in
                let created = try await StorageTestClient(storage).createContainer("half")
                #expect(created.status == 201)
            }
            #expect(Self.quarantined(directory).isEmpty)
        }
    }

    /// Rewrites a JSON record with a field a newer devstorage might add.
    static func addField(to path: String) throws {
        let data = try #require(FileManager.default.contents(atPath: path))
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        object["addedByANewerVersion"] = ["nested": [1, 2, 3], "flag": true]
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    }
}

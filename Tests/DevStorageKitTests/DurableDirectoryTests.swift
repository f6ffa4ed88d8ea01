import Foundation
import InMemoryLogging
import Logging
import NIOCore
import Testing
import TestSupport

@testable import DevStorageKit

/// The file-system helpers behind durability: directory fsync after rename, link and mkdir, and the
/// quarantine's naming. Power loss cannot be simulated here; these run the real calls on real
/// directories.
@Suite("Durable directory entries and quarantine naming", .timeLimit(.minutes(1)))
struct DurableDirectoryTests {
    @Test("syncDirectory fsyncs a real directory and reports a missing one")
    func syncDirectory() async throws {
        try await withTemporaryDirectory { directory in
            try POSIXFile.syncDirectory(directory)
            try POSIXFile.syncParentDirectories(of: directory + "/a", directory + "/b", "relative-name")
            #expect(throws: IOError.self) { try POSIXFile.syncDirectory(directory + "/missing") }
        }
    }

    @Test("rename and link succeed across directories and fail on a missing parent (its fsync runs after)")
    func renameAndLink() async throws {
        try await withTemporaryDirectory { directory in
            try POSIXFile.makeDirectory(directory + "/tmp")
            try POSIXFile.makeDirectory(directory + "/data")
            try Data("body".utf8).write(to: URL(fileURLWithPath: directory + "/tmp/upload"))
            try POSIXFile.rename(directory + "/tmp/upload", to: directory + "/data/file")
            #expect(FileManager.default.contents(atPath: directory + "/data/file") == Data("body".utf8))
            try POSIXFile.link([(source: directory + "/data/file", destination: directory + "/data/second")])
            #expect(FileManager.default.contents(atPath: directory + "/data/second") == Data("body".utf8))
            #expect(throws: IOError.self) { try POSIXFile.rename(directory + "/data/file", to: directory + "/gone/file") }
        }
    }

    @Test("a failed link in a batch removes the links already made")
    func linkBatchRollsBack() async throws {
        try await withTemporaryDirectory { directory in
            try Data("a".utf8).write(to: URL(fileURLWithPath: directory + "/a"))
            try Data("taken".utf8).write(to: URL(fileURLWithPath: directory + "/taken"))
            #expect(throws: IOError.self) {
                try POSIXFile.link([
                    (source: directory + "/a", destination: directory + "/a-link"),
                    (source: directory + "/a", destination: directory + "/taken"),
                ])
            }
            #expect(!FileManager.default.fileExists(atPath: directory + "/a-link"))
            #expect(FileManager.default.contents(atPath: directory + "/taken") == Data("taken".utf8))
        }
    }

    @Test("makeDirectory creates missing parents, is idempotent, and refuses a file in the way")
    func makeDirectory() async throws {
        try await withTemporaryDirectory { directory in
            try POSIXFile.makeDirectory(directory + "/x/y/z/")
            try POSIXFile.makeDirectory(directory + "/x/y/z")
            #expect(POSIXFile.isDirectory(directory + "/x/y/z"))
            try Data().write(to: URL(fileURLWithPath: directory + "/file"))
            #expect(throws: IOError.self) { try POSIXFile.makeDirectory(directory + "/file/sub") }
        }
    }

    @Test(
        "parentDirectory",
        arguments: [("a/b", "a"), ("/a", "/"), ("a", "."), ("a/b/", "a"), ("/a//b", "/a"), ("/", "/"), ("./tmp", ".")])
    func parentDirectory(path: String, parent: String) {
        #expect(POSIXFile.parentDirectory(of: path) == parent)
    }

    @Test("quarantine mirrors the path inside the data directory and never overwrites an earlier item")
    func quarantineNaming() async throws {
        try await withTemporaryDirectory { directory in
            let handler = InMemoryLogHandler()
            let quarantine = Quarantine(
                dataDirectory: directory, logger: Logger(label: "test") { _ in handler }, now: Date(timeIntervalSince1970: 1_700_000_000))
            #expect(quarantine.directory == directory + "/quarantine/20231114T221320Z")
            let record = directory + "/blob/acct/media/blobs/r.json"
            try POSIXFile.makeDirectory(POSIXFile.parentDirectory(of: record))
            var moved: [String] = []
            for content in ["first", "second", "third"] {
                try Data(content.utf8).write(to: URL(fileURLWithPath: record))
                moved.append(try #require(quarantine.move(record, reason: "test")))
            }
            let expected = quarantine.directory + "/blob/acct/media/blobs/r.json"
            #expect(moved == [expected, expected + ".1", expected + ".2"])
            #expect(moved.map { FileManager.default.contents(atPath: $0) } == ["first", "second", "third"].map { Data($0.utf8) })
            // A directory moves whole; a path outside the data directory keeps its last component.
            try POSIXFile.makeDirectory(directory + "/queue/acct/jobs/messages")
            #expect(quarantine.move(directory + "/queue/acct/jobs", reason: "test") == quarantine.directory + "/queue/acct/jobs")
            #expect(POSIXFile.isDirectory(quarantine.directory + "/queue/acct/jobs/messages"))
            #expect(quarantine.relativePath("/elsewhere/thing.json") == "thing.json")
            // Moving something that is not there is an error in the log, never a crash or a deletion.
            #expect(quarantine.move(directory + "/missing", reason: "test") == nil)
            #expect(handler.entries.map(\.level) == [.warning, .warning, .warning, .warning, .error])
        }
    }
}

import Foundation
import Logging
import NIOCore
import Testing
import TestSupport

@testable import DevStorageKit

@Suite("Blob store: read leases and zero-copy commits", .timeLimit(.minutes(2)))
struct BlobStoreTests {
    /// A buffer sequence for `UploadedFile.write`.
    struct Chunks: AsyncSequence, Sendable {
        let buffers: [ByteBuffer]
        struct AsyncIterator: AsyncIteratorProtocol {
            var buffers: [ByteBuffer]
            mutating func next() async throws -> ByteBuffer? { buffers.isEmpty ? nil : buffers.removeFirst() }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffers: buffers) }
    }

    func upload(_ store: BlobStore, _ text: String) async throws -> UploadedFile {
        try await UploadedFile.write(Chunks(buffers: [ByteBuffer(string: text)]), to: store.newTemporaryPath())
    }

    func read(_ lease: BlobReadLease) async throws -> String {
        var collected = ""
        try await lease.read(offset: 0, count: lease.size, chunkSize: 3) { collected += String(buffer: $0) }
        return collected
    }

    func withStore(_ body: (BlobStore, String) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let thread = StoreThread()
            let store = BlobStore(dataDirectory: directory, thread: thread, logger: Logger(label: "test"))
            try await store.load()
            _ = try await store.createContainer("acct", "media", metadata: [:], now: Date())
            try await body(store, directory + "/blob/acct/media/data")
            await thread.shutdown()
        }
    }

    @Test("a reader keeps the version it opened; its files go when the lease does")
    func leaseSurvivesOverwrite() async throws {
        try await withStore { store, data in
            _ = try await store.commitUpload(
                "acct", "media", "a", upload: try await upload(store, "old contents"), conditions: .init(), properties: .init(),
                metadata: [:], now: Date())
            var lease: BlobReadLease? = try await store.openBlob("acct", "media", "a").1
            _ = try await store.commitUpload(
                "acct", "media", "a", upload: try await upload(store, "new"), conditions: .init(), properties: .init(),
                metadata: [:], now: Date())
            #expect(try FileManager.default.contentsOfDirectory(atPath: data).count == 2)
            #expect(try await read(lease!) == "old contents")
            lease = nil
            #expect(try FileManager.default.contentsOfDirectory(atPath: data).count == 1)
            #expect(try await read(try await store.openBlob("acct", "media", "a").1) == "new")
        }
    }

    @Test("Put Block List links staged blocks into place (no copies) and re-uses committed segments")
    func zeroCopyBlockList() async throws {
        try await withStore { store, data in
            for (id, text) in [("AA==", "one-"), ("AQ==", "two-"), ("Ag==", "three")] {
                try await store.stageBlock("acct", "media", "b", blockID: id, upload: try await upload(store, text))
            }
            let first = try await store.commitBlockList(
                "acct", "media", "b", entries: [(.latest, "AA=="), (.latest, "AQ=="), (.uncommitted, "Ag=="), (.latest, "AA==")],
                conditions: .init(), properties: .init(), contentMD5: nil, metadata: [:], now: Date())
            #expect(first.size == 17)
            #expect(first.files.count == 3)
            #expect(try await read(try await store.openBlob("acct", "media", "b").1) == "one-two-threeone-")
            // Staged blocks are gone; the data files are the very same inodes, one link each now.
            for file in try FileManager.default.contentsOfDirectory(atPath: data) {
                let attributes = try FileManager.default.attributesOfItem(atPath: data + "/" + file)
                #expect((attributes[.referenceCount] as? Int) == 1)
            }
            try await store.stageBlock("acct", "media", "b", blockID: "Aw==", upload: try await upload(store, "four"))
            let second = try await store.commitBlockList(
                "acct", "media", "b", entries: [(.committed, "Ag=="), (.latest, "Aw==")], conditions: .init(), properties: .init(),
                contentMD5: nil, metadata: [:], now: Date())
            #expect(second.committedBlocks.map(\.id) == ["Ag==", "Aw=="])
            #expect(try await read(try await store.openBlob("acct", "media", "b").1) == "threefour")
            #expect(try FileManager.default.contentsOfDirectory(atPath: data).count == 2)
            await #expect(throws: StorageServiceError.self) {
                try await store.commitBlockList(
                    "acct", "media", "b", entries: [(.uncommitted, "Ag==")], conditions: .init(), properties: .init(),
                    contentMD5: nil, metadata: [:], now: Date())
            }
        }
    }
}

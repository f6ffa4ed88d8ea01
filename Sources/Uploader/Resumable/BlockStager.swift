import Foundation
import NIOCore
import StorageKit

/// Cuts one request's bytes into blocks of `blockSize` and stages each (Put Block) on the target
/// blob as it fills, at most `maxConcurrency` at once: memory stays within
/// `blockSize × (maxConcurrency + 1)` whatever the request's size. Nothing is committed here.
///
/// Block ids are `base64("{8 random hex}-{index}")`, fixed length, random per request: two requests
/// racing on one upload never overwrite each other's blocks, and only the ids the winning state
/// records are ever committed.
struct BlockStager {
    let blobs: BlobClient
    let container: String
    let blob: String
    let options: BlobClient.StagedUploadOptions
    private let prefix = String(UUID().uuidString.prefix(8)).lowercased()
    private(set) var blockIDs: [String] = []
    private var current: ByteBuffer

    init(blobs: BlobClient, container: String, blob: String, options: BlobClient.StagedUploadOptions) {
        self.blobs = blobs
        self.container = container
        self.blob = blob
        self.options = options
        current = ByteBufferAllocator().buffer(capacity: options.blockSize)
    }

    /// Appends bytes; stages each block that fills. Up to `maxConcurrency` Put Blocks run in `group`.
    mutating func append(_ chunk: ByteBuffer, in group: inout ThrowingTaskGroup<Void, any Error>, inFlight: inout Int) async throws {
        var chunk = chunk
        while chunk.readableBytes > 0 {
            var slice = chunk.readSlice(length: min(options.blockSize - current.readableBytes, chunk.readableBytes))!
            current.writeBuffer(&slice)
            if current.readableBytes == options.blockSize {
                try await stageCurrent(in: &group, inFlight: &inFlight)
            }
        }
    }

    /// Stages what is left (a short last block).
    mutating func flush(in group: inout ThrowingTaskGroup<Void, any Error>, inFlight: inout Int) async throws {
        if current.readableBytes > 0 { try await stageCurrent(in: &group, inFlight: &inFlight) }
    }

    private mutating func stageCurrent(in group: inout ThrowingTaskGroup<Void, any Error>, inFlight: inout Int) async throws {
        while inFlight >= options.maxConcurrency, try await group.next() != nil { inFlight -= 1 }
        let id = Self.blockID(prefix: prefix, index: blockIDs.count)
        blockIDs.append(id)
        let block = current
        current = ByteBufferAllocator().buffer(capacity: options.blockSize)
        let (blobs, container, blob, md5) = (self.blobs, self.container, self.blob, options.blockMD5)
        group.addTask { try await blobs.putBlock(container, blob, blockID: id, body: block, contentMD5: md5) }
        inFlight += 1
    }

    static func blockID(prefix: String, index: Int) -> String {
        let number = String(index)
        return Data("\(prefix)-\(String(repeating: "0", count: max(0, 6 - number.count)))\(number)".utf8).base64EncodedString()
    }
}

import Crypto
import Foundation
import NIOCore

extension BlobClient {
    /// How a staged upload splits its input.
    public struct StagedUploadOptions: Sendable {
        /// Bytes per block (the last block may be shorter). Default 4 MiB (50,000 blocks: 195 GiB).
        public var blockSize: Int
        /// Blocks uploading at once. Memory stays within `blockSize × (maxConcurrency + 1)`.
        public var maxConcurrency: Int
        /// Send each block's Content-MD5 so storage checks it in transit (one more MD5 pass over the
        /// data; the whole-content MD5 is computed either way). Callers that verify the whole MD5
        /// end to end, over TLS, can turn it off.
        public var blockMD5: Bool

        /// Creates options.
        public init(blockSize: Int = 4 << 20, maxConcurrency: Int = 4, blockMD5: Bool = true) {
            self.blockSize = blockSize
            self.maxConcurrency = maxConcurrency
            self.blockMD5 = blockMD5
        }
    }

    /// Uploads a stream of unknown length as a block blob.
    ///
    /// The input is cut into fixed-size blocks; up to `maxConcurrency` Put Block calls run at once,
    /// each with its own Content-MD5; then one Put Block List commits them with the whole content's
    /// MD5. An input that fits in one block goes as a single Put Blob. If the input sequence throws or
    /// the task is cancelled, nothing is committed (staged blocks are never visible and expire).
    @discardableResult
    public func upload<Bytes: AsyncSequence>(
        _ container: String, _ blob: String, from bytes: Bytes, options: BlobUploadOptions = .init(),
        staging: StagedUploadOptions = .init()
    ) async throws -> BlobUploadResult where Bytes.Element == ByteBuffer {
        precondition(staging.blockSize > 0 && staging.maxConcurrency > 0, "block size and concurrency must be positive")
        let idPrefix = String(UUID().uuidString.prefix(8)).lowercased()

        return try await withThrowingTaskGroup(of: StagedUploadWork.self) { group in
            // The whole-content MD5 runs block by block in a child task, chained through its state,
            // so hashing block k overlaps reading block k+1 (MD5 is most of the CPU an upload costs).
            var md5: Insecure.MD5? = Insecure.MD5()  // nil while a child task holds the state
            var blocksInFlight = 0
            var total = 0
            var blockIDs: [String] = []
            // Block buffers back from finished Put Blocks, filled again: an upload touches at most
            // `maxConcurrency + 1` blocks' worth of memory once, not a fresh block (and its page
            // faults, and the allocator's retained copies) per block.
            var spare: [ByteBuffer] = []
            // The first block starts small and grows as bytes arrive: a small file (one Put Blob)
            // never allocates a whole block.
            var current = ByteBufferAllocator().buffer(capacity: min(staging.blockSize, Self.firstBlockCapacity))

            func handle(_ work: StagedUploadWork) {
                switch work {
                case .staged(let block):
                    blocksInFlight -= 1
                    if spare.count <= staging.maxConcurrency { spare.append(block) }
                case .hashed(let state): md5 = state.md5
                }
            }
            func hash(_ block: ByteBuffer) async throws {
                while md5 == nil, let work = try await group.next() { handle(work) }
                guard let state = md5 else { return }
                md5 = nil
                let handed = StagedUploadWork.HashState(md5: state)
                group.addTask {
                    var state = handed
                    block.withUnsafeReadableBytes { state.md5.update(bufferPointer: $0) }
                    return .hashed(state)
                }
            }
            func stage(_ block: ByteBuffer) async throws {
                while blocksInFlight >= staging.maxConcurrency, let work = try await group.next() { handle(work) }
                guard blockIDs.count < 50_000 else {
                    throw StorageError(.invalidArgument, message: "more than 50,000 blocks: raise the block size")
                }
                let id = Self.blockID(prefix: idPrefix, index: blockIDs.count)
                blockIDs.append(id)
                let withMD5 = staging.blockMD5
                group.addTask {
                    try await self.putBlock(container, blob, blockID: id, body: block, contentMD5: withMD5)
                    return .staged(block)
                }
                blocksInFlight += 1
            }
            func nextBlock() -> ByteBuffer {
                guard var buffer = spare.popLast() else { return ByteBufferAllocator().buffer(capacity: staging.blockSize) }
                buffer.clear()  // the same memory when no one else holds it any more (else a new buffer)
                return buffer
            }

            for try await var chunk in bytes {
                total += chunk.readableBytes
                while chunk.readableBytes > 0 {
                    let take = min(staging.blockSize - current.readableBytes, chunk.readableBytes)
                    var slice = chunk.readSlice(length: take)!
                    current.writeBuffer(&slice)
                    if current.readableBytes == staging.blockSize {
                        try await hash(current)
                        try await stage(current)
                        current = nextBlock()
                    }
                }
            }
            if current.readableBytes > 0 { try await hash(current) }
            while md5 == nil, let work = try await group.next() { handle(work) }
            let digest = Data(md5!.finalize())
            if blockIDs.isEmpty {
                // Everything fits in one block: a single Put Blob is one round trip instead of two,
                // with the MD5 already computed.
                let result = try await putBlob(container, blob, body: current, contentMD5: digest, options: options)
                return BlobUploadResult(etag: result.etag, bytes: total, md5: digest, blockCount: 0)
            }
            if current.readableBytes > 0 { try await stage(current) }
            try await group.waitForAll()
            let etag = try await putBlockList(container, blob, blockIDs: blockIDs, contentMD5: digest, options: options)
            return BlobUploadResult(etag: etag, bytes: total, md5: digest, blockCount: blockIDs.count)
        }
    }

    /// The capacity a staged upload's first block starts with (it grows up to the block size).
    static let firstBlockCapacity = 64 << 10

    /// Block ids of one blob must all have the same length: base64 of `prefix-NNNNNN`.
    static func blockID(prefix: String, index: Int) -> String {
        let number = String(index)
        return Data("\(prefix)-\(String(repeating: "0", count: max(0, 6 - number.count)))\(number)".utf8).base64EncodedString()
    }

    /// MD5 of a buffer's readable bytes.
    static func md5(of buffer: ByteBuffer) -> Data {
        buffer.withUnsafeReadableBytes { Data(Insecure.MD5.hash(data: $0)) }
    }
}

/// What a staged upload's child task finished: a staged block, or the MD5 state after hashing one
/// more block.
enum StagedUploadWork: Sendable {
    /// The running MD5 state, moved between tasks. Safe to send: exactly one task owns it at a time
    /// (the parent gives up its copy, setting its own to nil, until the child returns it).
    struct HashState: @unchecked Sendable { var md5: Insecure.MD5 }
    /// A block is staged; its buffer is handed back for the next block.
    case staged(ByteBuffer)
    case hashed(HashState)
}

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

        /// Creates options.
        public init(blockSize: Int = 4 << 20, maxConcurrency: Int = 4) {
            self.blockSize = blockSize
            self.maxConcurrency = maxConcurrency
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
        var md5 = Insecure.MD5()
        var total = 0
        var blockIDs: [String] = []
        var current = ByteBufferAllocator().buffer(capacity: staging.blockSize)

        return try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            func stage(_ block: ByteBuffer) async throws {
                if inFlight >= staging.maxConcurrency {
                    try await group.next()
                    inFlight -= 1
                }
                guard blockIDs.count < 50_000 else {
                    throw StorageError(.invalidArgument, message: "more than 50,000 blocks: raise the block size")
                }
                let id = Self.blockID(prefix: idPrefix, index: blockIDs.count)
                blockIDs.append(id)
                group.addTask { try await self.putBlock(container, blob, blockID: id, body: block) }
                inFlight += 1
            }

            for try await var chunk in bytes {
                chunk.withUnsafeReadableBytes { md5.update(bufferPointer: $0) }
                total += chunk.readableBytes
                while chunk.readableBytes > 0 {
                    let take = min(staging.blockSize - current.readableBytes, chunk.readableBytes)
                    var slice = chunk.readSlice(length: take)!
                    current.writeBuffer(&slice)
                    if current.readableBytes == staging.blockSize {
                        try await stage(current)
                        current = ByteBufferAllocator().buffer(capacity: staging.blockSize)
                    }
                }
            }
            let digest = Data(md5.finalize())
            if blockIDs.isEmpty {
                // Everything fits in one block: a single Put Blob is one round trip instead of two.
                let result = try await putBlob(container, blob, body: current, options: options)
                return BlobUploadResult(etag: result.etag, bytes: total, md5: digest, blockCount: 0)
            }
            if current.readableBytes > 0 { try await stage(current) }
            try await group.waitForAll()
            let etag = try await putBlockList(container, blob, blockIDs: blockIDs, contentMD5: digest, options: options)
            return BlobUploadResult(etag: etag, bytes: total, md5: digest, blockCount: blockIDs.count)
        }
    }

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

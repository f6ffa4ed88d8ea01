import AsyncHTTPClient
import NIOCore
import NIOFileSystem

extension BlobClient {
    /// Streams a blob (or a range) into a file. The file appears complete or not at all
    /// (written under a temporary name and renamed when the download finished).
    /// Returns the number of bytes written.
    @discardableResult
    public func download(_ container: String, _ blob: String, toFile path: String, range: (offset: Int, count: Int?)? = nil) async throws -> Int {
        let download = try await download(container, blob, range: range)
        var written = 0
        do {
            try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(path), options: .newFile(replaceExisting: true)) { handle in
                var writer = handle.bufferedWriter()
                for try await chunk in download.body {
                    written += chunk.readableBytes
                    try await writer.write(contentsOf: chunk)
                }
                try await writer.flush()
            }
        } catch let error as StorageError {
            throw error
        } catch let error as FileSystemError {
            throw StorageError(.invalidArgument, message: "cannot write \(path): \(error)", operation: "GetBlob")
        } catch {
            throw StorageClient.bodyError(error, operation: "GetBlob")
        }
        return written
    }

    /// Uploads a file as a block blob, streaming it through `upload(_:_:from:…)`.
    @discardableResult
    public func upload(_ container: String, _ blob: String, fromFile path: String, options: BlobUploadOptions = .init(), staging: StagedUploadOptions = .init()) async throws -> BlobUploadResult {
        try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
            try await upload(container, blob, from: handle.readChunks(chunkLength: .bytes(Int64(min(staging.blockSize, 1 << 20)))), options: options, staging: staging)
        }
    }
}

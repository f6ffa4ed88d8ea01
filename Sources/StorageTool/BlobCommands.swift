import ArgumentParser
import Foundation
import AsyncHTTPClient
import NIOCore
import NIOFileSystem
import StorageKit

/// `storagetool put`: one Put Blob from a file.
struct Put: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Upload a file with a single Put Blob.")
    @OptionGroup var account: AccountOptions
    @Option var container: String
    @Option var blob: String
    @Option(help: "The file to upload.") var file: String
    @Option var contentType: String?

    func run() async throws {
        let blobs = try account.blobClient()
        try await blobs.createContainer(container)
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let result = try await blobs.putBlob(container, blob, body: ByteBuffer(bytes: data), options: .init(contentType: contentType))
        print("etag=\(result.etag) bytes=\(result.bytes) md5=\(result.md5Base64)")
    }
}

/// `storagetool upload`: a staged upload of standard input (or a file), length unknown in advance.
struct Upload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stream standard input (or --file) into a block blob with a staged upload.")
    @OptionGroup var account: AccountOptions
    @Option var container: String
    @Option var blob: String
    @Option(help: "Read this file instead of standard input.") var file: String?
    @Option var contentType: String?

    func run() async throws {
        let blobs = try account.blobClient()
        try await blobs.createContainer(container)
        let staging = BlobClient.StagedUploadOptions(blockSize: account.blockSize, maxConcurrency: account.concurrency)
        let options = BlobUploadOptions(contentType: contentType)
        let start = ContinuousClock.now
        let result: BlobUploadResult
        if let file {
            result = try await blobs.upload(container, blob, fromFile: file, options: options, staging: staging)
        } else {
            result = try await blobs.upload(container, blob, from: FileDescriptorChunks(descriptor: 0, chunkSize: 1 << 20), options: options, staging: staging)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("etag=\(result.etag) bytes=\(result.bytes) blocks=\(result.blockCount) md5=\(result.md5Base64) seconds=\(String(format: "%.3f", seconds))")
    }
}

/// `storagetool get`: a streamed download to a file (or standard output with `--out -`).
struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Download a blob to a file.")
    @OptionGroup var account: AccountOptions
    @Option var container: String
    @Option var blob: String
    @Option(help: "Where to write; '-' for standard output.") var out: String
    @Option(help: "First byte of a range.") var offset: Int?
    @Option(help: "Bytes in the range.") var count: Int?

    func run() async throws {
        let blobs = try account.blobClient()
        let range = offset.map { (offset: $0, count: count) }
        if out == "-" {
            let download = try await blobs.download(container, blob, range: range)
            for try await chunk in download.body {
                FileHandle.standardOutput.write(Data(chunk.readableBytesView))
            }
        } else {
            let bytes = try await blobs.download(container, blob, toFile: out, range: range)
            FileHandle.standardError.write(Data("wrote \(bytes) bytes to \(out)\n".utf8))
        }
    }
}

/// `storagetool list`: blob names and sizes.
struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List blobs in a container.")
    @OptionGroup var account: AccountOptions
    @Option var container: String
    @Option var prefix: String?

    func run() async throws {
        for item in try await account.blobClient().listAllBlobs(container, prefix: prefix) {
            print("\(item.properties.contentLength)\t\(item.name)")
        }
    }
}

/// `storagetool sas`: a read-only download URL.
struct SAS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a read-only SAS URL for a blob.")
    @OptionGroup var account: AccountOptions
    @Option var container: String
    @Option var blob: String
    @Option(help: "Seconds until it expires.") var expiresIn: Int = 3600
    @Option(help: "Permission letters.") var permissions: String = "r"

    func run() async throws {
        print(try await account.blobClient().sasURL(container, blob, permissions: permissions, expiresIn: .seconds(expiresIn)).absoluteString)
    }
}

/// `storagetool delete`: deletes a blob.
struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a blob.")
    @OptionGroup var account: AccountOptions
    @Option var container: String
    @Option var blob: String

    func run() async throws {
        let deleted = try await account.blobClient().delete(container, blob)
        print(deleted ? "deleted" : "not found")
    }
}

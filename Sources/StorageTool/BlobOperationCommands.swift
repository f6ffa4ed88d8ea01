import ArgumentParser
import Foundation
import StorageKit

/// `storagetool copy`: Copy Blob within the account.
struct Copy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Copy a blob within the account (Copy Blob).")
    @OptionGroup var account: AccountOptions
    @Option var fromContainer: String
    @Option var fromBlob: String
    @Option var container: String
    @Option var blob: String

    func run() async throws {
        let result = try await account.blobClient().copyBlob(from: fromContainer, fromBlob, to: container, blob)
        print("copy-id=\(result.copyID) status=\(result.status) etag=\(result.etag)")
    }
}

/// `storagetool blocks`: Get Block List.
struct Blocks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a block blob's block list (Get Block List).")
    @OptionGroup var account: AccountOptions
    @Option var container: String
    @Option var blob: String
    @Option(help: "committed, uncommitted or all.") var type: String = "all"

    func run() async throws {
        guard let listType = BlockListType(rawValue: type) else { throw ValidationError("--type must be committed, uncommitted or all") }
        let list = try await account.blobClient().blockList(container, blob, type: listType)
        for block in list.committed { print("committed\t\(block.id)\t\(block.size)") }
        for block in list.uncommitted { print("uncommitted\t\(block.id)\t\(block.size)") }
    }
}

/// `storagetool set-headers`: Set Blob Properties (content headers; those not given are cleared).
struct SetHeaders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-headers", abstract: "Replace a blob's content headers (Set Blob Properties); those not given are cleared.")
    @OptionGroup var account: AccountOptions
    @Option var container: String
    @Option var blob: String
    @Option var contentType: String?
    @Option var contentEncoding: String?
    @Option var contentLanguage: String?
    @Option var contentDisposition: String?
    @Option var cacheControl: String?

    func run() async throws {
        let etag = try await account.blobClient().setHTTPHeaders(
            container, blob,
            BlobHTTPHeaders(
                contentType: contentType, contentEncoding: contentEncoding, contentLanguage: contentLanguage,
                contentDisposition: contentDisposition, cacheControl: cacheControl))
        print("etag=\(etag)")
    }
}

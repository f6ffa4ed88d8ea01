import ArgumentParser
import Configuration
import Foundation
import StorageKit

/// `storagetool`: a small command line over StorageKit and QueueKit, for people inspecting a
/// deployment's storage, for the interop tests' cross-reads and for `bench/storage.sh`.
///
/// The account comes from `AZURE_STORAGE_CONNECTION_STRING` (or workload identity), else the
/// development account on 127.0.0.1:10000/10001.
@main
struct StorageTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storagetool",
        abstract: "Talk to Azure Blob and Queue Storage (or devstorage) through StorageKit.",
        subcommands: [
            Put.self, Upload.self, Get.self, List.self, SAS.self, Delete.self, Copy.self, Blocks.self, SetHeaders.self,
            QueuePut.self, QueueGet.self, QueueCount.self, Queues.self,
        ]
    )
}

/// Options every subcommand shares.
struct AccountOptions: ParsableArguments {
    @Option(help: "Block size in bytes for staged uploads.")
    var blockSize: Int = 4 << 20

    @Option(help: "Blocks in flight at once for staged uploads.")
    var concurrency: Int = 4

    /// The account from the environment (`AZURE_STORAGE_CONNECTION_STRING`, workload identity) or the development account.
    func account() throws -> StorageAccount {
        let reader = ConfigReader(provider: EnvironmentVariablesProvider())
        return try StorageAccount(configuration: .init(reader: reader))
    }

    func blobClient() throws -> BlobClient { BlobClient(account: try account()) }
}

import Foundation

extension BlobStore {
    /// Stores an uploaded block as the newest uncommitted version of `blockID`.
    /// Every block id of a blob must have the same length (400 `InvalidBlobOrBlock`).
    func stageBlock(_ account: String, _ container: String, _ name: String, blockID: String, upload: UploadedFile) throws {
        let key = Self.key(account, container)
        guard var state = containers[key] else { throw StorageServiceError.containerNotFound }
        let blobHash = Self.hash(name)
        var blocks = state.staged[blobHash] ?? [:]
        let otherLength = blocks.keys.first?.utf8.count ?? state.blobs[name]?.committedBlocks.first?.id.utf8.count
        if let otherLength, otherLength != blockID.utf8.count { throw StorageServiceError.invalidBlobOrBlock }
        if blocks[blockID] == nil, blocks.count >= 100_000 { throw StorageServiceError.blockCountExceedsLimit }
        let directory = stagingDirectory(account, container, name)
        try POSIXFile.makeDirectory(directory)
        sequence += 1
        let path = directory + "/" + Self.hex(blockID) + "." + String(sequence)
        try POSIXFile.rename(upload.path, to: path)
        if let replaced = blocks[blockID] { POSIXFile.remove(replaced.path) }
        blocks[blockID] = StagedBlock(path: path, size: upload.size, sequence: sequence)
        state.staged[blobHash] = blocks
        containers[key] = state
    }

    /// The committed and uncommitted blocks of a blob (Get Block List).
    func blockList(_ account: String, _ container: String, _ name: String) throws(StorageServiceError) -> (
        committed: [CommittedBlock], uncommitted: [(id: String, size: Int64)]
    ) {
        guard let state = containers[Self.key(account, container)] else { throw .containerNotFound }
        let staged = (state.staged[Self.hash(name)] ?? [:]).sorted { $0.value.sequence < $1.value.sequence }
        let blob = state.blobs[name]
        if blob == nil, staged.isEmpty { throw .blobNotFound }
        return (blob?.committedBlocks ?? [], staged.map { (id: $0.key, size: $0.value.size) })
    }

}

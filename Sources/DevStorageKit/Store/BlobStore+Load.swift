import Foundation
import Logging

extension BlobStore {
    /// Reads everything back after a (re)start. What a crash left behind is removed: temporary
    /// files, data files no record names, superseded block versions, the empty directories of a
    /// Create Container that never wrote its `container.json`. What cannot be read (a
    /// `container.json` or a blob record that does not decode, a staged block with a name the store
    /// never writes) is moved to the quarantine folder with a warning, never deleted; the rest of the
    /// store loads as usual.
    func load() throws {
        POSIXFile.removeTree(temporaryDirectory)
        try POSIXFile.makeDirectory(temporaryDirectory)
        try POSIXFile.makeDirectory(root)
        let quarantine = Quarantine(dataDirectory: dataDirectory, logger: logger)
        for account in POSIXFile.list(root) {
            for name in POSIXFile.list("\(root)/\(account)") {
                if let container = loadContainer(account, name, quarantine: quarantine) {
                    containers[Self.key(account, name)] = container
                }
            }
        }
    }

    /// One container directory, or nil when it was removed (incomplete) or quarantined (unreadable).
    private func loadContainer(_ account: String, _ name: String, quarantine: Quarantine) -> Container? {
        let directory = containerDirectory(account, name)
        guard let record = quarantine.record(ContainerRecord.self, "container.json", in: directory, kind: "container") else { return nil }
        var container = Container(record: record)
        var referenced = Set<String>()
        var quarantinedRecords = false
        for file in POSIXFile.list(directory + "/blobs") {
            let path = directory + "/blobs/" + file
            guard file.hasSuffix(".json"), let blob = StoreCoding.decode(BlobRecord.self, at: path) else {
                quarantine.move(path, reason: "blob record is unreadable or does not decode")
                quarantinedRecords = true
                continue
            }
            container.blobs[blob.name] = blob
            referenced.formUnion(blob.files)
        }
        for file in POSIXFile.list(directory + "/data") where !referenced.contains(file) {
            let path = directory + "/data/" + file
            if quarantinedRecords {
                // The data of a quarantined record: kept beside it so the blob can be restored.
                quarantine.move(path, reason: "data file named by no readable record in a container with a quarantined record")
            } else {
                POSIXFile.remove(path)  // written by an upload that crashed before its commit
            }
        }
        for blobHash in POSIXFile.list(directory + "/staging") {
            if let blocks = loadStaged(directory + "/staging/" + blobHash, quarantine: quarantine) {
                container.staged[blobHash] = blocks
            }
        }
        return container
    }

    /// The newest version of each uncommitted block in one blob's staging directory (nil when none).
    private func loadStaged(_ stagingDirectory: String, quarantine: Quarantine) -> [String: StagedBlock]? {
        var blocks: [String: StagedBlock] = [:]
        for file in POSIXFile.list(stagingDirectory) {
            let path = stagingDirectory + "/" + file
            let parts = file.split(separator: ".")
            guard parts.count == 2, let id = Self.blockID(fromHex: parts[0]), let sequence = UInt64(parts[1]),
                let size = POSIXFile.size(path)
            else {
                quarantine.move(path, reason: "staged block with a name devstorage does not write")
                continue
            }
            self.sequence = max(self.sequence, sequence)
            if let existing = blocks[id] {
                if existing.sequence > sequence {
                    POSIXFile.remove(path)  // superseded (a crash between staging and removing the old)
                    continue
                }
                POSIXFile.remove(existing.path)
            }
            blocks[id] = StagedBlock(path: path, size: size, sequence: sequence)
        }
        if blocks.isEmpty {
            POSIXFile.removeEmptyDirectory(stagingDirectory)
            return nil
        }
        return blocks
    }
}

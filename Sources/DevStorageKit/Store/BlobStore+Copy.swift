import Foundation

extension BlobStore {
    /// Where a copy reads from and how its result is described.
    struct CopyRequest: Sendable {
        var sourceAccount: String
        var sourceContainer: String
        var sourceName: String
        /// Conditions on the source (`x-ms-source-if-*`): 412 `SourceConditionNotMet`.
        var sourceConditions: BlobConditions
        /// Conditions on the destination: 412 / 409 as for Put Blob.
        var conditions: BlobConditions
        /// The destination's metadata; nil = the source's (Copy Blob without `x-ms-meta-*`).
        var metadata: [String: String]?
        /// The destination's content headers; nil = the source's.
        var properties: BlobProperties?
        /// `x-ms-access-tier` of the destination, if sent.
        var tier: String?
        /// Copy properties to record (Copy Blob); nil for Put Blob From URL.
        var copy: BlobCopyState?
        /// Whether the block list is kept (Copy Blob) or dropped (Put Blob From URL).
        var keepsBlockList: Bool
    }

    /// Copy Blob / Put Blob From URL within this devstorage, synchronously and without copying
    /// bytes: the source's data files are hard-linked under new names into the destination
    /// container (data files are never modified, and each name is removed independently).
    func copyBlob(_ account: String, _ container: String, _ name: String, request: CopyRequest, now: Date) throws -> BlobRecord {
        guard let sourceState = containers[Self.key(request.sourceAccount, request.sourceContainer)],
            let source = sourceState.blobs[request.sourceName]
        else { throw StorageServiceError.copySourceNotFound }
        if source.accessTier == "Archive" { throw StorageServiceError.blobArchived }
        do {
            try request.sourceConditions.checkWrite(existing: source, creates: false)
        } catch {
            throw StorageServiceError.sourceConditionNotMet
        }
        guard let state = containers[Self.key(account, container)] else { throw StorageServiceError.containerNotFound }
        let existing = state.blobs[name]
        try request.conditions.checkWrite(existing: existing, creates: true)
        var linked: [String: String] = [:]  // source file → destination file
        for file in source.files { linked[file] = UUID().uuidString.lowercased() }
        try POSIXFile.link(
            linked.map { file, copy in
                (source: dataPath(request.sourceAccount, request.sourceContainer, file), destination: dataPath(account, container, copy))
            })
        var copy = request.copy
        copy?.progress = "\(source.size)/\(source.size)"
        let segments = source.segments.map { BlobSegment(file: linked[$0.file] ?? $0.file, offset: $0.offset, length: $0.length) }
        let record = BlobRecord(
            name: name, segments: segments, size: source.size, properties: request.properties ?? source.properties,
            contentMD5: source.contentMD5, metadata: request.metadata ?? source.metadata, etag: ETagGenerator.make(at: now),
            created: existing?.created ?? now, lastModified: now,
            committedBlocks: request.keepsBlockList ? source.committedBlocks : [], copy: copy,
            accessTier: request.tier, accessTierChanged: request.tier == nil ? nil : now)
        return try commit(record, replacing: existing, account, container, newFiles: Set(linked.values))
    }

    /// Changes one committed blob's sidecar: checks the conditions, applies `change`, writes it.
    /// `touches` gives the blob a new ETag and Last-Modified (Set Blob Properties) or not (Set Blob Tier).
    func updateBlob(
        _ account: String, _ container: String, _ name: String, conditions: BlobConditions, touches: Bool, now: Date,
        _ change: (inout BlobRecord) throws -> Void
    ) throws -> BlobRecord {
        var record = try blob(account, container, name)
        try conditions.checkWrite(existing: record, creates: false)
        try change(&record)
        if touches {
            record.etag = ETagGenerator.make(at: now)
            record.lastModified = now
        }
        try writeJSON(record, to: sidecarPath(account, container, name))
        containers[Self.key(account, container)]?.blobs[name] = record
        return record
    }
}

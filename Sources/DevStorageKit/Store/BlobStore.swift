import Crypto
import Foundation
import Logging
import NIOCore

/// Containers, committed blobs and uncommitted blocks, on disk under `{root}/blob` and indexed in
/// memory.
///
/// Layout per container `{root}/blob/{account}/{container}/`:
/// - `container.json`: the container record;
/// - `blobs/{sha256(name)}.json`: one sidecar per committed blob (the commit point);
/// - `data/{uuid}`: blob data files, written once and never modified;
/// - `staging/{sha256(name)}/{hex(block id)}.{sequence}`: uncommitted blocks.
///
/// Bodies are streamed to `{root}/tmp` outside the actor; the actor only renames finished files into
/// place and writes small JSON files, synchronously, on its own thread (`StoreThread`), so every
/// state change is atomic with respect to other requests and crash-safe (temp → fsync → rename →
/// fsync of the directory). What cannot be read back at start-up is quarantined, never deleted
/// (`BlobStore+Load.swift`).
actor BlobStore {
    /// A container's in-memory state.
    struct Container {
        var record: ContainerRecord
        var blobs: [String: BlobRecord] = [:]
        /// Uncommitted blocks by blob-name hash, then block id.
        var staged: [String: [String: StagedBlock]] = [:]
        /// Blob names sorted by UTF-8 bytes; nil when it must be rebuilt.
        var sortedNames: [String]? = nil
    }

    let dataDirectory: String
    let root: String
    let temporaryDirectory: String
    let logger: Logger
    private nonisolated let thread: StoreThread
    /// Internal (not private) so the store's extensions in other files reach it; actor-isolated.
    var containers: [String: Container] = [:]
    /// Files that readers still use (removal waits for them).
    nonisolated let pins = PinTable()
    /// Staging order of uncommitted blocks (internal for `BlobStore+Blocks.swift`; actor-isolated).
    var sequence: UInt64 = 0

    /// The store runs on its own thread (see `StoreThread`).
    nonisolated var unownedExecutor: UnownedSerialExecutor { thread.loop.executor.asUnownedSerialExecutor() }

    init(dataDirectory: String, thread: StoreThread, logger: Logger) {
        self.dataDirectory = dataDirectory
        self.root = dataDirectory + "/blob"
        self.temporaryDirectory = dataDirectory + "/tmp"
        self.thread = thread
        self.logger = logger
    }

    // MARK: Paths

    func containerDirectory(_ account: String, _ container: String) -> String { "\(root)/\(account)/\(container)" }
    static func key(_ account: String, _ container: String) -> String { account + "/" + container }
    static func hash(_ name: String) -> String {
        SHA256.hash(data: Data(name.utf8)).map { String(format: "%02x", $0) }.joined()
    }
    func sidecarPath(_ account: String, _ container: String, _ name: String) -> String {
        containerDirectory(account, container) + "/blobs/" + Self.hash(name) + ".json"
    }
    func dataPath(_ account: String, _ container: String, _ file: String) -> String {
        containerDirectory(account, container) + "/data/" + file
    }
    func stagingDirectory(_ account: String, _ container: String, _ name: String) -> String {
        containerDirectory(account, container) + "/staging/" + Self.hash(name)
    }
    /// A fresh temporary path for a body being streamed in (same file system as the data).
    nonisolated func newTemporaryPath() -> String {
        temporaryDirectory + "/" + UUID().uuidString + ".tmp-upload"
    }

    // MARK: Containers

    /// The container's record, or 404 `ContainerNotFound`.
    func container(_ account: String, _ name: String) throws(StorageServiceError) -> ContainerRecord {
        guard let container = containers[Self.key(account, name)] else { throw .containerNotFound }
        return container.record
    }

    /// Creates a container; 409 `ContainerAlreadyExists` if it exists.
    func createContainer(_ account: String, _ name: String, metadata: [String: String], now: Date) throws -> ContainerRecord {
        let key = Self.key(account, name)
        guard containers[key] == nil else { throw StorageServiceError.containerAlreadyExists }
        let record = ContainerRecord(name: name, etag: ETagGenerator.make(at: now), lastModified: now, metadata: metadata)
        let directory = containerDirectory(account, name)
        for sub in ["blobs", "data", "staging"] { try POSIXFile.makeDirectory(directory + "/" + sub) }
        try writeJSON(record, to: directory + "/container.json")
        containers[key] = Container(record: record)
        return record
    }

    /// Replaces a container's metadata.
    func setContainerMetadata(_ account: String, _ name: String, metadata: [String: String], now: Date) throws -> ContainerRecord {
        let key = Self.key(account, name)
        guard var container = containers[key] else { throw StorageServiceError.containerNotFound }
        container.record.metadata = metadata
        container.record.etag = ETagGenerator.make(at: now)
        container.record.lastModified = now
        try writeJSON(container.record, to: containerDirectory(account, name) + "/container.json")
        containers[key] = container
        return container.record
    }

    /// Deletes a container and everything in it.
    func deleteContainer(_ account: String, _ name: String) throws {
        let key = Self.key(account, name)
        guard containers[key] != nil else { throw StorageServiceError.containerNotFound }
        let directory = containerDirectory(account, name)
        // Rename first so a crash mid-delete never leaves a half-deleted container that loads.
        let doomed = temporaryDirectory + "/" + UUID().uuidString + ".deleted"
        try POSIXFile.rename(directory, to: doomed)
        containers[key] = nil
        POSIXFile.removeTree(doomed)
    }

    /// The container names of an account, sorted.
    func containerNames(_ account: String) -> [ContainerRecord] {
        containers.filter { $0.key.hasPrefix(account + "/") }.map(\.value.record).sorted { $0.name < $1.name }
    }

    // MARK: Blobs

    /// The blob's record, or 404 `ContainerNotFound` / `BlobNotFound`.
    func blob(_ account: String, _ container: String, _ name: String) throws(StorageServiceError) -> BlobRecord {
        guard let state = containers[Self.key(account, container)] else { throw .containerNotFound }
        guard let blob = state.blobs[name] else { throw .blobNotFound }
        return blob
    }

    /// The blob's record, if any (404 only for a missing container).
    func existingBlob(_ account: String, _ container: String, _ name: String) throws(StorageServiceError) -> BlobRecord? {
        guard let state = containers[Self.key(account, container)] else { throw .containerNotFound }
        return state.blobs[name]
    }

    /// The blob's record with a read lease on its data files, consistent with each other even if the
    /// blob is overwritten or deleted while the caller reads.
    func openBlob(_ account: String, _ container: String, _ name: String) throws -> (BlobRecord, BlobReadLease) {
        let record = try blob(account, container, name)
        let segments = record.segments.map {
            BlobReadLease.Segment(path: dataPath(account, container, $0.file), offset: $0.offset, length: $0.length)
        }
        return (record, BlobReadLease(segments: segments, pins: pins))
    }

    /// Put Blob: commits an uploaded temporary file as the blob's new content. Checks the conditions
    /// against the current blob, moves the file into place, writes the sidecar, drops the old data
    /// and all uncommitted blocks.
    func commitUpload(
        _ account: String, _ container: String, _ name: String, upload: UploadedFile, conditions: BlobConditions,
        properties: BlobProperties, metadata: [String: String], now: Date
    ) throws -> BlobRecord {
        guard let state = containers[Self.key(account, container)] else { throw StorageServiceError.containerNotFound }
        let existing = state.blobs[name]
        try conditions.checkWrite(existing: existing, creates: true)
        let dataFile = UUID().uuidString.lowercased()
        try POSIXFile.rename(upload.path, to: dataPath(account, container, dataFile))
        let record = BlobRecord(
            name: name, segments: [BlobSegment(file: dataFile, offset: 0, length: upload.size)], size: upload.size,
            properties: properties, contentMD5: upload.md5?.base64EncodedString(), metadata: metadata,
            etag: ETagGenerator.make(at: now), created: existing?.created ?? now, lastModified: now, committedBlocks: [])
        return try commit(record, replacing: existing, account, container, newFiles: [dataFile])
    }

    /// Which block a Put Block List entry names.
    enum BlockChoice: Sendable {
        case latest, committed, uncommitted
    }

    /// Put Block List: resolves the list against the uncommitted blocks and the current committed
    /// list (400 `InvalidBlockList` for an unknown id), checks the conditions, and commits. No bytes
    /// are copied: uncommitted blocks are hard-linked into the data directory, committed ones are
    /// re-used segments. The staging files are removed only after the sidecar is written, so a crash
    /// before that leaves the blocks staged for a retry.
    func commitBlockList(
        _ account: String, _ container: String, _ name: String, entries: [(BlockChoice, String)],
        conditions: BlobConditions, properties: BlobProperties, contentMD5: String?, metadata: [String: String], now: Date
    ) throws -> BlobRecord {
        guard let state = containers[Self.key(account, container)] else { throw StorageServiceError.containerNotFound }
        let existing = state.blobs[name]
        try conditions.checkWrite(existing: existing, creates: true)
        guard entries.count <= 50_000 else { throw StorageServiceError.blockCountExceedsLimit }
        let staged = state.staged[Self.hash(name)] ?? [:]
        var committed: [String: BlobSegment] = [:]
        if let existing {
            for (block, segment) in zip(existing.committedBlocks, existing.segments) { committed[block.id] = segment }
        }
        var linked: [String: String] = [:]  // staging path → new data file
        var segments: [BlobSegment] = []
        var blocks: [CommittedBlock] = []
        for (choice, id) in entries {
            let segment: BlobSegment
            switch (choice, staged[id], committed[id]) {
            case (.latest, let block?, _), (.uncommitted, let block?, _):
                let file = linked[block.path] ?? UUID().uuidString.lowercased()
                linked[block.path] = file
                segment = BlobSegment(file: file, offset: 0, length: block.size)
            case (.latest, nil, let reused?), (.committed, _, let reused?):
                segment = reused
            default:
                throw StorageServiceError.invalidBlockList
            }
            segments.append(segment)
            blocks.append(CommittedBlock(id: id, size: segment.length))
        }
        try POSIXFile.link(linked.map { (source: $0.key, destination: dataPath(account, container, $0.value)) })
        let size = segments.reduce(0) { $0 + $1.length }
        let record = BlobRecord(
            name: name, segments: segments, size: size, properties: properties, contentMD5: contentMD5, metadata: metadata,
            etag: ETagGenerator.make(at: now), created: existing?.created ?? now, lastModified: now, committedBlocks: blocks)
        return try commit(record, replacing: existing, account, container, newFiles: Set(linked.values))
    }

    /// Writes the sidecar (the commit point), then drops the previous version's files that the new
    /// one does not use and all uncommitted blocks. On failure the new files are removed.
    func commit(
        _ record: BlobRecord, replacing existing: BlobRecord?, _ account: String, _ container: String, newFiles: Set<String>
    ) throws -> BlobRecord {
        let key = Self.key(account, container)
        do {
            try writeJSON(record, to: sidecarPath(account, container, record.name))
        } catch {
            for file in newFiles { POSIXFile.remove(dataPath(account, container, file)) }
            throw error
        }
        for file in (existing?.files ?? []).subtracting(record.files) { pins.remove(dataPath(account, container, file)) }
        guard var state = containers[key] else { return record }
        if existing == nil { state.sortedNames = nil }
        state.blobs[record.name] = record
        discardStaged(&state, account, container, record.name)
        containers[key] = state
        return record
    }

    /// Replaces a blob's metadata (new ETag and Last-Modified).
    func setBlobMetadata(
        _ account: String, _ container: String, _ name: String, metadata: [String: String], conditions: BlobConditions, now: Date
    ) throws -> BlobRecord {
        let key = Self.key(account, container)
        var record = try blob(account, container, name)
        try conditions.checkWrite(existing: record, creates: false)
        record.metadata = metadata
        record.etag = ETagGenerator.make(at: now)
        record.lastModified = now
        try writeJSON(record, to: sidecarPath(account, container, name))
        containers[key]?.blobs[name] = record
        return record
    }

    /// Deletes a blob (and its uncommitted blocks).
    func deleteBlob(_ account: String, _ container: String, _ name: String, conditions: BlobConditions) throws {
        let key = Self.key(account, container)
        let record = try blob(account, container, name)
        try conditions.checkWrite(existing: record, creates: false)
        POSIXFile.remove(sidecarPath(account, container, name))
        for file in record.files { pins.remove(dataPath(account, container, file)) }
        guard var state = containers[key] else { return }
        state.blobs[name] = nil
        state.sortedNames = nil
        discardStaged(&state, account, container, name)
        containers[key] = state
    }

    /// One page of List Blobs (see `BlobListing.page`).
    func list(
        _ account: String, _ container: String, prefix: String, delimiter: String?, start: String?, maxResults: Int
    ) throws(StorageServiceError) -> BlobListing {
        let key = Self.key(account, container)
        guard var state = containers[key] else { throw .containerNotFound }
        let names: [String]
        if let sorted = state.sortedNames {
            names = sorted
        } else {
            names = state.blobs.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            state.sortedNames = names
            containers[key] = state
        }
        return BlobListing.page(
            names: names, prefix: prefix, delimiter: delimiter, start: start, maxResults: maxResults,
            record: { state.blobs[$0] })
    }

    // MARK: Helpers

    func discardStaged(_ state: inout Container, _ account: String, _ container: String, _ name: String) {
        let blobHash = Self.hash(name)
        guard let blocks = state.staged.removeValue(forKey: blobHash) else { return }
        for block in blocks.values { POSIXFile.remove(block.path) }
        POSIXFile.removeEmptyDirectory(stagingDirectory(account, container, name))
    }

    func writeJSON(_ value: some Encodable, to path: String) throws {
        try POSIXFile.writeAtomically(try StoreCoding.encode(value), to: path, temporaryDirectory: temporaryDirectory)
    }

    static func hex(_ id: String) -> String {
        id.utf8.map { String(format: "%02x", $0) }.joined()
    }

    static func blockID(fromHex hex: Substring) -> String? {
        guard hex.utf8.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A container's stored state.
struct ContainerRecord: Codable, Sendable {
    var name: String
    var etag: String
    var lastModified: Date
    var metadata: [String: String]
}

/// A committed blob's stored state. `dataFile` names the file holding its bytes (Put Blob), or
/// `parts` the committed block files in order (Put Block List: blocks are moved, never copied).
/// The record is written after the data, so the record's atomic rename is the commit point.
struct BlobRecord: Codable, Sendable {
    struct Part: Codable, Sendable {
        var file: String
        var size: Int
    }
    var name: String
    var dataFile: String
    var parts: [Part]? = nil
    var size: Int
    var contentType: String?
    var contentEncoding: String?
    var contentLanguage: String?
    var contentDisposition: String?
    var cacheControl: String?
    var contentMD5: String?
    var etag: String
    var created: Date
    var lastModified: Date
    var metadata: [String: String]
}

/// Blob data on disk, indexed in memory:
/// `{root}/blob/{account}/{container}/container.json`, `blobs/{sha256(name)}.json` + its data file,
/// `blocks/{sha256(name)}/{hex(blockid)}` for uncommitted blocks.
actor BlobStore {
    let root: String
    var containers: [String: ContainerRecord] = [:]  // key: account/container
    var blobs: [String: [String: BlobRecord]] = [:]  // key: account/container → name → record

    init(root: String) throws {
        self.root = root + "/blob"
        try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: true)
        try Self.load(root: self.root, containers: &containers, blobs: &blobs)
    }

    /// Reads every record back after a restart and removes files no record points at.
    static func load(root: String, containers: inout [String: ContainerRecord], blobs: inout [String: [String: BlobRecord]]) throws {
        let fm = FileManager.default
        let decoder = JSONDecoder()
        for account in (try? fm.contentsOfDirectory(atPath: root)) ?? [] {
            for container in (try? fm.contentsOfDirectory(atPath: "\(root)/\(account)")) ?? [] {
                let dir = "\(root)/\(account)/\(container)"
                guard let data = fm.contents(atPath: "\(dir)/container.json"),
                    let record = try? decoder.decode(ContainerRecord.self, from: data)
                else { continue }
                let key = "\(account)/\(container)"
                containers[key] = record
                var index: [String: BlobRecord] = [:]
                var referenced = Set<String>()
                let files = (try? fm.contentsOfDirectory(atPath: "\(dir)/blobs")) ?? []
                for file in files where file.hasSuffix(".json") {
                    if let data = fm.contents(atPath: "\(dir)/blobs/\(file)"), let blob = try? decoder.decode(BlobRecord.self, from: data) {
                        index[blob.name] = blob
                        referenced.formUnion(blob.files)
                    }
                }
                for file in files where !file.hasSuffix(".json") && !referenced.contains(file) {
                    try? fm.removeItem(atPath: "\(dir)/blobs/\(file)")
                }
                blobs[key] = index
            }
        }
    }

    func containerDirectory(_ account: String, _ container: String) -> String { "\(root)/\(account)/\(container)" }

    // MARK: Containers

    func container(_ account: String, _ name: String) -> ContainerRecord? { containers["\(account)/\(name)"] }

    func createContainer(_ account: String, _ name: String, metadata: [String: String], now: Date) async throws -> ContainerRecord? {
        let key = "\(account)/\(name)"
        guard containers[key] == nil else { return nil }
        let record = ContainerRecord(name: name, etag: ETag.make(now), lastModified: now, metadata: metadata)
        containers[key] = record
        blobs[key] = [:]
        let dir = containerDirectory(account, name)
        try FileManager.default.createDirectory(atPath: dir + "/blobs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/blocks", withIntermediateDirectories: true)
        try await DiskFile.write(try JSONEncoder().encode(record), to: dir + "/container.json")
        return record
    }

    func deleteContainer(_ account: String, _ name: String) throws -> Bool {
        let key = "\(account)/\(name)"
        guard containers.removeValue(forKey: key) != nil else { return false }
        blobs[key] = nil
        try FileManager.default.removeItem(atPath: containerDirectory(account, name))
        return true
    }

    // MARK: Blobs

    func blob(_ account: String, _ container: String, _ name: String) -> BlobRecord? { blobs["\(account)/\(container)"]?[name] }

    func list(_ account: String, _ container: String) -> [BlobRecord] {
        (blobs["\(account)/\(container)"] ?? [:]).values.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    /// A fresh path in the container for new blob data (written before the record points at it).
    func newDataPath(_ account: String, _ container: String, _ name: String) -> (file: String, path: String) {
        let file = DiskFile.name(for: name) + "-" + UUID().uuidString.lowercased() + ".data"
        return (file, containerDirectory(account, container) + "/blobs/" + file)
    }

    /// The files holding a blob's bytes, in order, with their sizes.
    func dataSegments(_ account: String, _ container: String, _ record: BlobRecord) -> [(path: String, size: Int)] {
        let dir = containerDirectory(account, container) + "/blobs/"
        guard let parts = record.parts else { return [(dir + record.dataFile, record.size)] }
        return parts.map { (dir + $0.file, $0.size) }
    }

    /// Moves committed blocks into the container's blob files (a rename each: no bytes copied).
    /// A block listed twice is copied for its second use. The record must be committed afterwards.
    func adoptBlocks(_ account: String, _ container: String, _ name: String, blockIDs: [String]) async throws -> [BlobRecord.Part] {
        var parts: [BlobRecord.Part] = []
        var moved: [String: String] = [:]
        let dir = containerDirectory(account, container) + "/blobs/"
        let stem = DiskFile.name(for: name) + "-" + UUID().uuidString.lowercased()
        for (index, id) in blockIDs.enumerated() {
            let source = try blockPath(account, container, name, blockID: id)
            let file = "\(stem)-\(index).part"
            if let first = moved[id] {
                _ = try await DiskFile.concatenate([dir + first], to: dir + file)
            } else {
                guard rename(source, dir + file) == 0 else { throw IOError(errnoCode: errno, reason: "rename block") }
                moved[id] = file
            }
            let size = (try FileManager.default.attributesOfItem(atPath: dir + file)[.size] as? Int) ?? 0
            parts.append(.init(file: file, size: size))
        }
        return parts
    }

    /// Commits a record (after its data file is durable) and drops the data it replaces.
    func commit(_ account: String, _ container: String, _ record: BlobRecord) async throws {
        let key = "\(account)/\(container)"
        let dir = containerDirectory(account, container)
        try await DiskFile.write(try JSONEncoder().encode(record), to: "\(dir)/blobs/\(DiskFile.name(for: record.name)).json")
        let old = blobs[key]?[record.name]
        blobs[key, default: [:]][record.name] = record
        for file in Set(old?.files ?? []).subtracting(record.files) { try? FileManager.default.removeItem(atPath: "\(dir)/blobs/\(file)") }
    }

    func delete(_ account: String, _ container: String, _ name: String) throws {
        let key = "\(account)/\(container)"
        guard let record = blobs[key]?.removeValue(forKey: name) else { return }
        let dir = containerDirectory(account, container)
        try? FileManager.default.removeItem(atPath: "\(dir)/blobs/\(DiskFile.name(for: name)).json")
        for file in record.files { try? FileManager.default.removeItem(atPath: "\(dir)/blobs/\(file)") }
        try? FileManager.default.removeItem(atPath: blockDirectory(account, container, name))
    }

    // MARK: Uncommitted blocks

    func blockDirectory(_ account: String, _ container: String, _ name: String) -> String {
        containerDirectory(account, container) + "/blocks/" + DiskFile.name(for: name)
    }

    func blockPath(_ account: String, _ container: String, _ name: String, blockID: String) throws -> String {
        let dir = blockDirectory(account, container, name)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/" + Data(blockID.utf8).map { String(format: "%02x", $0) }.joined()
    }

    /// The uncommitted block ids of a blob (decoded from their file names).
    func uncommittedBlocks(_ account: String, _ container: String, _ name: String) -> [String] {
        let dir = blockDirectory(account, container, name)
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.contains(".tmp-") }.compactMap { hex in
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

    func discardBlocks(_ account: String, _ container: String, _ name: String) {
        try? FileManager.default.removeItem(atPath: blockDirectory(account, container, name))
    }
}

extension BlobRecord {
    /// Every data file the record points at.
    var files: [String] { parts?.map(\.file) ?? [dataFile] }
}

/// ETags in Azure's shape: `0x8D…` from the time plus a counter, unique per write.
enum ETag {
    private static let counter = AtomicCounter()
    static func make(_ date: Date) -> String {
        let ticks = UInt64(max(0, date.timeIntervalSince1970) * 10_000_000) &+ 0x8D00_0000_0000_000
        return "\"0x" + String(ticks &+ counter.next(), radix: 16, uppercase: true) + "\""
    }
}

import Synchronization

final class AtomicCounter: Sendable {
    private let value = Atomic<UInt64>(0)
    func next() -> UInt64 { value.add(1, ordering: .relaxed).newValue }
}

import Foundation
import HTTPTypes

/// `x-ms-meta-*` headers: names must be C# identifiers, are compared case-insensitively and keep
/// their case; names and values together may not exceed 8 KiB.
enum Metadata {
    static let prefix = "x-ms-meta-"

    /// The metadata a request sets. Throws 400 `InvalidMetadata` / `MetadataTooLarge`.
    static func parse(_ headers: HTTPFields) throws(StorageServiceError) -> [String: String] {
        var metadata: [String: String] = [:]
        var total = 0
        for field in headers {
            let raw = field.name.rawName
            guard raw.count > prefix.count, raw.lowercased().hasPrefix(prefix) else { continue }
            let name = String(raw.dropFirst(prefix.count))
            guard isIdentifier(name) else { throw .invalidMetadata(name) }
            if let existing = metadata.keys.first(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) {
                metadata[existing] = metadata[existing]! + "," + field.value
            } else {
                metadata[name] = field.value
            }
            total += name.utf8.count + field.value.utf8.count
        }
        guard total <= 8 * 1024 else { throw .metadataTooLarge }
        return metadata
    }

    /// Adds `x-ms-meta-{name}` response headers, names in case-insensitive order.
    static func add(_ metadata: [String: String], to headers: inout HTTPFields) {
        for (name, value) in sorted(metadata) {
            if let field = HTTPField.Name(prefix + name) { headers.append(HTTPField(name: field, value: value)) }
        }
    }

    /// Name/value pairs ordered by lower-cased name.
    static func sorted(_ metadata: [String: String]) -> [(name: String, value: String)] {
        metadata.map { (name: $0.key, value: $0.value) }.sorted { $0.name.lowercased() < $1.name.lowercased() }
    }

    /// Whether two metadata sets are equal with names compared case-insensitively.
    static func equal(_ lhs: [String: String], _ rhs: [String: String]) -> Bool {
        func normalised(_ metadata: [String: String]) -> [String: String] {
            Dictionary(metadata.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
        }
        return normalised(lhs) == normalised(rhs)
    }

    /// A C# identifier: a letter or `_`, then letters, digits or `_`.
    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0 == "_" || ("0"..."9").contains($0) }
    }
}

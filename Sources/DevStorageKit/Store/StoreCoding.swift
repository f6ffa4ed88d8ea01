import Foundation

/// How the stores write and read their JSON records (`container.json`, blob sidecars,
/// `queue.json`, messages): dates as seconds since 1970, keys sorted. Decoding ignores keys a
/// record type does not know, so a data directory written by a newer devstorage (extra fields)
/// still loads.
enum StoreCoding {
    /// The record's JSON.
    static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(value)
    }

    /// The record stored at `path`, or nil when it is missing, unreadable or does not decode.
    static func decode<Record: Decodable>(_ type: Record.Type, at path: String) -> Record? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try? decoder.decode(type, from: data)
    }
}

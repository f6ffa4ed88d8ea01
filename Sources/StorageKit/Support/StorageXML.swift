import XMLCoder

/// XML coders configured for Azure Storage's shapes, and escaping for the bodies we write.
public enum StorageXML {
    static func decoder() -> XMLDecoder {
        let decoder = XMLDecoder()
        decoder.shouldProcessNamespaces = false
        decoder.trimValueWhitespaces = false
        return decoder
    }

    /// Escapes text for XML character data.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}

/// A `<Metadata>` element of a listing: one child element per name. Azure writes `<Metadata />` when
/// there is none, which XMLCoder does not decode as a dictionary, so this reads the children with
/// dynamic keys and treats anything else as empty.
package struct XMLMetadata: Decodable, Sendable, Equatable {
    /// Name → value, names with their case as stored.
    package var values: [String: String]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    package init(from decoder: any Decoder) throws {
        var values: [String: String] = [:]
        if let container = try? decoder.container(keyedBy: Key.self) {
            for key in container.allKeys where !key.stringValue.isEmpty {
                values[key.stringValue] = (try? container.decode(String.self, forKey: key)) ?? ""
            }
        }
        self.values = values
    }
}

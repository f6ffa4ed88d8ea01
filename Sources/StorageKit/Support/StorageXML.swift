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

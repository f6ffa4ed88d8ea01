import Foundation

extension MultipartReader {
    /// The head of one part.
    struct Part {
        var headers: [(name: String, value: String)] = []
        /// `name` from `Content-Disposition: form-data; name="…"`.
        var fieldName: String? { disposition["name"] }
        /// `filename` from `Content-Disposition` (`filename*` preferred when present).
        var fileName: String? { disposition["filename*"].map(Self.decodeExtValue) ?? disposition["filename"] }
        var contentType: String? { headers.first { $0.name.lowercased() == "content-type" }?.value }

        private var disposition: [String: String] {
            guard let value = headers.first(where: { $0.name.lowercased() == "content-disposition" })?.value else { return [:] }
            return Self.parameters(value)
        }

        /// `form-data; name="file"; filename="a b.jpg"` → ["name": "file", "filename": "a b.jpg"].
        static func parameters(_ value: String) -> [String: String] {
            var result: [String: String] = [:]
            var rest = Substring(value)
            // Skip the disposition type.
            if let semicolon = rest.firstIndex(of: ";") { rest = rest[rest.index(after: semicolon)...] } else { return [:] }
            while !rest.isEmpty {
                rest = rest.drop { $0 == " " || $0 == "\t" || $0 == ";" }
                guard let equals = rest.firstIndex(of: "=") else { break }
                let key = rest[..<equals].trimmingSpaces().lowercased()
                rest = rest[rest.index(after: equals)...]
                var parsed = ""
                if rest.first == "\"" {
                    rest = rest.dropFirst()
                    var escaped = false
                    var end = rest.endIndex
                    for index in rest.indices {
                        let character = rest[index]
                        if escaped { parsed.append(character); escaped = false; continue }
                        if character == "\\" { escaped = true; continue }
                        if character == "\"" { end = index; break }
                        parsed.append(character)
                    }
                    rest = end < rest.endIndex ? rest[rest.index(after: end)...] : ""
                } else {
                    let end = rest.firstIndex(of: ";") ?? rest.endIndex
                    parsed = String(rest[..<end]).trimmingSpaces()
                    rest = rest[end...]
                }
                if result[key] == nil { result[key] = parsed }
            }
            return result
        }

        /// RFC 5987 `UTF-8''na%C3%AFve.jpg` → `naïve.jpg`.
        static func decodeExtValue(_ value: String) -> String {
            let parts = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
            let encoded = parts.count == 3 ? String(parts[2]) : value
            return encoded.removingPercentEncoding ?? encoded
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

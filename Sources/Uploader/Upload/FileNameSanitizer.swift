/// Turns a client's file name into something safe to keep as blob metadata and to show back.
///
/// The name never becomes part of a blob name (those are generated); it is kept only so users can
/// recognise their files. Path components (`/`, `\`, `C:`), control and format characters (NUL,
/// CR/LF, bidi overrides), and anything outside printable ASCII are removed — blob metadata
/// values travel as HTTP headers, which are ASCII. The result is capped at `maxLength` characters
/// and is nil when nothing useful is left.
enum FileNameSanitizer {
    static let maxLength = 128

    static func sanitize(_ raw: String?) -> String? {
        guard let raw, !raw.isEmpty else { return nil }
        // Cut at the first NUL: `a.jpg\0.php` is `a.jpg` to anything that reads C strings.
        let beforeNul = raw.split(separator: "\0", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        // Keep only the last path component, whichever separator the client's OS uses.
        let lastComponent = beforeNul.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var kept = ""
        for scalar in lastComponent.unicodeScalars {
            if scalar.value >= 0x20, scalar.value < 0x7F, !"\"<>|:*?%".unicodeScalars.contains(scalar) {
                kept.unicodeScalars.append(scalar)
            } else if scalar.value >= 0x80, scalar.properties.generalCategory != .format,
                scalar.properties.generalCategory != .control, !scalar.properties.isWhitespace
            {
                kept.append("_")  // non-ASCII letters become `_` (metadata is ASCII)
            }
        }
        var trimmed = kept.trimmingEdges(" .")
        if trimmed.count > maxLength {
            // Keep the extension visible: `very-long…name.jpg`.
            let ext = trimmed.split(separator: ".").last.map { ".\($0.prefix(10))" } ?? ""
            trimmed = String(trimmed.prefix(maxLength - ext.count)) + ext
        }
        return trimmed.isEmpty || trimmed == "." || trimmed == ".." ? nil : trimmed
    }
}

extension String {
    fileprivate func trimmingEdges(_ set: String) -> String {
        var s = Substring(self)
        while let first = s.first, set.contains(first) { s.removeFirst() }
        while let last = s.last, set.contains(last) { s.removeLast() }
        return String(s)
    }
}

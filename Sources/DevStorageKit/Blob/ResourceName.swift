import HTTPTypes

/// Container and queue names: 3–63 characters of lowercase letters, digits and `-`, starting with
/// a letter or digit, no `--`, no trailing `-`.
enum ResourceName {
    /// The name if valid; 400 `OutOfRangeInput` for a bad length, `InvalidResourceName` otherwise.
    static func validate(_ name: String) throws(StorageServiceError) -> String {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else {
            throw StorageServiceError(.badRequest, "OutOfRangeInput", "The specified resource name length is not within the permissible limits.")
        }
        let allowed = bytes.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
        guard allowed, bytes.first != 0x2D, bytes.last != 0x2D, !name.contains("--") else { throw .invalidResourceName() }
        return name
    }
}

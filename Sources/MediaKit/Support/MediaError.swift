/// Why a file could not be processed. `code` decides what the processor does with the job:
/// `unsupported`, `corrupt`, `limit` and `crashed` are permanent (poison at once); `cancelled` means
/// the job was stopped (lease lost, shutdown) and is retried elsewhere.
public struct MediaError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    /// The kind of failure (stable strings: they appear in status documents).
    public struct Code: RawRepresentable, Hashable, Sendable, Codable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// Not a format or codec the pipeline handles.
        public static let unsupported = Code(rawValue: "unsupported")
        /// Damaged, truncated or malformed data.
        public static let corrupt = Code(rawValue: "corrupt")
        /// Over a configured limit (pixels, dimensions, frames, duration, size).
        public static let limit = Code(rawValue: "limit")
        /// Stopped from outside.
        public static let cancelled = Code(rawValue: "cancelled")
        /// A failure inside a codec library that is not the input's fault.
        public static let `internal` = Code(rawValue: "internal")
        /// The isolated process decoding the file died by a signal, twice in a row: the file makes
        /// a library crash (the reason names the signal).
        public static let crashed = Code(rawValue: "crashed")
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// True for failures that retrying cannot fix.
    public var isPermanent: Bool { code == .unsupported || code == .corrupt || code == .limit || code == .crashed }

    public var description: String { "\(code.rawValue): \(reason)" }
}

/// A NUL-terminated C string held in a `[CChar]` buffer.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

import Foundation
import HTTPTypes

/// The header fields of both resumable protocols and their parsing: tus 1.0's plain integers,
/// `Upload-Metadata` and `Upload-Checksum`; the IETF draft's structured-field booleans and integers
/// (RFC 8941). Pure functions: each bad value is nil, and the caller answers 400 naming the field.
enum ResumableHeaders {
    static let tusResumable = HTTPField.Name("Tus-Resumable")!
    static let tusVersion = HTTPField.Name("Tus-Version")!
    static let tusExtension = HTTPField.Name("Tus-Extension")!
    static let tusMaxSize = HTTPField.Name("Tus-Max-Size")!
    static let tusChecksumAlgorithm = HTTPField.Name("Tus-Checksum-Algorithm")!
    static let uploadOffset = HTTPField.Name("Upload-Offset")!
    static let uploadLength = HTTPField.Name("Upload-Length")!
    static let uploadDeferLength = HTTPField.Name("Upload-Defer-Length")!
    static let uploadMetadata = HTTPField.Name("Upload-Metadata")!
    static let uploadExpires = HTTPField.Name("Upload-Expires")!
    static let uploadChecksum = HTTPField.Name("Upload-Checksum")!
    static let uploadComplete = HTTPField.Name("Upload-Complete")!
    static let uploadIncomplete = HTTPField.Name("Upload-Incomplete")!
    static let uploadLimit = HTTPField.Name("Upload-Limit")!
    static let draftInteropVersion = HTTPField.Name("Upload-Draft-Interop-Version")!
    /// The job an upload becomes (known from creation; queued on the last byte).
    static let jobId = HTTPField.Name("X-Job-Id")!

    static let tusVersionValue = "1.0.0"
    static let tusExtensions = "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum"
    static let tusContentType = "application/offset+octet-stream"
    static let draftPatchContentType = "application/partial-upload"
    /// Interop versions of draft-ietf-httpbis-resumable-upload understood (Apple's URLSession sends
    /// 3 on iOS 17 and 6 on iOS 18; swift-nio-extras' NIOResumableUpload speaks 3, 5 and 6).
    static let draftVersions = 3...6

    /// A non-negative decimal integer (tus `Upload-Offset`, `Upload-Length`).
    static func integer(_ value: String?) -> Int? {
        guard let value, !value.isEmpty, value.count <= 18, value.allSatisfy(\.isASCII), value.allSatisfy(\.isNumber) else { return nil }
        return Int(value)
    }

    /// An RFC 8941 boolean item: `?1` or `?0` (parameters after `;` ignored).
    static func structuredBoolean(_ value: String?) -> Bool? {
        guard let value else { return nil }
        switch value.split(separator: ";", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces) {
        case "?1": return true
        case "?0": return false
        default: return nil
        }
    }

    /// An RFC 8941 integer item, non-negative (parameters after `;` ignored).
    static func structuredInteger(_ value: String?) -> Int? {
        integer(value?.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) })
    }

    /// tus `Upload-Metadata`: comma-separated `key base64value` pairs (or a bare key). Nil when
    /// malformed (a key twice, a value that is not base64).
    static func metadata(_ value: String) -> [String: String]? {
        var result: [String: String] = [:]
        for pair in value.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: " ", omittingEmptySubsequences: true)
            guard (1...2).contains(parts.count), result[String(parts[0])] == nil else { return nil }
            if parts.count == 2 {
                guard let data = Data(base64Encoded: String(parts[1])) else { return nil }
                result[String(parts[0])] = String(decoding: data, as: UTF8.self)
            } else {
                result[String(parts[0])] = ""
            }
        }
        return result
    }

    /// tus `Upload-Checksum`: `sha1 <base64>` or `md5 <base64>`. Nil when malformed or of an
    /// algorithm not offered (`Tus-Checksum-Algorithm`).
    static func checksum(_ value: String) -> ResumableUploads.Checksum? {
        let parts = value.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let algorithm = ResumableUploads.Checksum.Algorithm(rawValue: parts[0].lowercased()),
            let digest = Data(base64Encoded: String(parts[1])), digest.count == (algorithm == .sha1 ? 20 : 16)
        else { return nil }
        return ResumableUploads.Checksum(algorithm: algorithm, digest: digest)
    }

    /// `Upload-Expires`: an HTTP date (RFC 9110 IMF-fixdate).
    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}

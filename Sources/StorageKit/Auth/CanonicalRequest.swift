import Foundation

/// The parts of an HTTP request that Azure Storage signs: a neutral form shared by the
/// client (which builds it before sending) and DevStorage (which rebuilds it from what it received).
public struct CanonicalRequest: Sendable {
    /// The HTTP method, e.g. `PUT`.
    public var method: String
    /// The URL path exactly as sent, still percent-encoded (`/devstoreaccount1/media/clip%2001.mp4`).
    public var encodedPath: String
    /// Query parameters with percent-decoded values, in the order they appear.
    public var query: [(name: String, value: String)]
    /// Request headers as sent (names in any case).
    public var headers: [(name: String, value: String)]

    /// Creates a canonical request.
    public init(
        method: String,
        encodedPath: String,
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = []
    ) {
        self.method = method
        self.encodedPath = encodedPath
        self.query = query
        self.headers = headers
    }

    /// Creates a canonical request from a raw (percent-encoded) query string.
    public init(method: String, encodedPath: String, rawQuery: String?, headers: [(name: String, value: String)]) {
        self.init(method: method, encodedPath: encodedPath, query: QueryString.decode(rawQuery ?? ""), headers: headers)
    }

    /// The first value of a header, matched case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The first value of a query parameter, matched case-insensitively.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The query re-encoded for a URL (`name=value&…`), every value percent-encoded.
    public var encodedQuery: String { QueryString.encode(query) }
}

/// Percent-encoding rules used by Azure Storage URLs.
public enum QueryString {
    /// Bytes left as they are in paths and query values (RFC 3986 unreserved).
    static let unreserved: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))

    /// Percent-encodes every byte but the unreserved ones (and `/` when `keepSlash`).
    /// `+` always becomes `%2B`: servers read a literal `+` as a space.
    public static func percentEncode(_ value: String, keepSlash: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            if unreserved.contains(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// Decodes `%XX` sequences (and `+` as a space, as Azure does); invalid sequences are kept.
    public static func percentDecode(_ value: String, plusAsSpace: Bool = true) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count)
        var iterator = Array(value.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let hi = hexValue(iterator[iterator.startIndex]),
                let lo = hexValue(iterator[iterator.startIndex + 1])
            {
                bytes.append(hi << 4 | lo)
                iterator = iterator.dropFirst(2)
            } else if byte == UInt8(ascii: "+"), plusAsSpace {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Splits a raw query string into decoded name/value pairs.
    public static func decode(_ raw: String) -> [(name: String, value: String)] {
        raw.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (
                name: percentDecode(String(parts[0])),
                value: parts.count > 1 ? percentDecode(String(parts[1])) : ""
            )
        }
    }

    /// Encodes name/value pairs as a query string.
    public static func encode(_ pairs: [(name: String, value: String)]) -> String {
        pairs.map { percentEncode($0.name) + "=" + percentEncode($0.value) }.joined(separator: "&")
    }
}

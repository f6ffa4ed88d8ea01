import Crypto
import Foundation

/// Signs requests with an account's Shared Key, exactly as Microsoft's SDKs do
/// (string-to-sign layout for service versions 2015-02-21 and later).
///
/// The signer is a pure value: no clock, client or logger. The date is a parameter.
/// DevStorage verifies incoming requests with the same canonicalisation code.
public struct SharedKeySigner: Sendable {
    /// The storage account name.
    public let accountName: String
    /// The decoded account key (kept as bytes: `SymmetricKey` is not `Sendable`).
    let keyBytes: Data

    /// Creates a signer from an account name and its base64 account key.
    public init(accountName: String, accountKey: String) throws(StorageError) {
        guard let keyData = Data(base64Encoded: accountKey), !keyData.isEmpty else {
            throw StorageError(.invalidConfiguration, message: "the account key is not valid base64")
        }
        self.accountName = accountName
        self.keyBytes = keyData
    }

    /// Adds `x-ms-date` and `Authorization: SharedKey …` to a request.
    ///
    /// - Parameters:
    ///   - request: the request as it will be sent; its headers gain the two fields.
    ///   - date: the request time (fresh on every attempt).
    public func sign(_ request: inout CanonicalRequest, date: Date = .now) {
        request.headers.removeAll { $0.name.lowercased() == "x-ms-date" || $0.name.lowercased() == "authorization" }
        request.headers.append((name: "x-ms-date", value: HTTPDate.format(date)))
        let signature = self.signature(for: Self.stringToSign(request, accountName: accountName))
        request.headers.append((name: "Authorization", value: "SharedKey \(accountName):\(signature)"))
    }

    /// The base64 HMAC-SHA256 of a string-to-sign with the account key.
    public func signature(for stringToSign: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: SymmetricKey(data: keyBytes))).base64EncodedString()
    }

    /// Whether `authorization` is a valid Shared Key header for `request` (constant-time compare).
    public func verify(_ request: CanonicalRequest, authorization: String) -> Bool {
        let expected = "SharedKey \(accountName):" + signature(for: Self.stringToSign(request, accountName: accountName))
        return constantTimeEquals(expected, authorization)
    }
}

extension SharedKeySigner {
    /// The eleven standard headers signed after the verb, in order.
    static let standardHeaders = [
        "content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
        "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range",
    ]

    /// The full string-to-sign for a request.
    public static func stringToSign(_ request: CanonicalRequest, accountName: String) -> String {
        var lines = [request.method.uppercased()]
        for name in standardHeaders {
            var value = request.header(name) ?? ""
            // Since 2015-02-21 a zero length signs as an empty line.
            if name == "content-length", value == "0" { value = "" }
            lines.append(value)
        }
        return lines.joined(separator: "\n") + "\n"
            + canonicalizedHeaders(request.headers)
            + canonicalizedResource(encodedPath: request.encodedPath, query: request.query, accountName: accountName)
    }

    /// Every `x-ms-*` header, lower-cased, in the service's collation, each as `name:value\n`.
    static func canonicalizedHeaders(_ headers: [(name: String, value: String)]) -> String {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            guard lower.hasPrefix("x-ms-") else { continue }
            merged[lower, default: []].append(value)
        }
        return merged.keys.sorted(by: serviceCollationLess).map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
    }

    /// `/account` + the percent-encoded path as sent, then the decoded query sorted by lower-cased name.
    static func canonicalizedResource(encodedPath: String, query: [(name: String, value: String)], accountName: String)
        -> String
    {
        var resource = "/" + accountName + (encodedPath.isEmpty ? "/" : encodedPath)
        var params: [String: [String]] = [:]
        for (name, value) in query { params[name.lowercased(), default: []].append(value) }
        for name in params.keys.sorted() {
            resource += "\n\(name):\(params[name]!.sorted().joined(separator: ","))"
        }
        return resource
    }

    /// The service's header-name order: `-` is ignored, then `_` < `0`–`9` < `a`–`z`;
    /// a shorter prefix sorts first. Byte order breaks the remaining ties.
    static func serviceCollationLess(_ lhs: String, _ rhs: String) -> Bool {
        func weights(_ s: String) -> [UInt16] {
            s.utf8.compactMap { byte -> UInt16? in
                switch byte {
                case UInt8(ascii: "-"): return nil
                case UInt8(ascii: "_"): return 1
                case UInt8(ascii: "0")...UInt8(ascii: "9"): return 10 + UInt16(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "z"): return 100 + UInt16(byte - UInt8(ascii: "a"))
                default: return 200 + UInt16(byte)
                }
            }
        }
        let l = weights(lhs)
        let r = weights(rhs)
        if l != r { return l.lexicographicallyPrecedes(r) }
        return lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }
}

/// Compares two strings in time that depends only on their lengths.
public func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
    let l = Array(lhs.utf8)
    let r = Array(rhs.utf8)
    var difference = UInt8(l.count == r.count ? 0 : 1)
    for index in 0..<max(l.count, r.count) {
        difference |= (index < l.count ? l[index] : 0) ^ (index < r.count ? r[index] : 0)
    }
    return difference == 0
}

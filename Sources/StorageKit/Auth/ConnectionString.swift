import Foundation

/// An Azure Storage connection string (`AccountName=…;AccountKey=…;…`), parsed.
///
/// Keys are case-insensitive; each pair splits at its first `=` (keys and SAS tokens contain `=`).
public struct ConnectionString: Sendable, Equatable {
    /// `AccountName`, when given (or derived from the development shorthand).
    public var accountName: String?
    /// `AccountKey` (base64), when given.
    public var accountKey: String?
    /// `SharedAccessSignature` without a leading `?`, when given.
    public var sharedAccessSignature: String?
    /// The blob service endpoint, explicit or derived.
    public var blobEndpoint: URL
    /// The queue service endpoint, explicit or derived.
    public var queueEndpoint: URL

    /// Parses a connection string.
    public init(_ string: String) throws(StorageError) {
        var pairs: [String: String] = [:]
        for part in string.split(separator: ";", omittingEmptySubsequences: true) {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw StorageError(.invalidConfiguration, message: "connection string part '\(trimmed.prefix(40))' has no '='")
            }
            pairs[trimmed[..<equals].lowercased()] = String(trimmed[trimmed.index(after: equals)...])
        }
        if pairs["usedevelopmentstorage"] == "true" {
            var development = try ConnectionString(StorageDefaults.developmentConnectionString)
            if let proxy = pairs["developmentstorageproxyuri"], let url = URL(string: proxy) {
                development.blobEndpoint = url.appendingPathComponent(StorageDefaults.developmentAccountName)
            }
            self = development
            return
        }
        let accountName = pairs["accountname"]
        let scheme = pairs["defaultendpointsprotocol"]?.lowercased() ?? "https"
        guard scheme == "https" || scheme == "http" else {
            throw StorageError(.invalidConfiguration, message: "DefaultEndpointsProtocol must be https or http")
        }
        let suffix = pairs["endpointsuffix"] ?? "core.windows.net"
        func endpoint(_ key: String, _ service: String) throws(StorageError) -> URL {
            if let explicit = pairs[key] {
                guard let url = URL(string: explicit.hasSuffix("/") ? String(explicit.dropLast()) : explicit),
                    url.scheme != nil, url.host != nil
                else { throw StorageError(.invalidConfiguration, message: "\(key) is not a URL") }
                return url
            }
            guard let accountName, let url = URL(string: "\(scheme)://\(accountName).\(service).\(suffix)") else {
                throw StorageError(.invalidConfiguration, message: "connection string needs AccountName or an explicit endpoint")
            }
            return url
        }
        self.blobEndpoint = try endpoint("blobendpoint", "blob")
        self.queueEndpoint = try endpoint("queueendpoint", "queue")
        self.accountName = accountName ?? Self.accountName(fromEndpoint: blobEndpoint)
        self.accountKey = pairs["accountkey"]
        self.sharedAccessSignature = pairs["sharedaccesssignature"].map { $0.hasPrefix("?") ? String($0.dropFirst()) : $0 }
        if accountKey != nil, self.accountName == nil {
            throw StorageError(.invalidConfiguration, message: "AccountKey needs AccountName")
        }
    }

    /// The development account on 127.0.0.1:10000/10001.
    public static var development: ConnectionString {
        // The constant is known to parse.
        try! ConnectionString(StorageDefaults.developmentConnectionString)
    }

    /// `account` from `https://account.blob.core.windows.net` or the path of `http://host:port/account`.
    static func accountName(fromEndpoint url: URL) -> String? {
        let path = url.path.split(separator: "/")
        if let first = path.first { return String(first) }
        if let host = url.host, let dot = host.firstIndex(of: "."), Double(host.prefix(upTo: dot)) == nil {
            return String(host[..<dot])
        }
        return nil
    }
}

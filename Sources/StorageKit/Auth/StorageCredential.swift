import Foundation

/// How requests to a storage account are authorised.
public enum StorageCredential: Sendable {
    /// Shared Key: every request signed with the account key.
    case sharedKey(SharedKeySigner)
    /// A SAS token (without the leading `?`) appended to every request.
    case sharedAccessSignature(String)
    /// A Microsoft Entra bearer token for `https://storage.azure.com/`.
    case bearer(any TokenCredential)
    /// No credential (public containers, or an emulator in loose mode).
    case anonymous

    /// A short name for logs.
    public var kind: String {
        switch self {
        case .sharedKey: "SharedKey"
        case .sharedAccessSignature: "SAS"
        case .bearer: "Bearer"
        case .anonymous: "Anonymous"
        }
    }
}

/// An OAuth access token and when it stops working.
public struct AccessToken: Sendable, Equatable {
    /// The bearer token.
    public var token: String
    /// When it expires.
    public var expiresOn: Date

    /// Creates a token.
    public init(token: String, expiresOn: Date) {
        self.token = token
        self.expiresOn = expiresOn
    }
}

/// Something that hands out bearer tokens for Azure Storage, cached and refreshed before expiry.
public protocol TokenCredential: Sendable {
    /// A token valid for a while yet; `forceRefresh` skips the cache (after a 401).
    func token(forceRefresh: Bool) async throws -> AccessToken
}

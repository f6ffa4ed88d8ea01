import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import XMLCoder

extension BlobClient {
    /// A URL that downloads one blob without other credentials, until `expiresIn` has passed.
    ///
    /// With an account key: a service SAS. On Microsoft Entra identity: a user-delegation SAS
    /// (the delegation key is fetched once and cached). Anonymous accounts get the plain URL.
    ///
    /// With a SAS credential it throws `StorageError.Code.cannotSign`: the account's own token (often
    /// with write rights and a long life) is never handed out as a link. Callers fall back to links
    /// that stream through themselves.
    ///
    /// - Parameters:
    ///   - permissions: permission letters, read-only (`r`) by default.
    ///   - contentDisposition: served as `Content-Disposition` (e.g. `attachment; filename="a.webp"`).
    ///   - contentType: served as `Content-Type`.
    public func sasURL(
        _ container: String, _ blob: String, permissions: String = "r", expiresIn: Duration = .seconds(3600),
        contentDisposition: String? = nil, contentType: String? = nil, now: Date = Date()
    ) async throws -> URL {
        let account = client.account
        var values = SASValues(
            permissions: permissions,
            // Start a little in the past so a client whose clock is behind can use it at once.
            start: HTTPDate.iso8601(now.addingTimeInterval(-300)),
            expiry: HTTPDate.iso8601(now.addingTimeInterval(expiresIn.seconds)))
        values.resource = "b"
        values.protocols = account.blobEndpoint.scheme == "https" ? "https" : "https,http"
        values.contentDisposition = contentDisposition
        values.contentType = contentType
        let query: String?
        switch account.credential {
        case .sharedKey(let signer):
            query = signer.signBlobSAS(values, container: container, blobName: blob).encodedQuery
        case .bearer:
            let key = try await delegationKeys.key(now: now) { start, expiry in
                try await self.userDelegationKey(start: start, expiry: expiry)
            }
            query = key.signBlobSAS(values, account: account.name, container: container, blobName: blob).encodedQuery
        case .sharedAccessSignature:
            throw StorageError(
                .cannotSign, message: "a SAS credential cannot sign download links (its own token is never handed out)",
                operation: "BlobSAS")
        case .anonymous:
            query = nil
        }
        return blobURL(container, blob, query: query)
    }

    /// The blob's URL, with an optional encoded query.
    public func blobURL(_ container: String, _ blob: String, query: String? = nil) -> URL {
        var base = client.account.blobEndpoint.absoluteString
        if base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + Self.path(container, blob) + (query.map { "?" + $0 } ?? ""))!
    }

    /// Get User Delegation Key (needs a bearer credential and a role with `generateUserDelegationKey`).
    public func userDelegationKey(start: Date, expiry: Date) async throws -> UserDelegationKey {
        let xml = #"<?xml version="1.0" encoding="utf-8"?><KeyInfo><Start>"# + HTTPDate.iso8601(start) + "</Start><Expiry>"
            + HTTPDate.iso8601(expiry) + "</Expiry></KeyInfo>"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/xml")
        let (_, body) = try await client.executeCollecting(
            StorageRequest(
                operation: "GetUserDelegationKey", method: .POST, encodedPath: "/",
                query: [("restype", "service"), ("comp", "userdelegationkey")], headers: headers, body: ByteBuffer(string: xml)),
            service: .blob)
        struct Body: Decodable {
            var SignedOid: String
            var SignedTid: String
            var SignedStart: String
            var SignedExpiry: String
            var SignedService: String
            var SignedVersion: String
            var Value: String
        }
        do {
            let key = try StorageXML.decoder().decode(Body.self, from: Data(buffer: body))
            return UserDelegationKey(
                fields: .init(
                    objectID: key.SignedOid, tenantID: key.SignedTid, start: key.SignedStart, expiry: key.SignedExpiry,
                    service: key.SignedService, version: key.SignedVersion),
                value: key.Value)
        } catch {
            throw StorageError(.invalidResponse, message: "unreadable user delegation key: \(error)", operation: "GetUserDelegationKey")
        }
    }
}

/// Caches one user-delegation key and renews it a day before it expires (keys live up to 7 days).
actor UserDelegationKeyCache {
    var current: UserDelegationKey?

    func key(now: Date, fetch: @Sendable (Date, Date) async throws -> UserDelegationKey) async throws -> UserDelegationKey {
        if let current, let expiry = current.expiresAt, expiry.timeIntervalSince(now) > 86_400 { return current }
        let key = try await fetch(now.addingTimeInterval(-900), now.addingTimeInterval(6 * 86_400))
        current = key
        return key
    }
}

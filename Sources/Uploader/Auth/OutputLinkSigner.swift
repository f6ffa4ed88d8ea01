import Crypto
import Foundation

/// Signs and checks the output links of proxy mode (`/jobs/{id}/outputs/{name}?expires=…&signature=…`),
/// so a browser can open them — an `<a href>`, an `<img src>`, a link pasted into another tab —
/// without the API key, which never goes into a URL (URLs end up in history, proxies and logs).
///
/// A link is what a read SAS is in `sas` mode: one path, `GET` only, for one tenant (the job's
/// owner: the link reads the job as that tenant), valid until `expires` (Unix seconds); the
/// signature is HMAC-SHA256 over the method, the path, the tenant and the expiry, compared in
/// constant time. The signing key comes from `uploader.links.secret`, or else from the API keys
/// themselves, so every replica with the same keys accepts every replica's links without another
/// secret to deploy (changing the keys invalidates links, which live an hour at most by default).
struct OutputLinkSigner: Sendable {
    /// The HMAC key's bytes (`SymmetricKey` is not `Sendable`; one is made per use).
    private let key: [UInt8]

    init(secret: String?, apiKeys: [String]) {
        let material: String?
        if let secret, !secret.isEmpty {
            material = "secret\n\(secret)"
        } else if !apiKeys.isEmpty {
            material = "keys\n" + apiKeys.sorted().joined(separator: "\n")
        } else {
            material = nil  // auth disabled: links need no signature anyway
        }
        if let material {
            key = Array(SHA256.hash(data: Data("mediapipeline.links.v1\n\(material)".utf8)))
        } else {
            key = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        }
    }

    /// `path` with `tenant`, `expires` and `signature` query parameters, valid for `ttlSeconds` from
    /// `now`. (`tenant` is a tenant name: URL-safe as it is.)
    func sign(path: String, tenant: String, ttlSeconds: Int, now: Date = .now) -> String {
        let expires = Int(now.timeIntervalSince1970) + ttlSeconds
        return "\(path)?tenant=\(tenant)&expires=\(expires)&signature=\(signature(path: path, tenant: tenant, expires: expires))"
    }

    /// Whether `signature` is this signer's signature of `GET path` for `tenant` until `expires`,
    /// and it has not expired.
    func verify(path: String, tenant: String, expires: String, signature candidate: String, now: Date = .now) -> Bool {
        guard let expiry = Int(expires), expiry >= Int(now.timeIntervalSince1970) else { return false }
        let expected = Array(signature(path: path, tenant: tenant, expires: expiry).utf8)
        return APIKeys.constantTimeEqual(Array(candidate.utf8), expected)
    }

    private func signature(path: String, tenant: String, expires: Int) -> String {
        let message = "GET\n\(path)\n\(tenant)\n\(expires)"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: key))
        return Data(mac).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

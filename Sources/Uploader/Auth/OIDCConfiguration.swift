import Configuration
import Foundation

/// How the uploader accepts OpenID Connect bearer tokens (Microsoft Entra ID access tokens, or any
/// issuer that publishes a JWKS): the `uploader.oidc.*` keys, documented in `UploaderConfiguration`'s
/// table. Absent unless `uploader.oidc.issuer` is set.
struct OIDCConfiguration: Sendable, Equatable {
    /// The exact `iss` of accepted tokens (Entra v2: `https://login.microsoftonline.com/{tenant}/v2.0`).
    var issuer: String
    /// A value the token's `aud` must contain (the API's application id URI or client id).
    var audience: String
    /// The JWKS location; nil: found by OpenID discovery from the issuer.
    var jwksURL: String?
    /// The claim that names the request's tenant (`tid` in Entra tokens).
    var tenantClaim = "tid"
    /// A role (`roles` claim) or scope (`scp` claim) every token must carry; nil: none.
    var requiredRole: String?
    /// How long fetched keys are used before they are fetched again.
    var cacheDuration: Duration = .seconds(3600)
    /// The least time between two fetches, whatever asks for them (unknown `kid`s, expired cache).
    var minimumRefreshInterval: Duration = .seconds(10)
    /// How far `exp` and `nbf` may be off from our clock.
    var clockSkew: TimeInterval = 60

    init(issuer: String, audience: String) {
        self.issuer = issuer
        self.audience = audience
    }

    /// The OpenID discovery document's URL.
    var discoveryURL: String {
        var base = issuer
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/.well-known/openid-configuration"
    }

    /// The `uploader.oidc.*` keys of `config` (scoped to `uploader`); nil when no issuer is set.
    static func read(from config: ConfigReader) throws -> OIDCConfiguration? {
        let issuer = config.string(forKey: "oidc.issuer").flatMap(nonEmpty)
        let audience = config.string(forKey: "oidc.audience").flatMap(nonEmpty)
        let jwksURL = config.string(forKey: "oidc.jwks.url").flatMap(nonEmpty)
        guard let issuer else {
            guard audience == nil, jwksURL == nil else {
                throw UploaderConfiguration.Invalid(description: "uploader.oidc.audience and uploader.oidc.jwks.url need uploader.oidc.issuer")
            }
            return nil
        }
        guard let audience else {
            throw UploaderConfiguration.Invalid(description: "uploader.oidc.audience is required with uploader.oidc.issuer")
        }
        var oidc = OIDCConfiguration(issuer: issuer, audience: audience)
        oidc.jwksURL = jwksURL
        oidc.tenantClaim = config.string(forKey: "oidc.tenant.claim", default: oidc.tenantClaim)
        oidc.requiredRole = config.string(forKey: "oidc.required.role").flatMap(nonEmpty)
        oidc.cacheDuration = .seconds(config.int(forKey: "oidc.jwks.cache.seconds", default: 3600))
        oidc.minimumRefreshInterval = .seconds(config.int(forKey: "oidc.jwks.refresh.min.seconds", default: 10))
        try oidc.validate()
        return oidc
    }

    func validate() throws {
        guard Self.isTrustedURL(issuer) else {
            throw UploaderConfiguration.Invalid(description: "uploader.oidc.issuer must be an https URL (http only on loopback), not \(issuer)")
        }
        if let jwksURL, !Self.isTrustedURL(jwksURL) {
            throw UploaderConfiguration.Invalid(description: "uploader.oidc.jwks.url must be an https URL (http only on loopback), not \(jwksURL)")
        }
        guard !tenantClaim.isEmpty else {
            throw UploaderConfiguration.Invalid(description: "uploader.oidc.tenant.claim must not be empty")
        }
        guard cacheDuration > .zero, minimumRefreshInterval >= .zero else {
            throw UploaderConfiguration.Invalid(description: "uploader.oidc.jwks.cache.seconds must be positive, uploader.oidc.jwks.refresh.min.seconds 0 or more")
        }
    }

    /// Keys are trusted only from https, or from plain http on the machine itself (tests, a sidecar).
    static func isTrustedURL(_ string: String) -> Bool {
        guard let url = URL(string: string), let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased(), !host.isEmpty else {
            return false
        }
        if scheme == "https" { return true }
        return scheme == "http" && ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
    }

    private static func nonEmpty(_ value: String) -> String? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }
}

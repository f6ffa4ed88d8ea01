import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Requires an API key in `X-API-Key` or `Authorization: Bearer`, an OIDC access token in
/// `Authorization: Bearer` (when `uploader.oidc.issuer` is set: a JWT-shaped bearer value goes to
/// `OIDCVerifier`, anything else is an API key), or, for a `GET` of exactly the path it was made
/// for, a valid signed link (`OutputLinkSigner`: the proxy-mode output links); and sets the
/// request's key id and tenant (a key's, a token's claim, a link's).
/// Every failure — no key, a wrong key, a refused token, a malformed header, a bad or expired link —
/// gets the same 401 body; why a token was refused is only logged (debug).
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = UploaderRequestContext
    let keys: APIKeys
    /// `uploader.auth.disabled`: every request passes as `anonymous`, one tenant (private networks only).
    var disabled = false
    /// Checks signed output links; nil: links are not accepted.
    var links: OutputLinkSigner?
    /// Verifies bearer tokens; nil: OIDC is off and every bearer value is an API key.
    var oidc: OIDCVerifier?

    static let apiKeyHeader = HTTPField.Name("X-API-Key")!
    /// The key id and tenant of every request when auth is disabled.
    static let anonymous = "anonymous"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if disabled {
            context.apiKeyID = Self.anonymous
            context.tenant = Self.anonymous
            return try await next(request, context)
        }
        if let links, request.method == .get, let signature = request.uri.queryParameters["signature"], let expires = request.uri.queryParameters["expires"],
            let tenant = request.uri.queryParameters["tenant"],
            links.verify(path: request.uri.path, tenant: String(tenant), expires: String(expires), signature: String(signature))
        {
            context.apiKeyID = "signed-link"
            context.tenant = String(tenant)
            return try await next(request, context)
        }
        if let oidc, (request.headers[Self.apiKeyHeader] ?? "").isEmpty, let token = Self.bearer(request.headers), OIDCVerifier.isJWTShaped(token) {
            let identity: OIDCIdentity
            do {
                identity = try await oidc.verify(token)
            } catch {
                context.logger.debug("bearer token refused", metadata: ["oidc.reason": "\(error)"])
                throw Self.unauthorized
            }
            context.apiKeyID = identity.id
            context.tenant = identity.tenant
            context.logger[metadataKey: "api.key"] = "\(identity.id)"
            context.logger[metadataKey: "tenant"] = "\(identity.tenant)"
            return try await next(request, context)
        }
        guard let candidate = Self.candidate(request.headers), let principal = keys.authenticate(candidate) else {
            throw Self.unauthorized
        }
        context.apiKeyID = principal.keyID
        context.tenant = principal.tenant
        context.logger[metadataKey: "api.key"] = "\(principal.keyID)"
        context.logger[metadataKey: "tenant"] = "\(principal.tenant)"
        return try await next(request, context)
    }

    /// The one answer to every authentication failure, whatever the credential.
    static var unauthorized: UploaderError {
        UploaderError(.unauthorized, "a valid API key is required (X-API-Key or Authorization: Bearer)")
    }

    static func candidate(_ headers: HTTPFields) -> String? {
        if let key = headers[apiKeyHeader], !key.isEmpty { return key }
        return bearer(headers)
    }

    /// The value of `Authorization: Bearer …`.
    static func bearer(_ headers: HTTPFields) -> String? {
        guard let authorization = headers[.authorization] else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }
}

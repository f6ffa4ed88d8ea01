import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Requires an API key in `X-API-Key` or `Authorization: Bearer`, or, for a `GET` of exactly the
/// path it was made for, a valid signed link (`OutputLinkSigner`: the proxy-mode output links), and
/// sets the request's key id and tenant. Every failure — no key, a wrong key, a malformed header, a
/// bad or expired link — gets the same 401 body.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = UploaderRequestContext
    let keys: APIKeys
    /// `uploader.auth.disabled`: every request passes as `anonymous`, one tenant (private networks only).
    var disabled = false
    /// Checks signed output links; nil: links are not accepted.
    var links: OutputLinkSigner?

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
        guard let candidate = Self.candidate(request.headers), let principal = keys.authenticate(candidate) else {
            throw UploaderError(.unauthorized, "a valid API key is required (X-API-Key or Authorization: Bearer)")
        }
        context.apiKeyID = principal.keyID
        context.tenant = principal.tenant
        context.logger[metadataKey: "api.key"] = "\(principal.keyID)"
        context.logger[metadataKey: "tenant"] = "\(principal.tenant)"
        return try await next(request, context)
    }

    static func candidate(_ headers: HTTPFields) -> String? {
        if let key = headers[apiKeyHeader], !key.isEmpty { return key }
        if let authorization = headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]).trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }
}

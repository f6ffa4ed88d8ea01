import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Requires an API key in `X-API-Key` or `Authorization: Bearer`, or, for a `GET` of exactly the
/// path it was made for, a valid signed link (`OutputLinkSigner`: the proxy-mode output links).
/// Every failure — no key, a wrong key, a malformed header, a bad or expired link — gets the same
/// 401 body.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = UploaderRequestContext
    let keys: APIKeys
    /// `uploader.auth.disabled`: every request passes as `anonymous` (private networks only).
    var disabled = false
    /// Checks signed output links; nil: links are not accepted.
    var links: OutputLinkSigner?

    static let apiKeyHeader = HTTPField.Name("X-API-Key")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if disabled {
            context.apiKeyID = "anonymous"
            return try await next(request, context)
        }
        if let links, request.method == .get, let signature = request.uri.queryParameters["signature"], let expires = request.uri.queryParameters["expires"],
            links.verify(path: request.uri.path, expires: String(expires), signature: String(signature))
        {
            context.apiKeyID = "signed-link"
            return try await next(request, context)
        }
        guard let candidate = Self.candidate(request.headers), let id = keys.authenticate(candidate) else {
            throw UploaderError(.unauthorized, "a valid API key is required (X-API-Key or Authorization: Bearer)")
        }
        context.apiKeyID = id
        context.logger[metadataKey: "api.key"] = "\(id)"
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

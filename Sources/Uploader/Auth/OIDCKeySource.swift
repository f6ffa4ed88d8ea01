import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Where an `OIDCVerifier` gets the issuer's JWKS document.
protocol OIDCKeySource: Sendable {
    /// The JWKS document's bytes.
    func fetchJWKS(logger: Logger) async throws -> Data
}

/// Fetches the JWKS over HTTP: from `uploader.oidc.jwks.url`, or from the `jwks_uri` of the
/// issuer's OpenID discovery document (looked up again on every fetch, so a moved JWKS is followed).
struct OIDCDiscoveryKeySource: OIDCKeySource {
    struct FetchError: Error, CustomStringConvertible {
        let description: String
    }

    let configuration: OIDCConfiguration
    var client: HTTPClient = .shared
    var timeout: TimeAmount = .seconds(10)
    /// JWKS and discovery documents are small; a bigger answer is refused.
    var maxBytes = 1 << 20

    func fetchJWKS(logger: Logger) async throws -> Data {
        var url = configuration.jwksURL ?? ""
        if configuration.jwksURL == nil { url = try await discoverJWKSURL(logger: logger) }
        logger.debug("fetching the OIDC JWKS", metadata: ["oidc.jwks.url": "\(url)"])
        return try await get(url)
    }

    private struct Discovery: Decodable {
        let issuer: String?
        let jwks_uri: String?
    }

    func discoverJWKSURL(logger: Logger) async throws -> String {
        let discoveryURL = configuration.discoveryURL
        logger.debug("fetching the OpenID discovery document", metadata: ["oidc.discovery.url": "\(discoveryURL)"])
        let document: Discovery
        do {
            document = try JSONDecoder().decode(Discovery.self, from: try await get(discoveryURL))
        } catch let error as FetchError {
            throw error
        } catch {
            throw FetchError(description: "\(discoveryURL): not an OpenID discovery document")
        }
        // OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was fetched for.
        guard document.issuer == configuration.issuer else {
            throw FetchError(description: "\(discoveryURL): issuer \(document.issuer ?? "none") is not \(configuration.issuer)")
        }
        guard let jwksURI = document.jwks_uri, OIDCConfiguration.isTrustedURL(jwksURI) else {
            throw FetchError(description: "\(discoveryURL): no https jwks_uri")
        }
        return jwksURI
    }

    private func get(_ url: String) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await client.execute(request, timeout: timeout)
        guard response.status == .ok else {
            throw FetchError(description: "\(url): HTTP \(response.status.code)")
        }
        return Data(buffer: try await response.body.collect(upTo: maxBytes))
    }
}

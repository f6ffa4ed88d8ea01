import Crypto
import CryptoExtras
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import Logging
import NIOCore
import NIOFoundationCompat
import Synchronization

@testable import Uploader

/// A tiny OpenID provider on a free port: a discovery document and a JWKS that a test can swap
/// (a key rotation), counting the requests for each.
final class OIDCTestIdP: Sendable {
    private struct State {
        var issuer = ""
        var keys: [OIDCTestKey] = []
        var discoveryRequests = 0
        var jwksRequests = 0
    }

    private let state = Mutex(State())

    var issuer: String { state.withLock { $0.issuer } }
    var jwksURL: String { issuer + "/keys" }
    var discoveryRequests: Int { state.withLock { $0.discoveryRequests } }
    var jwksRequests: Int { state.withLock { $0.jwksRequests } }

    /// Serves these keys from now on.
    func serve(_ keys: [OIDCTestKey]) { state.withLock { $0.keys = keys } }

    /// Runs `body` with a provider serving `keys`.
    static func run(serving keys: [OIDCTestKey], _ body: @escaping @Sendable (OIDCTestIdP) async throws -> Void) async throws {
        let idp = OIDCTestIdP()
        idp.serve(keys)
        let router = Router()
        router.get(".well-known/openid-configuration") { _, _ -> Response in
            let document = idp.state.withLock { state -> [String: String] in
                state.discoveryRequests += 1
                return ["issuer": state.issuer, "jwks_uri": state.issuer + "/keys"]
            }
            return try OIDCTestIdP.json(document)
        }
        router.get("keys") { _, _ -> Response in
            let keys = idp.state.withLock { state in
                state.jwksRequests += 1
                return state.keys.map(\.publicJWK)
            }
            return try OIDCTestIdP.json(["keys": keys])
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            idp.state.withLock { $0.issuer = "http://127.0.0.1:\(client.port!)" }
            try await body(idp)
        }
    }

    private static func json(_ value: some Encodable) throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(data: try JSONEncoder().encode(value))))
    }
}

/// A signing key made in the test, with its public JWK and a jwt-kit collection that mints tokens.
struct OIDCTestKey: Sendable {
    let kid: String
    let publicJWK: [String: String]
    private let signer: JWTKeyCollection
    /// The RSA public key's PEM and DER (for the HS256-with-the-public-key attack); nil for EC keys.
    let publicPEM: String?
    let publicDER: Data?

    /// A 2048-bit RSA key, published like Entra's keys: `kty`, `use`, `kid`, `n`, `e`, no `alg`.
    static func rsa(kid: String) async throws -> OIDCTestKey {
        let key = try Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
        let (n, e) = try key.publicKey.getKeyPrimitives()
        let signer = await JWTKeyCollection().add(rsa: key, digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
        return OIDCTestKey(
            kid: kid, publicJWK: ["kty": "RSA", "use": "sig", "kid": kid, "n": base64URL(n), "e": base64URL(e)], signer: signer,
            publicPEM: key.publicKey.pemRepresentation, publicDER: key.publicKey.derRepresentation)
    }

    /// A P-256 key made by swift-crypto, published with `alg: ES256`.
    static func es256(kid: String) async throws -> OIDCTestKey {
        let key = try ES256PrivateKey(backing: P256.Signing.PrivateKey())
        guard let parameters = key.parameters else { throw JWTError.generic(identifier: "test", reason: "no P-256 parameters") }
        let signer = await JWTKeyCollection().add(ecdsa: key, kid: JWKIdentifier(string: kid))
        return OIDCTestKey(
            kid: kid, publicJWK: ["kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid, "x": parameters.x, "y": parameters.y],
            signer: signer, publicPEM: nil, publicDER: nil)
    }

    /// A token with `claims`, signed by this key (its `kid` in the header unless `kid` says otherwise).
    func sign(_ claims: OIDCTestClaims, kid: String? = nil) async throws -> String {
        // The collection holds this key alone, as its default: the header's kid picks no other.
        var header = JWTHeader()
        header.kid = kid ?? self.kid
        return try await signer.sign(claims, header: header)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// The claims of a test token: a valid Entra-like access token unless a test changes a field.
struct OIDCTestClaims: JWTPayload {
    static let audience = "api://mediapipeline"
    static let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

    var iss: String
    var sub: String? = "user-1"
    var aud: [String]? = [audience]
    var exp: Double?
    var nbf: Double?
    var tid: String? = tenant
    var org: String?
    var roles: [String]?
    var scp: String?

    init(issuer: String, now: Date = .now) {
        iss = issuer
        exp = now.timeIntervalSince1970 + 300
        nbf = now.timeIntervalSince1970 - 10
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// A clock a test moves by hand (the verifier's refresh rate limit and cache age).
final class OIDCTestClock: Sendable {
    private let start = ContinuousClock.now
    private let offset = Mutex(Duration.zero)

    func advance(by duration: Duration) { offset.withLock { $0 += duration } }
    var now: @Sendable () -> ContinuousClock.Instant { { [self] in start + offset.withLock { $0 } } }
}

extension OIDCVerifier {
    /// Why this verifier refuses `token`, or nil when it accepts it.
    func rejection(_ token: String, now: Date = .now) async -> OIDCRejection? {
        do {
            _ = try await verify(token, now: now)
            return nil
        } catch {
            return error
        }
    }
}

extension OIDCTestIdP {
    /// A verifier of this provider's tokens for `OIDCTestClaims.audience`, found by discovery.
    func verifier(clock: OIDCTestClock = OIDCTestClock(), configure: (inout OIDCConfiguration) -> Void = { _ in }) -> OIDCVerifier {
        var configuration = OIDCConfiguration(issuer: issuer, audience: OIDCTestClaims.audience)
        configure(&configuration)
        var logger = Logger(label: "oidc.test")
        logger.logLevel = .warning
        return OIDCVerifier(configuration: configuration, source: OIDCDiscoveryKeySource(configuration: configuration), logger: logger, clock: clock.now)
    }

    /// Valid claims for this provider.
    func claims(now: Date = .now) -> OIDCTestClaims { OIDCTestClaims(issuer: issuer, now: now) }
}

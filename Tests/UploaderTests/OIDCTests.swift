import Foundation
import JWTKit
import Testing

@testable import Uploader

@Suite("OIDC verifier: algorithms, signatures and claims")
struct OIDCVerifierTests {
    @Test("valid RS256 and ES256 tokens are accepted, with the tenant from tid")
    func validTokens() async throws {
        let rsa = try await OIDCTestKey.rsa(kid: "rsa-1")
        let ec = try await OIDCTestKey.es256(kid: "ec-1")
        try await OIDCTestIdP.run(serving: [rsa, ec]) { idp throws in
            let verifier = idp.verifier()
            let fromRSA = try await verifier.verify(try await rsa.sign(idp.claims()))
            let fromEC = try await verifier.verify(try await ec.sign(idp.claims()))
            #expect(fromRSA.tenant == OIDCTestClaims.tenant)
            #expect(fromEC == fromRSA, "same iss and sub: same id, whatever the key")
            #expect(fromRSA.id.hasPrefix("oidc:") && fromRSA.id.count == 5 + 16)
            var other = idp.claims()
            other.sub = "user-2"
            #expect(try await verifier.verify(try await rsa.sign(other)).id != fromRSA.id)
        }
    }

    @Test("wrong audience or issuer, expired, not yet valid, no sub: refused")
    func claims() async throws {
        let key = try await OIDCTestKey.rsa(kid: "rsa-1")
        try await OIDCTestIdP.run(serving: [key]) { idp throws in
            let verifier = idp.verifier()
            let now = Date()
            var cases: [(OIDCTestClaims, OIDCRejection)] = []
            var claims = idp.claims(now: now)
            claims.aud = ["api://someone-else"]
            cases.append((claims, .wrongAudience))
            claims = idp.claims(now: now)
            claims.aud = nil
            cases.append((claims, .wrongAudience))
            claims = idp.claims(now: now)
            claims.iss = idp.issuer + "/other"
            cases.append((claims, .wrongIssuer))
            claims = idp.claims(now: now)
            claims.exp = now.timeIntervalSince1970 - 61
            cases.append((claims, .expired))
            claims = idp.claims(now: now)
            claims.exp = nil
            cases.append((claims, .missingExpiry))
            claims = idp.claims(now: now)
            claims.nbf = now.timeIntervalSince1970 + 61
            cases.append((claims, .notYetValid))
            claims = idp.claims(now: now)
            claims.sub = nil
            cases.append((claims, .missingSubject))
            for (claims, expected) in cases {
                #expect(try await verifier.rejection(key.sign(claims), now: now) == expected)
            }
        }
    }

    @Test("exp and nbf within 60 s of our clock: accepted")
    func skew() async throws {
        let key = try await OIDCTestKey.es256(kid: "ec-1")
        try await OIDCTestIdP.run(serving: [key]) { idp throws in
            let verifier = idp.verifier()
            let now = Date()
            var claims = idp.claims(now: now)
            claims.exp = now.timeIntervalSince1970 - 50
            #expect(try await verifier.rejection(key.sign(claims), now: now) == nil)
            claims = idp.claims(now: now)
            claims.nbf = now.timeIntervalSince1970 + 50
            #expect(try await verifier.rejection(key.sign(claims), now: now) == nil)
        }
    }

    @Test("alg none, HS256 keyed with the RSA public key (PEM or DER), and a key of the other algorithm: refused")
    func algorithms() async throws {
        let rsa = try await OIDCTestKey.rsa(kid: "rsa-1")
        let ec = try await OIDCTestKey.es256(kid: "ec-1")
        try await OIDCTestIdP.run(serving: [rsa, ec]) { idp throws in
            let verifier = idp.verifier()
            let claims = idp.claims()
            let none = await JWTKeyCollection().addUnsecuredNone(kid: "rsa-1")
            let unsigned = try await none.sign(claims, kid: "rsa-1")
            #expect(await verifier.rejection(unsigned) == .algorithmNotAllowed("none"))
            #expect(OIDCVerifier.isJWTShaped(unsigned), "an unsigned token still goes to the verifier, not to the API keys")
            for secret in [Data(try #require(rsa.publicPEM).utf8), try #require(rsa.publicDER)] {
                let hmac = await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, kid: "rsa-1")
                #expect(try await verifier.rejection(hmac.sign(claims, kid: "rsa-1")) == .algorithmNotAllowed("HS256"))
            }
            // RS256 in the header, an EC key's kid: the key decides the algorithm, and they differ.
            #expect(try await verifier.rejection(rsa.sign(claims, kid: "ec-1")) == .algorithmMismatch)
            // A key nobody published, under a published kid.
            let forger = try await OIDCTestKey.rsa(kid: "rsa-1")
            #expect(try await verifier.rejection(forger.sign(claims)) == .badSignature)
            // No kid: only a set of exactly one key would be tried (two here).
            #expect(await verifier.rejection("eyJhbGciOiJSUzI1NiJ9.e30.c2ln") == .unknownKey)
            #expect(await verifier.rejection("bm90IGpzb24.e30.c2ln") == .malformed)
            #expect(await verifier.rejection("not a token") == .malformed)
        }
    }

    @Test("tenant from the configured claim; missing or invalid: refused")
    func tenants() async throws {
        let key = try await OIDCTestKey.rsa(kid: "rsa-1")
        try await OIDCTestIdP.run(serving: [key]) { idp throws in
            let verifier = idp.verifier()
            var claims = idp.claims()
            claims.tid = nil
            #expect(try await verifier.rejection(key.sign(claims)) == .missingTenant)
            for bad in ["", "-leading", "../etc", "a b", "tenant/x", "ü", String(repeating: "a", count: 65)] {
                claims.tid = bad
                #expect(try await verifier.rejection(key.sign(claims)) == .invalidTenant, "\(bad)")
            }
            claims.tid = "a" + String(repeating: "b", count: 63)
            #expect(try await verifier.verify(try await key.sign(claims)).tenant.count == 64)

            let byOrg = idp.verifier { $0.tenantClaim = "org" }
            claims = idp.claims()
            #expect(try await byOrg.rejection(key.sign(claims)) == .missingTenant)
            claims.org = "contoso.media_1"
            #expect(try await byOrg.verify(try await key.sign(claims)).tenant == "contoso.media_1")
        }
    }

    @Test("a required role: in roles or in the space-separated scp, else refused")
    func requiredRole() async throws {
        let key = try await OIDCTestKey.es256(kid: "ec-1")
        try await OIDCTestIdP.run(serving: [key]) { idp throws in
            let verifier = idp.verifier { $0.requiredRole = "Media.Upload" }
            var claims = idp.claims()
            #expect(try await verifier.rejection(key.sign(claims)) == .missingRole)
            claims.roles = ["Media.Read"]
            claims.scp = "openid Media.UploadAll"
            #expect(try await verifier.rejection(key.sign(claims)) == .missingRole)
            claims.roles = ["Media.Read", "Media.Upload"]
            #expect(try await verifier.rejection(key.sign(claims)) == nil)
            claims.roles = nil
            claims.scp = "openid Media.Upload profile"
            #expect(try await verifier.rejection(key.sign(claims)) == nil)
        }
    }

    @Test("what is JWT-shaped (goes to the verifier) and what is an API key")
    func shapes() {
        #expect(OIDCVerifier.isJWTShaped("eyJh.eyJz.c2ln-_"))
        #expect(OIDCVerifier.isJWTShaped("eyJh.eyJz."))
        for key in ["test-key-0123456789", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b.c=", "a.b+.c", "a b.c.d", ""] {
            #expect(!OIDCVerifier.isJWTShaped(key), "\(key)")
        }
    }
}

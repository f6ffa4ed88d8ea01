import Configuration
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import NIOCore
import NIOFoundationCompat
import Testing

@testable import Uploader

@Suite("OIDC bearer tokens on the uploader")
struct OIDCUploaderTests {
    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) + Data(repeating: 7, count: 100)

    static func bearer(_ token: String) -> HTTPFields {
        [.authorization: "Bearer \(token)", .contentType: "application/octet-stream"]
    }

    @Test("a valid token uploads and reads its job; every bad token gets the wrong-key 401, byte for byte; keys still work")
    func endToEnd() async throws {
        let key = try await OIDCTestKey.rsa(kid: "rsa-1")
        try await OIDCTestIdP.run(serving: [key]) { idp throws in
            let oidc = OIDCConfiguration(issuer: idp.issuer, audience: OIDCTestClaims.audience)
            let valid = try await key.sign(idp.claims())
            var expired = idp.claims()
            expired.exp = Date().timeIntervalSince1970 - 3600
            var noTenant = idp.claims()
            noTenant.tid = nil
            var otherAudience = idp.claims()
            otherAudience.aud = ["api://other"]
            let forged = try await OIDCTestKey.rsa(kid: "rsa-1").sign(idp.claims())
            let unsigned = try await JWTKeyCollection().addUnsecuredNone().sign(idp.claims(), kid: "rsa-1")
            let bad = [
                try await key.sign(expired), try await key.sign(noTenant), try await key.sign(otherAudience), forged, unsigned,
                try await key.sign(idp.claims(), kid: "unknown"),
            ]
            try await UploaderHarness.run(configure: { $0.oidc = oidc }) { h throws in
                let accepted = try await h.client.execute(uri: "/upload", method: .post, headers: Self.bearer(valid), body: ByteBuffer(data: Self.png))
                #expect(accepted.status == .accepted)
                let jobId = try #require(accepted.json["jobId"] as? String)
                let job = try await h.client.execute(uri: "/jobs/\(jobId)", method: .get, headers: [.authorization: "Bearer \(valid)"])
                #expect(job.status == .ok)

                let wrongKey = try await h.client.execute(
                    uri: "/upload", method: .post, headers: [APIKeyMiddleware.apiKeyHeader: "wrong-key"], body: ByteBuffer(data: Self.png))
                #expect(wrongKey.status == .unauthorized)
                for token in bad {
                    let refused = try await h.client.execute(uri: "/upload", method: .post, headers: Self.bearer(token), body: ByteBuffer(data: Self.png))
                    #expect(refused.status == .unauthorized)
                    #expect(refused.body == wrongKey.body)
                    #expect(refused.headers[.wwwAuthenticate] == wrongKey.headers[.wwwAuthenticate])
                }
                let byKey = try await h.client.execute(
                    uri: "/upload", method: .post, headers: Self.bearer(UploaderHarness.key), body: ByteBuffer(data: Self.png))
                #expect(byKey.status == .accepted)
                #expect(try await h.rawBlobs().count == 2)
            }
        }
    }

    @Test("with OIDC and no API keys the uploader runs on tokens alone")
    func tokensOnly() async throws {
        let key = try await OIDCTestKey.es256(kid: "ec-1")
        try await OIDCTestIdP.run(serving: [key]) { idp throws in
            let token = try await key.sign(idp.claims())
            try await UploaderHarness.run(configure: {
                $0.apiKeys = []
                $0.oidc = OIDCConfiguration(issuer: idp.issuer, audience: OIDCTestClaims.audience)
            }) { h throws in
                let accepted = try await h.client.execute(uri: "/upload", method: .post, headers: Self.bearer(token), body: ByteBuffer(data: Self.png))
                #expect(accepted.status == .accepted)
                let byKey = try await h.client.execute(uri: "/upload", method: .post, headers: h.keyHeader, body: ByteBuffer(data: Self.png))
                #expect(byKey.status == .unauthorized)
            }
        }
    }

    @Test("the request carries the token's stable id and its tenant; an API key's request its key's")
    func context() async throws {
        let key = try await OIDCTestKey.rsa(kid: "rsa-1")
        try await OIDCTestIdP.run(serving: [key]) { idp throws in
            let router = Router(context: UploaderRequestContext.self)
            router.add(middleware: APIKeyMiddleware(keys: APIKeys(keys: [UploaderHarness.key]), oidc: idp.verifier()))
            router.get("whoami") { _, context in "\(context.apiKeyID ?? "-") \(context.tenant ?? "-")" }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client throws in
                var claims = idp.claims()
                claims.tid = "contoso"
                let first = try await client.execute(uri: "/whoami", method: .get, headers: [.authorization: "Bearer \(try await key.sign(claims))"])
                let again = try await client.execute(uri: "/whoami", method: .get, headers: [.authorization: "Bearer \(try await key.sign(claims))"])
                let words = String(buffer: first.body).split(separator: " ")
                #expect(words.count == 2 && words[0].hasPrefix("oidc:") && words[1] == "contoso")
                #expect(again.body == first.body, "a new token of the same user: the same id")
                let byKey = try await client.execute(uri: "/whoami", method: .get, headers: [.authorization: "Bearer \(UploaderHarness.key)"])
                // An API key's request: the key's id, and the key's tenant (a bare key is its own).
                let keyID = try #require(APIKeys(keys: [UploaderHarness.key]).authenticate(UploaderHarness.key)?.keyID)
                #expect(String(buffer: byKey.body) == "\(keyID) \(keyID)")
            }
        }
    }

    @Test("the uploader.oidc keys: read, validated, and enough to start without API keys")
    func configuration() throws {
        func read(_ values: [AbsoluteConfigKey: ConfigValue]) throws -> UploaderConfiguration {
            try UploaderConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: values)))
        }
        let configuration = try read([
            "uploader.oidc.issuer": "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
            "uploader.oidc.audience": "api://mediapipeline", "uploader.oidc.required.role": "Media.Upload",
            "uploader.oidc.tenant.claim": "org", "uploader.oidc.jwks.url": "https://login.microsoftonline.com/common/discovery/v2.0/keys",
            "uploader.oidc.jwks.refresh.min.seconds": 30,
        ])
        let oidc = try #require(configuration.oidc)
        #expect(configuration.apiKeys.isEmpty)
        #expect(oidc.discoveryURL == "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/.well-known/openid-configuration")
        #expect(oidc.requiredRole == "Media.Upload" && oidc.tenantClaim == "org")
        #expect(oidc.jwksURL == "https://login.microsoftonline.com/common/discovery/v2.0/keys")
        #expect(oidc.minimumRefreshInterval == .seconds(30) && oidc.cacheDuration == .seconds(3600))

        let defaults = try #require(try read(["uploader.oidc.issuer": "http://127.0.0.1:8000", "uploader.oidc.audience": "a"]).oidc)
        #expect(defaults.tenantClaim == "tid" && defaults.requiredRole == nil && defaults.jwksURL == nil)
        #expect(try read(["uploader.api.keys": "k"]).oidc == nil)

        let invalid: [[AbsoluteConfigKey: ConfigValue]] = [
            ["uploader.oidc.issuer": "https://idp.example"],  // no audience
            ["uploader.oidc.audience": "a", "uploader.api.keys": "k"],  // no issuer
            ["uploader.oidc.issuer": "http://idp.example", "uploader.oidc.audience": "a"],  // keys over plain http
            ["uploader.oidc.issuer": "https://idp.example", "uploader.oidc.audience": "a", "uploader.oidc.jwks.url": "http://idp.example/keys"],
            ["uploader.oidc.issuer": "https://idp.example", "uploader.oidc.audience": "a", "uploader.oidc.tenant.claim": ""],
        ]
        for values in invalid {
            #expect(throws: UploaderConfiguration.Invalid.self, "\(values)") { try read(values) }
        }
    }
}

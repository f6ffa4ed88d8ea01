import Foundation
import Logging
import NIOCore
import Synchronization
import Testing

@testable import Uploader

@Suite("OIDC keys: discovery, cache, rotation and the refresh rate limit")
struct OIDCKeyRefreshTests {
    @Test("many tokens, concurrent or not: one discovery and one JWKS fetch")
    func fetchedOnce() async throws {
        let key = try await OIDCTestKey.rsa(kid: "rsa-1")
        try await OIDCTestIdP.run(serving: [key]) { idp throws in
            let verifier = idp.verifier()
            let token = try await key.sign(idp.claims())
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<16 { group.addTask { _ = try await verifier.verify(token) } }
                try await group.waitForAll()
            }
            for _ in 0..<16 { _ = try await verifier.verify(token) }
            #expect(idp.discoveryRequests == 1)
            #expect(idp.jwksRequests == 1)
        }
    }

    @Test("with uploader.oidc.jwks.url there is no discovery")
    func directJWKS() async throws {
        let key = try await OIDCTestKey.es256(kid: "ec-1")
        try await OIDCTestIdP.run(serving: [key]) { idp throws in
            let verifier = idp.verifier { $0.jwksURL = idp.jwksURL }
            _ = try await verifier.verify(try await key.sign(idp.claims()))
            #expect(idp.discoveryRequests == 0)
            #expect(idp.jwksRequests == 1)
        }
    }

    @Test("a rotated key (a new kid, served only after the rotation) is accepted after one refresh")
    func rotation() async throws {
        let old = try await OIDCTestKey.rsa(kid: "2026-10")
        let new = try await OIDCTestKey.es256(kid: "2026-11")
        try await OIDCTestIdP.run(serving: [old]) { idp throws in
            let clock = OIDCTestClock()
            let verifier = idp.verifier(clock: clock)
            _ = try await verifier.verify(try await old.sign(idp.claims()))
            #expect(idp.jwksRequests == 1)
            idp.serve([new])
            clock.advance(by: .seconds(11))
            let identity = try await verifier.verify(try await new.sign(idp.claims()))
            #expect(identity.tenant == OIDCTestClaims.tenant)
            #expect(idp.jwksRequests == 2)
            // The old key is gone from the set we now hold.
            #expect(try await verifier.rejection(old.sign(idp.claims())) == .unknownKey)
        }
    }

    @Test("unknown kids fetch at most once per refresh interval; a rotation is still picked up after it")
    func rateLimit() async throws {
        let key = try await OIDCTestKey.rsa(kid: "current")
        let rotated = try await OIDCTestKey.rsa(kid: "rotated")
        try await OIDCTestIdP.run(serving: [key]) { idp throws in
            let clock = OIDCTestClock()
            let verifier = idp.verifier(clock: clock)
            _ = try await verifier.verify(try await key.sign(idp.claims()))
            for index in 0..<20 {
                #expect(try await verifier.rejection(key.sign(idp.claims(), kid: "junk-\(index)")) == .unknownKey)
            }
            #expect(idp.jwksRequests == 1, "junk kids within 10 s of the last fetch fetch nothing")
            clock.advance(by: .seconds(11))
            for index in 0..<20 {
                #expect(try await verifier.rejection(key.sign(idp.claims(), kid: "junk-\(index)")) == .unknownKey)
            }
            #expect(idp.jwksRequests == 2, "one fetch for the first junk kid after the interval, none for the rest")
            idp.serve([key, rotated])
            let token = try await rotated.sign(idp.claims())
            #expect(await verifier.rejection(token) == .unknownKey, "within the interval: not fetched yet")
            clock.advance(by: .seconds(10))
            #expect(await verifier.rejection(token) == nil)
            #expect(idp.jwksRequests == 3)
        }
    }

    @Test("keys are fetched again when the cache expires")
    func cacheExpiry() async throws {
        let key = try await OIDCTestKey.es256(kid: "ec-1")
        try await OIDCTestIdP.run(serving: [key]) { idp throws in
            let clock = OIDCTestClock()
            let verifier = idp.verifier(clock: clock)
            let token = try await key.sign(idp.claims())
            _ = try await verifier.verify(token)
            clock.advance(by: .seconds(3599))
            _ = try await verifier.verify(token)
            #expect(idp.jwksRequests == 1)
            clock.advance(by: .seconds(2))
            _ = try await verifier.verify(token)
            #expect(idp.jwksRequests == 2)
        }
    }

    @Test("an unreachable IdP: refused as keysUnavailable, and not asked again within the interval")
    func unreachable() async throws {
        let key = try await OIDCTestKey.rsa(kid: "rsa-1")
        var configuration = OIDCConfiguration(issuer: "http://127.0.0.1:9", audience: OIDCTestClaims.audience)
        configuration.jwksURL = "http://127.0.0.1:9/keys"
        let source = CountingSource(inner: OIDCDiscoveryKeySource(configuration: configuration, timeout: .seconds(1)))
        var logger = Logger(label: "oidc.test")
        logger.logLevel = .error
        let clock = OIDCTestClock()
        let verifier = OIDCVerifier(configuration: configuration, source: source, logger: logger, clock: clock.now)
        let token = try await key.sign(OIDCTestClaims(issuer: configuration.issuer))
        #expect(await verifier.rejection(token) == .keysUnavailable)
        #expect(await verifier.rejection(token) == .keysUnavailable)
        #expect(source.count == 1)
        clock.advance(by: .seconds(10))
        #expect(await verifier.rejection(token) == .keysUnavailable)
        #expect(source.count == 2)
    }
}

/// Counts the fetches of another source.
private final class CountingSource: OIDCKeySource {
    let inner: any OIDCKeySource
    private let fetches = Mutex(0)
    var count: Int { fetches.withLock { $0 } }

    init(inner: any OIDCKeySource) { self.inner = inner }

    func fetchJWKS(logger: Logger) async throws -> Data {
        fetches.withLock { $0 += 1 }
        return try await inner.fetchJWKS(logger: logger)
    }
}

import Foundation
import JWTKit
import Logging

/// Verifies OIDC bearer tokens (Microsoft Entra ID access tokens) against the issuer's JWKS.
///
/// - Algorithms: RS256 and ES256 only, checked from the header before any key is touched, and the
///   key named by `kid` must be of that algorithm (`none`, HMAC and algorithm confusion are refused).
/// - Keys: fetched on first use, used for `cacheDuration` (1 h), then fetched again. A token whose
///   `kid` is unknown triggers a fetch, so a key rotation needs no restart. Every fetch — first,
///   expired cache or unknown `kid` — is at least `minimumRefreshInterval` (10 s) after the previous
///   attempt, so junk `kid`s cannot make us hammer the IdP; concurrent callers share one fetch. If
///   a fetch fails, the keys we have stay in use.
/// - Claims: `OIDCConfiguration.identity(from:now:)`.
///
/// Cryptography is jwt-kit's: this type only chooses which key may verify which token.
actor OIDCVerifier {
    let configuration: OIDCConfiguration
    private let source: any OIDCKeySource
    private let logger: Logger
    private let clock: @Sendable () -> ContinuousClock.Instant

    private var keySet: OIDCKeySet?
    private var fetchedAt: ContinuousClock.Instant?
    private var lastAttempt: ContinuousClock.Instant?
    private var inFlight: Task<OIDCKeySet?, Never>?

    static let allowedAlgorithms: Set<String> = ["RS256", "ES256"]

    init(
        configuration: OIDCConfiguration, source: any OIDCKeySource, logger: Logger,
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.configuration = configuration
        self.source = source
        self.logger = logger
        self.clock = clock
    }

    /// The identity `token` speaks for, or the reason it is refused.
    func verify(_ token: String, now: Date = .now) async throws(OIDCRejection) -> OIDCIdentity {
        let bytes = Array(token.utf8)
        let header: JWTHeader
        do {
            header = try DefaultJWTParser().parse(bytes, as: HeaderOnly.self).header
        } catch {
            throw .malformed
        }
        guard let alg = header.alg, Self.allowedAlgorithms.contains(alg) else {
            throw .algorithmNotAllowed(header.alg ?? "(none)")
        }
        guard header.crit == nil else { throw .criticalHeader }

        // Without keys, `currentKeys()` has just tried (or was not allowed to): no second try here.
        let current = await currentKeys()
        var key = current?.key(for: header.kid)
        if key == nil, current != nil, let refreshed = await refresh(reason: "unknown kid") {
            key = refreshed.key(for: header.kid)
        }
        guard let key else { throw keySet == nil ? OIDCRejection.keysUnavailable : OIDCRejection.unknownKey }
        guard key.algorithm == alg else { throw .algorithmMismatch }

        let claims: OIDCClaims
        do {
            claims = try await key.collection.verify(bytes, as: OIDCClaims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw .badSignature
        } catch {
            // Undecodable payload or signature bytes, or a signature jwt-kit cannot even parse.
            throw .malformed
        }
        return try configuration.identity(from: claims, now: now)
    }

    /// The cached keys, fetched again once older than `cacheDuration` (if that fetch is allowed and
    /// works; otherwise the old keys, which beat none while the IdP is unreachable).
    private func currentKeys() async -> OIDCKeySet? {
        if let keySet, let fetchedAt, clock() - fetchedAt < configuration.cacheDuration { return keySet }
        return await refresh(reason: keySet == nil ? "first use" : "cache expired") ?? keySet
    }

    /// Fetches the keys unless the last attempt is more recent than `minimumRefreshInterval`;
    /// joins a fetch already running. Nil when not fetched or the fetch failed.
    private func refresh(reason: String) async -> OIDCKeySet? {
        if let inFlight { return await inFlight.value }
        let now = clock()
        if let lastAttempt, now - lastAttempt < configuration.minimumRefreshInterval {
            logger.debug("OIDC keys not fetched: the last fetch is too recent", metadata: ["oidc.reason": "\(reason)"])
            return nil
        }
        lastAttempt = now
        let source = source
        let logger = logger
        // Unstructured on purpose: every request waiting for keys awaits this one fetch, so the
        // cancellation of the request that started it must not cancel it for the others. It ends
        // with the fetch (HTTP timeout), and nothing outlives it.
        let task = Task<OIDCKeySet?, Never> {
            do {
                let set = try await OIDCKeySet.load(jwks: try await source.fetchJWKS(logger: logger), logger: logger)
                logger.info("fetched the OIDC signing keys", metadata: ["oidc.reason": "\(reason)", "oidc.keys": "\(set.keys.keys.sorted())"])
                return set
            } catch {
                logger.warning("could not fetch the OIDC signing keys", metadata: ["oidc.reason": "\(reason)", "error": "\(error)"])
                return nil
            }
        }
        inFlight = task
        let result = await task.value
        inFlight = nil
        if let result {
            keySet = result
            fetchedAt = clock()
        }
        return result
    }

    /// Whether a bearer value looks like a JWT (three dot-separated base64url segments, the last —
    /// the signature — possibly empty so that `alg: none` tokens are refused as tokens): anything
    /// else is an API key.
    static func isJWTShaped(_ value: String) -> Bool {
        let segments = value.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard segments.count == 3, !segments[0].isEmpty, !segments[1].isEmpty else { return false }
        return segments.allSatisfy { segment in
            segment.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
            }
        }
    }

    /// Reads no claims: the header is all that is looked at before the signature is checked.
    private struct HeaderOnly: JWTPayload {
        init(from decoder: any Decoder) throws {}
        func encode(to encoder: any Encoder) throws {}
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }
}

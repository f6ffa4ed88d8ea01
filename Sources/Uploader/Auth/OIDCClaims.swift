import Crypto
import Foundation
import JWTKit

/// The claims of a bearer token that the uploader reads, decoded by jwt-kit after it has checked
/// the signature. Nothing is checked here: `OIDCConfiguration.identity(from:now:)` applies the
/// rules with the caller's clock, so they are testable without waiting.
struct OIDCClaims: JWTPayload, Equatable {
    var issuer: String?
    var subject: String?
    /// `aud`: one string or an array.
    var audiences: [String] = []
    /// `exp` and `nbf`, Unix seconds.
    var expires: Double?
    var notBefore: Double?
    /// `roles` (application permissions) and `scp` (delegated scopes, space-separated).
    var roles: [String] = []
    var scopes: [String] = []
    /// Every top-level string claim, for the configurable tenant claim.
    var strings: [String: String] = [:]

    init() {}

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if let value = try? container.decode(String.self, forKey: key) { strings[key.stringValue] = value }
        }
        issuer = strings["iss"]
        subject = strings["sub"]
        if let one = strings["aud"] {
            audiences = [one]
        } else {
            audiences = try container.decodeIfPresent([String].self, forKey: Key("aud")) ?? []
        }
        expires = try container.decodeIfPresent(Double.self, forKey: Key("exp"))
        notBefore = try container.decodeIfPresent(Double.self, forKey: Key("nbf"))
        roles = (try? container.decodeIfPresent([String].self, forKey: Key("roles"))) ?? []
        scopes = strings["scp"].map { $0.split(separator: " ").map(String.init) } ?? []
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (name, value) in strings where name != "aud" { try container.encode(value, forKey: Key(name)) }
        try container.encode(audiences, forKey: Key("aud"))
        try container.encodeIfPresent(expires, forKey: Key("exp"))
        try container.encodeIfPresent(notBefore, forKey: Key("nbf"))
        if !roles.isEmpty { try container.encode(roles, forKey: Key("roles")) }
    }

    /// Claims are checked by `OIDCConfiguration.identity(from:now:)`, with the caller's clock.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Who a verified token speaks for.
struct OIDCIdentity: Sendable, Equatable {
    /// `oidc:` and the first 16 hex digits of SHA-256(`iss` LF `sub`): stable per user, safe to log
    /// and to rate-limit by (the request's `apiKeyID`).
    let id: String
    /// The tenant claim's value.
    let tenant: String
}

/// Why a bearer token was refused: logged, never shown to the client (every refusal is the same 401).
enum OIDCRejection: Error, Equatable, CustomStringConvertible {
    case malformed
    /// Not RS256 or ES256 (`none`, HMAC, anything else).
    case algorithmNotAllowed(String)
    /// A `crit` header names an extension we do not implement (RFC 7515 §4.1.11).
    case criticalHeader
    /// The header's algorithm is not the one of the key its `kid` names.
    case algorithmMismatch
    /// No key with the token's `kid`, even after a refresh (or a refresh was too recent).
    case unknownKey
    /// No keys have ever been fetched (the IdP is unreachable or its JWKS unusable).
    case keysUnavailable
    case badSignature
    case wrongIssuer
    case wrongAudience
    case missingExpiry
    case expired
    case notYetValid
    case missingSubject
    case missingTenant
    case invalidTenant
    case missingRole

    var description: String {
        switch self {
        case .malformed: "malformed token"
        case .algorithmNotAllowed(let alg): "algorithm \(alg.prefix(16)) not allowed (RS256 and ES256 only)"
        case .criticalHeader: "crit header not supported"
        case .algorithmMismatch: "algorithm does not match the key"
        case .unknownKey: "unknown kid"
        case .keysUnavailable: "no signing keys (JWKS not fetched)"
        case .badSignature: "bad signature"
        case .wrongIssuer: "wrong issuer"
        case .wrongAudience: "wrong audience"
        case .missingExpiry: "no exp"
        case .expired: "expired"
        case .notYetValid: "not yet valid"
        case .missingSubject: "no sub"
        case .missingTenant: "no tenant claim"
        case .invalidTenant: "invalid tenant claim"
        case .missingRole: "required role or scope missing"
        }
    }
}

extension OIDCConfiguration {
    /// Applies the claim rules to signature-checked `claims`: `iss` equal to the issuer, `aud`
    /// containing the audience, `exp` (required) and `nbf` within `clockSkew` of `now`, a `sub`, a
    /// valid tenant, and the required role or scope if one is configured.
    func identity(from claims: OIDCClaims, now: Date) throws(OIDCRejection) -> OIDCIdentity {
        guard let iss = claims.issuer, iss == issuer else { throw .wrongIssuer }
        guard claims.audiences.contains(audience) else { throw .wrongAudience }
        let time = now.timeIntervalSince1970
        guard let expires = claims.expires else { throw .missingExpiry }
        guard time < expires + clockSkew else { throw .expired }
        if let notBefore = claims.notBefore, time + clockSkew < notBefore { throw .notYetValid }
        guard let subject = claims.subject, !subject.isEmpty else { throw .missingSubject }
        guard let tenant = claims.strings[tenantClaim] else { throw .missingTenant }
        guard Self.isValidTenant(tenant) else { throw .invalidTenant }
        if let requiredRole, !claims.roles.contains(requiredRole), !claims.scopes.contains(requiredRole) {
            throw .missingRole
        }
        let digest = SHA256.hash(data: Data("\(iss)\n\(subject)".utf8))
        return OIDCIdentity(id: "oidc:" + digest.prefix(8).map { String(format: "%02x", $0) }.joined(), tenant: tenant)
    }

    /// `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$` (Entra `tid` GUIDs match).
    static func isValidTenant(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard let first = bytes.first, bytes.count <= 64 else { return false }
        func alphanumeric(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
        return alphanumeric(first) && bytes.dropFirst().allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }
}

import Foundation
import JWTKit
import Logging

/// The usable signing keys of one fetched JWKS, by `kid`.
///
/// Only RSA keys (as RS256) and EC P-256 keys (as ES256) are kept; keys for encryption, other
/// curves or algorithms, without a `kid`, or that jwt-kit cannot load are skipped (and logged), so
/// one odd key does not make the whole set unusable. Each key sits alone in its own jwt-kit
/// `JWTKeyCollection` with its algorithm fixed when it is loaded: jwt-kit never picks an algorithm
/// from the token's header, and never falls back to another key.
struct OIDCKeySet: Sendable {
    struct Key: Sendable {
        /// `RS256` or `ES256`.
        let algorithm: String
        let collection: JWTKeyCollection
    }

    let keys: [String: Key]

    /// The key for a token's `kid`; a token without one is accepted only when the set holds exactly one key.
    func key(for kid: String?) -> Key? {
        guard let kid else { return keys.count == 1 ? keys.first?.value : nil }
        return keys[kid]
    }

    /// Loads the keys of a JWKS document (`{"keys": [...]}`).
    static func load(jwks data: Data, logger: Logger) async throws -> OIDCKeySet {
        let document = try JSONDecoder().decode(Document.self, from: data)
        var keys: [String: Key] = [:]
        for entry in document.keys {
            guard var jwk = entry.jwk, let kid = jwk.keyIdentifier?.string else {
                logger.debug("JWKS: skipped a key without kid or of an unknown type")
                continue
            }
            guard entry.use == nil || entry.use == "sig", let algorithm = algorithm(of: jwk) else {
                logger.debug("JWKS: skipped a key that is not an RS256 or ES256 signing key", metadata: ["oidc.kid": "\(kid)"])
                continue
            }
            // A public key set carries no private parts; if one does, ignore them.
            jwk.privateExponent = nil
            jwk.prime1 = nil
            jwk.prime2 = nil
            jwk.algorithm = algorithm
            let collection = JWTKeyCollection()
            do {
                try await collection.add(jwk: jwk)
            } catch {
                logger.info("JWKS: skipped a key jwt-kit cannot load", metadata: ["oidc.kid": "\(kid)", "error": "\(error)"])
                continue
            }
            keys[kid] = Key(algorithm: algorithm.rawValue, collection: collection)
        }
        return OIDCKeySet(keys: keys)
    }

    /// RS256 for RSA keys, ES256 for P-256 keys, as long as the key's own `alg` (optional; Entra
    /// omits it) agrees; nil for everything else.
    static func algorithm(of jwk: JWK) -> JWK.Algorithm? {
        switch jwk.keyType {
        case .rsa:
            return jwk.algorithm == nil || jwk.algorithm == .rs256 ? .rs256 : nil
        case .ecdsa:
            guard jwk.curve?.rawValue == "P-256" else { return nil }
            return jwk.algorithm == nil || jwk.algorithm == .es256 ? .es256 : nil
        default:
            return nil
        }
    }

    /// A JWKS whose keys are decoded one by one: a key of a type jwt-kit does not know is nil.
    private struct Document: Decodable {
        let keys: [Entry]
    }

    private struct Entry: Decodable {
        let jwk: JWK?
        let use: String?

        private enum CodingKeys: String, CodingKey { case use }

        init(from decoder: any Decoder) throws {
            jwk = try? JWK(from: decoder)
            use = try? decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(String.self, forKey: .use)
        }
    }
}

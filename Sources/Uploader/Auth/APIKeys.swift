import Crypto
import Foundation
import QueueKit

/// The API keys the uploader accepts, each with its tenant, held only as SHA-256 hashes.
///
/// An entry is `tenant:key`, or a bare `key`, which is a tenant of its own (named by the key's id),
/// so configurations from before tenants keep working: each key sees only its own jobs.
///
/// A candidate is hashed and compared with every stored hash in constant time, without stopping
/// at a match, so neither the position of a wrong byte nor which key matched shows in the timing
/// (the hash-both-sides pattern of Python's `hmac.compare_digest` use and Deno's
/// `timingSafeEqual`).
struct APIKeys: Sendable {
    /// Who a key is.
    struct Principal: Sendable, Equatable {
        /// The key's id: the first 8 bytes of its hash, hex (safe to log).
        let keyID: String
        /// Its tenant: the configured name, or the key id for a bare key.
        let tenant: String
    }

    private let hashes: [[UInt8]]
    private let tenants: [String?]

    init(keys: [String]) {
        let entries = keys.map(Self.split)
        self.hashes = entries.map { Array(SHA256.hash(data: Data($0.key.utf8))) }
        self.tenants = entries.map(\.tenant)
    }

    var isEmpty: Bool { hashes.isEmpty }
    var count: Int { hashes.count }

    /// The tenant names the entries give (bare keys' tenants not included).
    var namedTenants: Set<String> { Set(tenants.compactMap { $0 }) }

    /// Every tenant the entries make: the named ones and each bare key's.
    var allTenants: Set<String> {
        Set(zip(hashes, tenants).map { hash, tenant in tenant ?? Self.id(hash) })
    }

    private static func id(_ hash: [UInt8]) -> String { hash.prefix(8).map { String(format: "%02x", $0) }.joined() }

    /// The matching key's principal, or nil.
    func authenticate(_ candidate: String) -> Principal? {
        let hash = Array(SHA256.hash(data: Data(candidate.utf8)))
        var matched = -1
        for (index, stored) in hashes.enumerated() {
            if Self.constantTimeEqual(hash, stored) { matched = index }
        }
        guard matched >= 0 else { return nil }
        let id = Self.id(hashes[matched])
        return Principal(keyID: id, tenant: tenants[matched] ?? id)
    }

    /// `tenant:key` when what comes before the first `:` is a tenant name (`Tenant.isValid`) and a
    /// key follows; otherwise the whole entry is a bare key.
    static func split(_ entry: String) -> (tenant: String?, key: String) {
        guard let colon = entry.firstIndex(of: ":") else { return (nil, entry) }
        let tenant = String(entry[..<colon])
        let key = String(entry[entry.index(after: colon)...])
        guard Tenant.isValid(tenant), !key.isEmpty else { return (nil, entry) }
        return (tenant, key)
    }

    /// Compares two equal-length byte arrays touching every byte whatever they hold.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// Entries from a comma- or newline-separated list (the `UPLOADER_API_KEYS` variable or a
    /// mounted secret file); blanks and `#` comment lines are ignored.
    static func parse(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0.isNewline })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }
}

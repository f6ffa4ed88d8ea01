import Crypto
import Foundation

/// The API keys the uploader accepts, held only as SHA-256 hashes.
///
/// A candidate is hashed and compared with every stored hash in constant time, without stopping
/// at a match, so neither the position of a wrong byte nor which key matched shows in the timing
/// (the hash-both-sides pattern of Python's `hmac.compare_digest` use and Deno's
/// `timingSafeEqual`).
struct APIKeys: Sendable {
    private let hashes: [[UInt8]]

    init(keys: [String]) {
        self.hashes = keys.map { Array(SHA256.hash(data: Data($0.utf8))) }
    }

    var isEmpty: Bool { hashes.isEmpty }
    var count: Int { hashes.count }

    /// The matching key's id (the first 8 bytes of its hash, hex: safe to log and to rate-limit
    /// by), or nil.
    func authenticate(_ candidate: String) -> String? {
        let hash = Array(SHA256.hash(data: Data(candidate.utf8)))
        var matched = -1
        for (index, stored) in hashes.enumerated() {
            if Self.constantTimeEqual(hash, stored) { matched = index }
        }
        guard matched >= 0 else { return nil }
        return hashes[matched].prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Compares two equal-length byte arrays touching every byte whatever they hold.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// Keys from a comma- or newline-separated list (the `UPLOADER_API_KEYS` variable or a mounted
    /// secret file); blanks and `#` comment lines are ignored.
    static func parse(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0.isNewline })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }
}

import Foundation

/// MD5 (RFC 1321) whose running state can be saved and restored: a resumable upload's bytes
/// arrive in many requests, possibly on different replicas, and the whole file's MD5 (which the
/// job carries and the processor checks) must continue across them. swift-crypto's `Insecure.MD5`
/// cannot export its state, so the state — four words, the length and fewer than 64 pending
/// bytes — is kept here and stored with the upload's state.
///
/// Integrity only (the same use as Azure's Content-MD5), never security.
struct ResumableMD5: Codable, Sendable, Equatable {
    private var a: UInt32 = 0x6745_2301
    private var b: UInt32 = 0xefcd_ab89
    private var c: UInt32 = 0x98ba_dcfe
    private var d: UInt32 = 0x1032_5476
    /// Bytes hashed so far.
    private(set) var length: UInt64 = 0
    /// The bytes of an unfinished 64-byte block.
    private var pending = Data()

    init() {}

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        length += UInt64(bytes.count)
        var start = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, bytes.count)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<take]))
            start = take
            guard pending.count == 64 else { return }
            pending.withUnsafeBytes { compress($0.baseAddress!) }
            pending.removeAll(keepingCapacity: true)
        }
        while bytes.count - start >= 64 {
            compress(bytes.baseAddress! + start)
            start += 64
        }
        if start < bytes.count { pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...])) }
    }

    mutating func update(_ data: some DataProtocol) {
        for region in data.regions { region.withUnsafeBytes { update($0) } }
    }

    /// The digest of everything so far (the state itself is left unchanged).
    func finalize() -> Data {
        var copy = self
        let bits = length &* 8
        var tail = [UInt8](repeating: 0, count: (pending.count < 56 ? 56 : 120) - pending.count)
        tail[0] = 0x80
        for shift in stride(from: 0, to: 64, by: 8) { tail.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        tail.withUnsafeBytes { copy.update($0) }
        var digest = Data(capacity: 16)
        for word in [copy.a, copy.b, copy.c, copy.d] {
            for shift in stride(from: 0, to: 32, by: 8) { digest.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return digest
    }

    /// Per-round rotations and the 64 sine-derived constants of RFC 1321.
    private static let shifts: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ]
    private static let constants: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4_294_967_296)) }

    /// One 64-byte block: the four rounds written out (a switch per step costs half the speed), as
    /// four loops over locals of a static function. No closure captures the words: captured `var`s
    /// cost two dynamic exclusivity checks per step in a debug build, which made it 10x slower
    /// (3.5 → 33 MB/s at -Onone; -O unchanged within 1% of instructions).
    private mutating func compress(_ block: UnsafeRawPointer) {
        let (a, b, c, d) = Self.constants.withUnsafeBufferPointer { k in
            Self.shifts.withUnsafeBufferPointer { s in Self.rounds(block, k.baseAddress!, s.baseAddress!, (self.a, self.b, self.c, self.d)) }
        }
        self.a &+= a
        self.b &+= b
        self.c &+= c
        self.d &+= d
    }

    private static func rounds(
        _ block: UnsafeRawPointer, _ k: UnsafePointer<UInt32>, _ s: UnsafePointer<UInt32>, _ state: (UInt32, UInt32, UInt32, UInt32)
    ) -> (UInt32, UInt32, UInt32, UInt32) {
        var (a, b, c, d) = state
        var i = 0
        while i < 16 {
            let sum = ((b & c) | (~b & d)) &+ a &+ k[i] &+ UInt32(littleEndian: block.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
            (a, d, c) = (d, c, b)
            b = b &+ ((sum << s[i]) | (sum >> (32 &- s[i])))
            i &+= 1
        }
        while i < 32 {
            let sum = ((d & b) | (~d & c)) &+ a &+ k[i] &+ UInt32(littleEndian: block.loadUnaligned(fromByteOffset: ((5 &* i &+ 1) & 15) &* 4, as: UInt32.self))
            (a, d, c) = (d, c, b)
            b = b &+ ((sum << s[i]) | (sum >> (32 &- s[i])))
            i &+= 1
        }
        while i < 48 {
            let sum = (b ^ c ^ d) &+ a &+ k[i] &+ UInt32(littleEndian: block.loadUnaligned(fromByteOffset: ((3 &* i &+ 5) & 15) &* 4, as: UInt32.self))
            (a, d, c) = (d, c, b)
            b = b &+ ((sum << s[i]) | (sum >> (32 &- s[i])))
            i &+= 1
        }
        while i < 64 {
            let sum = (c ^ (b | ~d)) &+ a &+ k[i] &+ UInt32(littleEndian: block.loadUnaligned(fromByteOffset: ((7 &* i) & 15) &* 4, as: UInt32.self))
            (a, d, c) = (d, c, b)
            b = b &+ ((sum << s[i]) | (sum >> (32 &- s[i])))
            i &+= 1
        }
        return (a, b, c, d)
    }
}

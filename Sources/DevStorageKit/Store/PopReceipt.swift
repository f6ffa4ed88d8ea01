import Foundation

/// Opaque pop receipts: base64 of 16 bytes whose middle always encodes to `+/+/` and whose end is
/// `==`, so every receipt exercises a client's percent-encoding of `+`, `/` and `=`.
enum PopReceipt {
    static func make() -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
        bytes.replaceSubrange(6..<9, with: [0xFB, 0xFF, 0xBF])
        return Data(bytes).base64EncodedString()
    }
}

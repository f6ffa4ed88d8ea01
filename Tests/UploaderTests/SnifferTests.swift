import Testing

@testable import Uploader

@Suite("Media type sniffing")
struct SnifferTests {
    @Test func jpegAndPng() {
        #expect(MediaType.sniff([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]) == .jpeg)
    }
}

import Foundation
import QueueKit
import Testing

@testable import Uploader

@Suite("Direct upload verification policy")
struct DirectUploadCheckTests {
    static let jpegPrefix: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0x00, 0x01, 0x01, 0x00]
    static let md5A = Data(repeating: 0xAA, count: 16).base64EncodedString()
    static let md5B = Data(repeating: 0xBB, count: 16).base64EncodedString()

    @Test("size: empty and over the grant's limit are refused; the limit itself passes")
    func size() {
        #expect(DirectUploadCheck.size(bytes: 0, maxBytes: 10)?.code == "empty")
        #expect(DirectUploadCheck.size(bytes: 11, maxBytes: 10)?.code == "tooLarge")
        #expect(DirectUploadCheck.size(bytes: 11, maxBytes: 10)?.reason.contains("11 bytes") == true)
        #expect(DirectUploadCheck.size(bytes: 10, maxBytes: 10) == nil)
        #expect(DirectUploadCheck.size(bytes: 1, maxBytes: 10) == nil)
    }

    @Test("type: the first bytes decide; text is refused as unsupported, audio is accepted")
    func type() {
        #expect(DirectUploadCheck.mediaType(prefix: Self.jpegPrefix) == .media(.jpeg))
        guard case .refused(let text) = DirectUploadCheck.mediaType(prefix: Array("hello, this is not media".utf8)) else {
            Issue.record("text was accepted")
            return
        }
        #expect(text.code == "unsupported")
        let mp3: [UInt8] = Array("ID3".utf8) + [0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
        #expect(DirectUploadCheck.mediaType(prefix: mp3) == .media(.mp3))
        #expect(DirectUploadCheck.mediaType(prefix: Array("fLaC\u{0}\u{0}\u{0}\u{22}".utf8)) == .media(.flac))
        #expect(text.reason.contains("audio"), "the refusal names the audio formats too: \(text.reason)")
    }

    @Test(
        "MD5: the property is the blob's; a claim must match it or what is computed",
        arguments: [
            // (property, claimed, expected plan)
            (md5A, nil, DirectUploadCheck.MD5Plan.use(md5A)),
            (md5A, md5A, .use(md5A)),
            (md5A, md5B, .mismatch(DirectUploadCheck.mismatch(actual: md5A, claimed: md5B))),
            (nil, nil, .compute(expected: nil)),
            (nil, md5B, .compute(expected: md5B)),
            ("", md5B, .compute(expected: md5B)),
        ] as [(String?, String?, DirectUploadCheck.MD5Plan)])
    func md5Plan(property: String?, claimed: String?, expected: DirectUploadCheck.MD5Plan) {
        #expect(DirectUploadCheck.md5Plan(property: property, claimed: claimed) == expected)
    }

    @Test("a computed MD5 against the claim")
    func computed() {
        #expect(DirectUploadCheck.computed(Self.md5A, expected: nil) == nil)
        #expect(DirectUploadCheck.computed(Self.md5A, expected: Self.md5A) == nil)
        #expect(DirectUploadCheck.computed(Self.md5A, expected: Self.md5B)?.code == "md5Mismatch")
    }

    @Test("a claimed MD5 must be base64 of 16 bytes")
    func md5Syntax() {
        #expect(DirectUploadCheck.isMD5(Self.md5A))
        #expect(!DirectUploadCheck.isMD5("abc"))
        #expect(!DirectUploadCheck.isMD5(Data(repeating: 1, count: 20).base64EncodedString()))
        #expect(!DirectUploadCheck.isMD5("!!!!!!!!!!!!!!!!!!!!!!=="))
    }
}

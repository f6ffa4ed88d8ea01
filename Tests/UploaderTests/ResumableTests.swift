import Crypto
import Foundation
import Testing

@testable import Uploader

@Suite("Resumable uploads: MD5 across requests, protocol headers")
struct ResumableTests {
    @Test("RFC 1321 test vectors", arguments: [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        ("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"),
    ])
    func vectors(input: String, hex: String) {
        var md5 = ResumableMD5()
        md5.update(Data(input.utf8))
        #expect(md5.finalize().map { String(format: "%02x", $0) }.joined() == hex)
    }

    @Test("saved and restored between arbitrary chunks, it equals swift-crypto's MD5 of the whole")
    func resumesAcrossChunks() throws {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 70_001] {
            let data = Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
            var md5 = ResumableMD5()
            var offset = 0
            while offset < size {
                let take = min(size - offset, Int.random(in: 1...300, using: &generator))
                md5.update(data[offset..<offset + take])
                // Each request ends with the state in storage; the next, on any replica, reads it back.
                md5 = try JSONDecoder().decode(ResumableMD5.self, from: JSONEncoder().encode(md5))
                offset += take
            }
            #expect(md5.finalize() == Data(Insecure.MD5.hash(data: data)), "size \(size)")
            #expect(md5.length == UInt64(size))
        }
    }

    @Test("finalize leaves the running state unchanged")
    func finalizeIsPure() {
        var md5 = ResumableMD5()
        md5.update(Data("abc".utf8))
        _ = md5.finalize()
        md5.update(Data("def".utf8))
        #expect(md5.finalize() == Data(Insecure.MD5.hash(data: Data("abcdef".utf8))))
    }

    @Test("tus integers, metadata and checksums; draft structured fields")
    func headers() {
        #expect(ResumableHeaders.integer("0") == 0)
        #expect(ResumableHeaders.integer("123") == 123)
        for bad in [nil, "", "-1", "1.5", " 1", "1e3", "１", String(repeating: "9", count: 19)] as [String?] {
            #expect(ResumableHeaders.integer(bad) == nil, "\(bad ?? "nil")")
        }
        #expect(ResumableHeaders.metadata("filename Y2xpcC5tcDQ=,is_confidential") == ["filename": "clip.mp4", "is_confidential": ""])
        #expect(ResumableHeaders.metadata("filename !!!") == nil)
        #expect(ResumableHeaders.metadata("a YQ==,a Yg==") == nil)
        #expect(ResumableHeaders.metadata("") == [:])
        let sha1 = Data(Insecure.SHA1.hash(data: Data("x".utf8)))
        #expect(ResumableHeaders.checksum("sha1 \(sha1.base64EncodedString())")?.digest == sha1)
        #expect(ResumableHeaders.checksum("sha1 \(sha1.base64EncodedString())")?.algorithm == .sha1)
        #expect(ResumableHeaders.checksum("md5 \(sha1.base64EncodedString())") == nil)  // wrong digest length
        #expect(ResumableHeaders.checksum("crc32 AAAA") == nil)
        #expect(ResumableHeaders.checksum("sha1") == nil)
        #expect(ResumableHeaders.structuredBoolean("?1") == true)
        #expect(ResumableHeaders.structuredBoolean("?0") == false)
        #expect(ResumableHeaders.structuredBoolean("?1;x=2") == true)
        #expect(ResumableHeaders.structuredBoolean("1") == nil)
        #expect(ResumableHeaders.structuredBoolean("true") == nil)
        #expect(ResumableHeaders.structuredInteger("42") == 42)
        #expect(ResumableHeaders.structuredInteger("-4") == nil)
        #expect(ResumableHeaders.httpDate(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }

    @Test("upload ids and blob names")
    func names() {
        let id = ResumableUpload.newID()
        #expect(ResumableUpload.isValidID(Substring(id)))
        #expect(!ResumableUpload.isValidID("../../x"))
        #expect(!ResumableUpload.isValidID(Substring(id.uppercased())))
        #expect(ResumableUpload.blobName(jobId: "abc", date: Date(timeIntervalSince1970: 1_700_000_000)) == "2023/11/14/abc")
    }
}

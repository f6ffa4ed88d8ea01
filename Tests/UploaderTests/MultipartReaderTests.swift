import Foundation
import Hummingbird
import NIOCore
import Testing

@testable import Uploader

/// A request body arriving in pieces of the given sizes (cycled), as reads off a socket.
struct Pieces: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let bytes: [UInt8]
    let sizes: [Int]

    struct AsyncIterator: AsyncIteratorProtocol {
        let source: Pieces
        var offset = 0
        var turn = 0
        mutating func next() async throws -> ByteBuffer? {
            guard offset < source.bytes.count else { return nil }
            let end = Swift.min(offset + source.sizes[turn % source.sizes.count], source.bytes.count)
            defer { offset = end; turn += 1 }
            return ByteBuffer(bytes: source.bytes[offset..<end])
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }
}

/// One part as a parser saw it: its header lines in order and its body.
struct ParsedPart: Equatable {
    var headers: [[String]] = []
    var body: [UInt8] = []
}

/// Reads every part of `body` (split into reads of `sizes`) with `MultipartReader`.
func readParts(_ body: [UInt8], sizes: [Int], boundary: String = "b0und", limits: MultipartReader.Limits = .init()) async throws
    -> [ParsedPart]
{
    let reader = BodyReader(body: RequestBody(asyncSequence: Pieces(bytes: body, sizes: sizes)), maxBytes: 1 << 30, declaredLength: nil)
    let multipart = try MultipartReader(reader: reader, boundary: boundary, limits: limits)
    var result: [ParsedPart] = []
    while let part = try await multipart.nextPart() {
        var parsed = ParsedPart(headers: part.headers.map { [$0.name, $0.value] })
        while let chunk = try await multipart.nextBodyChunk() {
            #expect(chunk.readableBytes > 0)
            parsed.body += chunk.readableBytesView
        }
        result.append(parsed)
    }
    return result
}

/// Reads every part of `body` and returns each part's headers (first of each name) and body bytes.
private func parts(_ body: [UInt8], sizes: [Int], boundary: String = "b0und", limits: MultipartReader.Limits = .init()) async throws
    -> [(headers: [String: String], body: [UInt8])]
{
    try await readParts(body, sizes: sizes, boundary: boundary, limits: limits).map { part in
        (Dictionary(part.headers.map { ($0[0], $0[1]) }, uniquingKeysWith: { a, _ in a }), part.body)
    }
}

private func form(_ files: [[UInt8]], boundary: String = "b0und", preamble: String = "", epilogueCRLF: Bool = true) -> [UInt8] {
    var body = Array(preamble.utf8)
    for (index, file) in files.enumerated() {
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(index).bin\"\r\nContent-Type:  image/jpeg\r\n\r\n".utf8)
        body += file
        body += Array("\r\n".utf8)
    }
    body += Array("--\(boundary)--\(epilogueCRLF ? "\r\n" : "")".utf8)
    return body
}

@Suite("MultipartReader: parts and bodies at every split")
struct MultipartReaderTests {
    /// File contents that look like the delimiter's start in every way short of being it.
    static let tricky: [UInt8] = Array("\r\r\n\r\n-\r\n--\r\n--b0un\r\n--b0unX\r--b0und\n--b0und\r\n--b0un".utf8) + [0, 13, 255, 13]

    @Test("bodies come out whole and unchanged, whatever the read sizes", arguments: [[1], [2], [3], [7], [13], [64], [1, 5, 2], [4096], [1 << 20]])
    func splits(sizes: [Int]) async throws {
        var random = SystemRandomNumberGenerator()
        let big = (0..<70_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        let files: [[UInt8]] = [Self.tricky, [], Array("x".utf8), big, Self.tricky + Array("\r".utf8)]
        let got = try await parts(form(files, preamble: "ignored preamble\r\n"), sizes: sizes)
        #expect(got.count == files.count)
        for (index, file) in files.enumerated() where index < got.count {
            #expect(got[index].body == file, "part \(index)")
            #expect(got[index].headers["Content-Disposition"] == "form-data; name=\"file\"; filename=\"\(index).bin\"")
            #expect(got[index].headers["Content-Type"] == "image/jpeg")
        }
    }

    @Test("the closing boundary may end the body without CRLF; a part may have no headers")
    func shapes() async throws {
        var got = try await parts(form([Array("abc".utf8)], epilogueCRLF: false), sizes: [5])
        #expect(got.map(\.body) == [Array("abc".utf8)])
        got = try await parts(Array("--b0und\r\n\r\nabc\r\n--b0und--".utf8), sizes: [3])
        #expect(got.count == 1)
        #expect(got.first?.headers.isEmpty == true)
        #expect(got.first?.body == Array("abc".utf8))
        // RFC 2046 transport padding after a delimiter.
        got = try await parts(Array("--b0und \t\r\nA: 1\r\n\r\nabc\r\n--b0und--\r\n".utf8), sizes: [4])
        #expect(got.first?.headers == ["A": "1"])
    }

    @Test("a part not read to its end is skipped")
    func skipping() async throws {
        let body = form([Array(repeating: 7, count: 10_000), Array("second".utf8)])
        let reader = BodyReader(body: RequestBody(asyncSequence: Pieces(bytes: body, sizes: [1000])), maxBytes: 1 << 20, declaredLength: nil)
        let multipart = try MultipartReader(reader: reader, boundary: "b0und", limits: .init())
        _ = try #require(try await multipart.nextPart())
        _ = try await multipart.nextBodyChunk()
        _ = try #require(try await multipart.nextPart())
        var second: [UInt8] = []
        while let chunk = try await multipart.nextBodyChunk() { second += chunk.readableBytesView }
        #expect(second == Array("second".utf8))
        #expect(try await multipart.nextPart() == nil)
    }

    @Test("broken bodies: cut short, malformed heads, over the limits", arguments: [1, 3, 1 << 16])
    func broken(size: Int) async throws {
        func code(_ text: String, limits: MultipartReader.Limits = .init()) async -> UploaderError.Code? {
            do {
                _ = try await parts(Array(text.utf8), sizes: [size], limits: limits)
                return nil
            } catch let error as UploaderError {
                return error.code
            } catch {
                return nil
            }
        }
        let head = "--b0und\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"
        #expect(await code(head + "abc") == .incompleteBody)
        #expect(await code(head + "abc\r\n--b0und") == .incompleteBody)
        #expect(await code(head + "abc\r\n--b0und--\r\ntrailing") == .incompleteBody)
        #expect(await code("") == .incompleteBody)
        #expect(await code("no delimiter at all") == .incompleteBody)
        #expect(await code("--b0und\r\nno colon\r\n\r\nabc\r\n--b0und--") == .malformedMultipart)
        #expect(await code("--b0und\r\nBad Name: v\r\n\r\nabc\r\n--b0und--") == .malformedMultipart)
        // A byte over 0x7F in a header name (multipart-kit 4.7.1's parser traps on it: index out of range).
        #expect(await code("--b0und\r\n\u{C3}: v\r\n\r\nabc\r\n--b0und--") == .malformedMultipart)
        #expect(await code("--b0und\r\nA: v\rB\r\n\r\nabc\r\n--b0und--") == .malformedMultipart)
        #expect(await code(head + "abc\r\n--b0undX\r\n") == .malformedMultipart)
        #expect(await code("--b0und\r\nA: \(String(repeating: "v", count: 9000))\r\n\r\nabc\r\n--b0und--") == .partHeadersTooLarge)
        #expect(await code(String(repeating: "p", count: 9000) + "\r\n" + head + "abc\r\n--b0und--") == .partHeadersTooLarge)
        let lines = (0..<40).map { "X-\($0): v\r\n" }.joined()
        #expect(await code("--b0und\r\n\(lines)\r\nabc\r\n--b0und--") == .partHeadersTooLarge)
        let many = (0..<17).map { _ in "--b0und\r\nA: v\r\n\r\nx\r\n" }.joined() + "--b0und--"
        #expect(await code(many) == .tooManyParts)
        #expect(await code(many, limits: .init(maxParts: 17)) == nil)
    }

    @Test("the delimiter search: found, begun at the end, or absent")
    func search() {
        let delimiter = Array("\r\n--b0und".utf8)
        func match(_ text: String) -> MultipartReader.Match { MultipartReader.search(delimiter, in: ByteBuffer(string: text)) }
        #expect(match("abc\r\n--b0und\r\n") == .found(3))
        #expect(match("\r\n--b0und") == .found(0))
        #expect(match("abc\r\r\n--b0") == .partial(4))
        #expect(match("abc\r") == .partial(3))
        #expect(match("abc\r\n--b0unX\r\nz") == .none)
        #expect(match("") == .none)
    }
}

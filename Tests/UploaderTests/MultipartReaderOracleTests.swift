import MultipartKit
import NIOCore
import Testing

@testable import Uploader

/// `MultipartReader` against multipart-kit's `MultipartParser` as the oracle, on generated bodies:
/// well-formed forms whose files are full of the delimiter's pieces, then the same forms with a
/// few bytes changed, inserted or removed, each read in random splits.
///
/// - Whatever `MultipartReader` accepts, multipart-kit parses to the same parts: the same header
///   lines in order and the same body bytes.
/// - Every well-formed form (no file holds the delimiter, within the limits) is accepted.
///
/// What the oracle does not do, and so is kept out of what it sees: RFC 2046's transport padding
/// after a delimiter (removed from its copy), a preamble holding `--` (multipart-kit takes
/// `--boundary` anywhere in it as the first delimiter; generated preambles have none, and edits
/// stay after the first delimiter), and header names with bytes over 0x7F (multipart-kit 4.7.1
/// indexes a 128-entry table with them and traps; generated names are ASCII, and the oracle only
/// sees an edited body once `MultipartReader` has accepted it, which needs token names).
@Suite("MultipartReader: the same parts as multipart-kit on generated and damaged bodies")
struct MultipartReaderOracleTests {
    static let cases = 4000

    @Test("accepted means the same parts; well-formed means accepted")
    func oracle() async throws {
        var random = SplitMix64(seed: 0x6d75_6c74_6970_6172)
        var accepted = 0
        var rejected = 0
        for index in 0..<Self.cases {
            let boundary = Self.boundary(&random)
            let form = Self.form(&random, boundary: boundary)
            var body = form.bytes
            let edited = index % 2 == 1
            if edited { Self.edit(&body, after: form.firstDelimiterEnd, &random) }
            let sizes = Self.sizes(&random)
            let ours: [ParsedPart]
            do {
                ours = try await readParts(body, sizes: sizes, boundary: boundary)
            } catch is UploaderError {
                rejected += 1
                if !edited && form.wellFormed {
                    Issue.record("case \(index): a well-formed form was refused (boundary \(boundary), reads \(sizes))")
                }
                continue
            }
            accepted += 1
            let theirs = try Self.oracle(Self.withoutPadding(body, boundary: boundary), boundary: boundary, sizes: sizes)
            #expect(ours == theirs, "case \(index): boundary \(boundary), reads \(sizes), body \(Array(body))")
            if !edited && form.wellFormed { #expect(ours == form.parts, "case \(index): not the parts the form was made of") }
        }
        // The generator must exercise both sides.
        #expect(accepted > Self.cases / 4)
        #expect(rejected > Self.cases / 10)
    }

    // MARK: The oracle

    /// multipart-kit's parts of `body`, fed in reads of `sizes`. It stops at the closing delimiter
    /// (what follows is the epilogue).
    static func oracle(_ body: [UInt8], boundary: String, sizes: [Int]) throws -> [ParsedPart] {
        let parser = MultipartParser(boundary: boundary)
        var parts: [ParsedPart] = []
        var current = ParsedPart()
        parser.onHeader = { current.headers.append([$0, $1]) }
        parser.onBody = { current.body += $0.readableBytesView }
        parser.onPartComplete = {
            parts.append(current)
            current = ParsedPart()
        }
        var offset = 0
        var turn = 0
        while offset < body.count {
            let end = min(offset + sizes[turn % sizes.count], body.count)
            try parser.execute(ByteBuffer(bytes: body[offset..<end]))
            offset = end
            turn += 1
        }
        return parts
    }

    /// `body` with RFC 2046 transport padding (spaces and tabs between a delimiter and its CRLF)
    /// removed: multipart-kit does not accept it.
    static func withoutPadding(_ body: [UInt8], boundary: String) -> [UInt8] {
        let dashBoundary = Array("--\(boundary)".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var index = 0
        while index < body.count {
            let atDelimiter = (index == 0 || (out.count >= 2 && out.suffix(2) == [13, 10])) && body[index...].starts(with: dashBoundary)
            guard atDelimiter else {
                out.append(body[index])
                index += 1
                continue
            }
            out += dashBoundary
            index += dashBoundary.count
            var padding = index
            while padding < body.count, body[padding] == 32 || body[padding] == 9 { padding += 1 }
            if padding > index, padding + 1 < body.count, body[padding] == 13, body[padding + 1] == 10 { index = padding }
        }
        return out
    }

    // MARK: Generated bodies

    struct Form {
        var bytes: [UInt8]
        var parts: [ParsedPart]
        /// Where the first delimiter and its CRLF end.
        var firstDelimiterEnd: Int
        /// No file holds the delimiter and the form is within the default limits.
        var wellFormed: Bool
    }

    /// 1 to 70 of RFC 2046's `bchars`, not ending in a space; often short and full of `-`.
    static func boundary(_ random: inout SplitMix64) -> String {
        let characters = Array("abcXYZ0189'()+_,./:=? -")
        let count = Bool.random(using: &random) ? Int.random(in: 1...4, using: &random) : Int.random(in: 5...70, using: &random)
        var text = String((0..<count).map { _ in Bool.random(using: &random) ? "-" : characters.randomElement(using: &random)! })
        while text.last == " " { text.removeLast() }
        return text.isEmpty ? "-" : text
    }

    static func form(_ random: inout SplitMix64, boundary: String) -> Form {
        let delimiter = Array("\r\n--\(boundary)".utf8)
        var bytes: [UInt8] = []
        if Int.random(in: 0..<4, using: &random) == 0 {
            bytes += Array("preamble text \r\n\r".utf8).shuffled(using: &random) + Array("\r\n".utf8)
        }
        bytes += Array("--\(boundary)\r\n".utf8)
        let firstDelimiterEnd = bytes.count
        var parts: [ParsedPart] = []
        var wellFormed = true
        let count = Int.random(in: 1...4, using: &random)
        for index in 0..<count {
            if index > 0 { bytes += delimiter + Array("\r\n".utf8) }
            var part = ParsedPart()
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                let name = ["Content-Disposition", "Content-Type", "X-a", "A", "x!#$%&'*+-.^_`|~9"].randomElement(using: &random)!
                let value = headerValue(&random)
                bytes += Array("\(name):".utf8) + Array(repeating: 32, count: Int.random(in: 0...2, using: &random)) + value + [13, 10]
                part.headers.append([name, String(bytes: value, encoding: .utf8) ?? ""])
            }
            bytes += [13, 10]
            part.body = content(&random, boundary: boundary)
            if MultipartReader.search(delimiter, in: ByteBuffer(bytes: part.body + delimiter)) != .found(part.body.count) { wellFormed = false }
            bytes += part.body
            parts.append(part)
        }
        bytes += delimiter + Array("--".utf8)
        if Bool.random(using: &random) { bytes += [13, 10] }
        return Form(bytes: bytes, parts: parts, firstDelimiterEnd: firstDelimiterEnd, wellFormed: wellFormed)
    }

    /// A header value: no leading space or tab (both parsers drop those), no CR or LF; sometimes bytes that are not UTF-8.
    static func headerValue(_ random: inout SplitMix64) -> [UInt8] {
        var value = Array("form-data; name=\"file\"; filename=\"a b.jpg\"".utf8).prefix(Int.random(in: 0...44, using: &random)).map { $0 }
        if Int.random(in: 0..<8, using: &random) == 0 { value += [0xC3, 0xA9, 0xFF] }
        while value.first == 32 { value.removeFirst() }
        return value
    }

    /// A file's bytes: pieces of the delimiter and of the closing boundary between random bytes.
    static func content(_ random: inout SplitMix64, boundary: String) -> [UInt8] {
        let dashes = Array("--".utf8)
        let b = Array(boundary.utf8)
        let pieces: [[UInt8]] = [
            [13], [10], [45], [13, 10], [13, 13, 10], [13, 10, 45, 45], dashes + b, Array(b.dropLast()), [13, 10] + dashes + b.dropLast(),
            [13, 10] + dashes + b + [88], [13, 10] + dashes + b + [13], [13, 10, 45] + b, [0], [255],
        ]
        var out: [UInt8] = []
        for _ in 0..<Int.random(in: 0...10, using: &random) {
            if Bool.random(using: &random) {
                out += pieces.randomElement(using: &random)!
            } else {
                out += (0..<Int.random(in: 1...6, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
        }
        return out
    }

    /// One to three bytes changed, inserted or removed after `start`: the bytes most likely to
    /// matter (CR, LF, `-`, space, tab, colon) or any.
    static func edit(_ body: inout [UInt8], after start: Int, _ random: inout SplitMix64) {
        let interesting: [UInt8] = [13, 10, 45, 32, 9, 58, 0x80]
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            guard body.count > start else { return }
            let at = Int.random(in: start..<body.count, using: &random)
            let byte = Bool.random(using: &random) ? interesting.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
            switch Int.random(in: 0..<3, using: &random) {
            case 0: body[at] = byte
            case 1: body.insert(byte, at: at)
            default: body.remove(at: at)
            }
        }
    }

    /// How the body arrives: one read, reads of one size, or a cycle of sizes.
    static func sizes(_ random: inout SplitMix64) -> [Int] {
        switch Int.random(in: 0..<3, using: &random) {
        case 0: [1 << 20]
        case 1: [Int.random(in: 1...9, using: &random)]
        default: (0..<Int.random(in: 2...5, using: &random)).map { _ in Int.random(in: 1...64, using: &random) }
        }
    }
}

/// A seeded generator, so a failing case comes back on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

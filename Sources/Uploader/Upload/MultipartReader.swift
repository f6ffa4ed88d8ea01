import Foundation
import NIOCore

/// Streams a `multipart/form-data` body part by part, enforcing limits as it goes:
///
/// - at most `maxParts` parts;
/// - per part at most `maxHeaderLines` header lines and `maxHeaderBytes` of header block (an
///   endless header is refused once it passes the limit, never buffered whole);
/// - at most `maxHeaderBytes` of preamble;
/// - the body must end with the closing boundary (`--boundary--`): a body cut short is incomplete,
///   never a shorter file.
///
/// A part's body comes out as slices of the buffers the request was read into: no byte of a file
/// is copied here. The delimiter (`CRLF--boundary`) is found with `memchr` for its CR and one
/// compare, so random data costs one call per ~256 bytes rather than a step per byte. Only when a
/// read ends in what may be the start of a delimiter are those last bytes joined with the next
/// read (a copy of that read, about once in 256 reads of random data).
///
/// Used by one task only: the handler that owns the request.
final class MultipartReader {
    struct Limits: Sendable {
        var maxParts = 16
        var maxHeaderLines = 32
        var maxHeaderBytes = 8 * 1024
    }

    /// Where the reader is in the body.
    private enum State {
        /// Before the first delimiter.
        case preamble
        /// Just after a delimiter: `--` ends the body, CRLF starts a part's head.
        case afterDelimiter
        /// In a part's head.
        case headers
        /// In a part's body.
        case body
        /// After the closing delimiter.
        case epilogue
        /// The body has been read to its end and checked.
        case finished
    }

    private let reader: BodyReader
    private let limits: Limits
    /// `CRLF--boundary`: what ends a part's body (RFC 2046's delimiter).
    private let delimiter: [UInt8]
    /// `--boundary--`: how the body must end.
    private let closing: [UInt8]
    private var state = State.preamble
    /// Bytes read from the request and not consumed yet.
    private var buffer = ByteBuffer()
    /// The last bytes of the body, to check for the closing boundary at the end.
    private var tail: [UInt8] = []
    private var partCount = 0
    /// Bytes of preamble, or of the current part's head, consumed so far.
    private var headerBytes = 0

    init(reader: BodyReader, boundary: String, limits: Limits) throws {
        guard !boundary.isEmpty, boundary.utf8.count <= 70 else {
            throw UploaderError(.malformedMultipart, "the multipart boundary must be 1 to 70 characters")
        }
        self.reader = reader
        self.limits = limits
        self.delimiter = Array("\r\n--\(boundary)".utf8)
        self.closing = Array("--\(boundary)--".utf8)
    }

    /// The boundary parameter of a `multipart/form-data` content type, or nil.
    static func boundary(contentType: String) -> String? {
        let lower = contentType.lowercased()
        guard lower.hasPrefix("multipart/form-data") || lower.hasPrefix("multipart/mixed") else { return nil }
        return Part.parameters(contentType)["boundary"]
    }

    /// Reads up to the next part's body and returns its head, or nil after the last part.
    /// Whatever is left of the current part's body is skipped.
    func nextPart() async throws -> Part? {
        while true {
            switch state {
            case .body:
                while try await nextBodyChunk() != nil {}
            case .preamble:
                try await skipPreamble()
            case .afterDelimiter:
                guard try await startPart() else { continue }
                return try await readHead()
            case .headers:
                return try await readHead()
            case .epilogue:
                try await readToEnd()
                return nil
            case .finished:
                return nil
            }
        }
    }

    /// The next bytes of the current part's body, or nil at its end.
    func nextBodyChunk() async throws -> ByteBuffer? {
        guard case .body = state else { return nil }
        while true {
            if buffer.readableBytes == 0 {
                guard try await fill() else {
                    throw UploaderError(.incompleteBody, "the multipart body ended inside a part")
                }
            }
            switch Self.search(delimiter, in: buffer) {
            case .found(let offset):
                let body = buffer.readSlice(length: offset)!
                buffer.moveReaderIndex(forwardBy: delimiter.count)
                state = .afterDelimiter
                // The part's end is reported by the next call.
                if body.readableBytes > 0 { return body }
                return nil
            case .partial(let offset) where offset > 0:
                return buffer.readSlice(length: offset)!
            case .partial:
                // Everything buffered may be the start of the delimiter: read on.
                guard try await fill() else {
                    throw UploaderError(.incompleteBody, "the multipart body ended inside a part")
                }
            case .none:
                return buffer.readSlice(length: buffer.readableBytes)!
            }
        }
    }

    // MARK: Structure

    /// Skips the preamble up to the first delimiter: `--boundary` at the very start of the body or
    /// `CRLF--boundary` after some preamble (at most `maxHeaderBytes` of it).
    private func skipPreamble() async throws {
        let dashBoundary = delimiter[2...]
        // At the start: `--boundary` with no CRLF before it (what every client sends).
        while buffer.readableBytes < dashBoundary.count {
            let have = buffer.readableBytesView
            guard have.elementsEqual(dashBoundary.prefix(have.count)) else { break }
            guard try await fill() else { throw incompleteMultipart() }
        }
        if buffer.readableBytesView.starts(with: dashBoundary) {
            buffer.moveReaderIndex(forwardBy: dashBoundary.count)
            state = .afterDelimiter
            return
        }
        while true {
            switch Self.search(delimiter, in: buffer) {
            case .found(let offset):
                try countHeaderBytes(offset)
                buffer.moveReaderIndex(forwardBy: offset + delimiter.count)
                state = .afterDelimiter
                return
            case .partial(let offset):
                try countHeaderBytes(offset)
                buffer.moveReaderIndex(forwardBy: offset)
            case .none:
                try countHeaderBytes(buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            }
            guard try await fill() else { throw incompleteMultipart() }
        }
    }

    /// After a delimiter: `--` closes the body (false, state `.epilogue`); optional spaces or tabs
    /// (RFC 2046's transport padding), then CRLF, start a new part (true, state `.headers`).
    private func startPart() async throws -> Bool {
        headerBytes = 0
        while true {
            let bytes = buffer.readableBytesView
            var index = bytes.startIndex
            while index < bytes.endIndex, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") { index += 1 }
            let padding = index - bytes.startIndex
            if bytes.endIndex - index >= 2 {
                switch (bytes[index], bytes[index + 1]) {
                case (UInt8(ascii: "-"), UInt8(ascii: "-")) where padding == 0:
                    buffer.moveReaderIndex(forwardBy: 2)
                    state = .epilogue
                    return false
                case (UInt8(ascii: "\r"), UInt8(ascii: "\n")):
                    try countHeaderBytes(padding + 2)
                    buffer.moveReaderIndex(forwardBy: padding + 2)
                    partCount += 1
                    if partCount > limits.maxParts {
                        throw UploaderError(.tooManyParts, "more than \(limits.maxParts) parts in one request")
                    }
                    state = .headers
                    return true
                default:
                    throw malformed()
                }
            }
            try countHeaderBytes(padding)
            guard try await fill() else { throw incompleteMultipart() }
        }
    }

    /// Reads the current part's header lines up to the empty line; the body follows.
    private func readHead() async throws -> Part {
        var part = Part()
        while true {
            guard let line = try await readHeaderLine() else {
                state = .body
                return part
            }
            part.headers.append(line)
            if part.headers.count > limits.maxHeaderLines {
                throw UploaderError(.partHeadersTooLarge, "a multipart part has more than \(limits.maxHeaderLines) header lines")
            }
        }
    }

    /// One `name: value` line of a part's head, or nil for the empty line that ends it. A name is
    /// an RFC 822 token; leading spaces of the value are dropped; a line ends with CRLF only.
    private func readHeaderLine() async throws -> (name: String, value: String)? {
        var searched = 0
        while true {
            let bytes = buffer.readableBytesView
            if let cr = bytes[(bytes.startIndex + searched)...].firstIndex(of: UInt8(ascii: "\r")) {
                guard cr + 1 < bytes.endIndex else {
                    searched = cr - bytes.startIndex
                    try checkHeaderBytes(pending: bytes.count)
                    guard try await fill() else { throw incompleteMultipart() }
                    continue
                }
                guard bytes[cr + 1] == UInt8(ascii: "\n") else { throw malformed() }
                let line = bytes[bytes.startIndex..<cr]
                try countHeaderBytes(line.count + 2)
                buffer.moveReaderIndex(forwardBy: line.count + 2)
                if line.isEmpty { return nil }
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                    line[..<colon].allSatisfy(\.isHeaderNameCharacter)
                else { throw malformed() }
                let value = line[(colon + 1)...].drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
                return (String(decoding: line[..<colon], as: UTF8.self), String(bytes: value, encoding: .utf8) ?? "")
            }
            searched = bytes.count
            try checkHeaderBytes(pending: bytes.count)
            guard try await fill() else { throw incompleteMultipart() }
        }
    }

    /// Reads what follows the closing delimiter to the end of the body, then checks the end.
    private func readToEnd() async throws {
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        while try await fill() { buffer.moveReaderIndex(forwardBy: buffer.readableBytes) }
        try checkEnd()
        state = .finished
    }

    // MARK: Input

    /// Reads the next chunk of the request into `buffer`; false at the end of the body. A chunk
    /// read while `buffer` is empty is taken as it is (no copy).
    private func fill() async throws -> Bool {
        guard var chunk = try await reader.next() else { return false }
        remember(chunk)
        if buffer.readableBytes == 0 {
            buffer = chunk
        } else {
            var joined = ByteBufferAllocator().buffer(capacity: buffer.readableBytes + chunk.readableBytes)
            joined.writeBuffer(&buffer)
            joined.writeBuffer(&chunk)
            buffer = joined
        }
        return true
    }

    private func countHeaderBytes(_ count: Int) throws {
        headerBytes += count
        try checkHeaderBytes(pending: 0)
    }

    /// The preamble, and each part's head, may take `maxHeaderBytes` (431 beyond).
    private func checkHeaderBytes(pending: Int) throws {
        if headerBytes + pending > limits.maxHeaderBytes {
            throw UploaderError(.partHeadersTooLarge, "a multipart part's headers exceed \(limits.maxHeaderBytes) bytes")
        }
    }

    private func remember(_ chunk: ByteBuffer) {
        let keep = closing.count + 4
        tail.append(contentsOf: chunk.readableBytesView.suffix(keep))
        if tail.count > keep { tail.removeFirst(tail.count - keep) }
    }

    /// At the end of the body the closing boundary must have been seen: the body's last bytes
    /// are `--boundary--`, optionally followed by CRLF.
    private func checkEnd() throws {
        var end = tail[...]
        while let last = end.last, last == 0x0D || last == 0x0A { end = end.dropLast() }
        guard partCount > 0, end.count >= closing.count, Array(end.suffix(closing.count)) == closing else {
            throw incompleteMultipart()
        }
    }

    private func incompleteMultipart() -> UploaderError {
        UploaderError(.incompleteBody, "the multipart body ended without its closing boundary")
    }

    private func malformed() -> UploaderError {
        UploaderError(.malformedMultipart, "the multipart body is malformed")
    }

    // MARK: Search

    /// Where a delimiter is in a buffer.
    enum Match: Equatable {
        /// It starts at this offset.
        case found(Int)
        /// The bytes from this offset to the end are its first bytes: more input decides.
        case partial(Int)
        /// Nowhere, not even begun.
        case none
    }

    /// Finds `delimiter` (which starts with CR) in the readable bytes of `buffer`: `memchr` to
    /// each CR, then one compare.
    static func search(_ delimiter: [UInt8], in buffer: ByteBuffer) -> Match {
        buffer.withUnsafeReadableBytes { bytes in
            delimiter.withUnsafeBytes { needle in
                guard let base = bytes.baseAddress, bytes.count > 0 else { return .none }
                let count = bytes.count
                let length = needle.count
                var start = 0
                while start < count {
                    guard let hit = memchr(base + start, Int32(needle[0]), count - start) else { return .none }
                    let offset = base.distance(to: UnsafeRawPointer(hit))
                    let available = count - offset
                    if available >= length {
                        if memcmp(hit, needle.baseAddress!, length) == 0 { return .found(offset) }
                    } else if memcmp(hit, needle.baseAddress!, available) == 0 {
                        return .partial(offset)
                    }
                    start = offset + 1
                }
                return .none
            }
        }
    }
}

extension UInt8 {
    /// A character of an RFC 822 token (`field-name`): printable ASCII but no specials or space.
    fileprivate var isHeaderNameCharacter: Bool {
        guard self > 32, self < 127 else { return false }
        return !#"()<>@,;:\"/[]?={} "#.utf8.contains(self)
    }
}

import Foundation
import HTTPTypes
import MultipartKit
import NIOCore

/// Streams a `multipart/form-data` body part by part, with multipart-kit's parser doing the
/// parsing and this type enforcing the limits the parser does not have:
///
/// - at most `maxParts` parts;
/// - per part at most `maxHeaderLines` header lines and `maxHeaderBytes` of header block (fed to
///   the parser in small slices while headers are expected, so an endless header is refused after
///   a few KiB instead of being buffered);
/// - at most `maxHeaderBytes` of preamble;
/// - the body must end with the closing boundary (`--boundary--`): a body cut short is incomplete,
///   never a shorter file.
///
/// Used by one task only: the handler that owns the request.
final class MultipartReader {
    struct Limits: Sendable {
        var maxParts = 16
        var maxHeaderLines = 32
        var maxHeaderBytes = 8 * 1024
    }

    /// The head of one part.
    struct Part {
        var headers: [(name: String, value: String)] = []
        /// `name` from `Content-Disposition: form-data; name="…"`.
        var fieldName: String? { disposition["name"] }
        /// `filename` from `Content-Disposition` (`filename*` preferred when present).
        var fileName: String? { disposition["filename*"].map(Self.decodeExtValue) ?? disposition["filename"] }
        var contentType: String? { headers.first { $0.name.lowercased() == "content-type" }?.value }

        private var disposition: [String: String] {
            guard let value = headers.first(where: { $0.name.lowercased() == "content-disposition" })?.value else { return [:] }
            return Self.parameters(value)
        }

        /// `form-data; name="file"; filename="a b.jpg"` → ["name": "file", "filename": "a b.jpg"].
        static func parameters(_ value: String) -> [String: String] {
            var result: [String: String] = [:]
            var rest = Substring(value)
            // Skip the disposition type.
            if let semicolon = rest.firstIndex(of: ";") { rest = rest[rest.index(after: semicolon)...] } else { return [:] }
            while !rest.isEmpty {
                rest = rest.drop { $0 == " " || $0 == "\t" || $0 == ";" }
                guard let equals = rest.firstIndex(of: "=") else { break }
                let key = rest[..<equals].trimmingSpaces().lowercased()
                rest = rest[rest.index(after: equals)...]
                var parsed = ""
                if rest.first == "\"" {
                    rest = rest.dropFirst()
                    var escaped = false
                    var end = rest.endIndex
                    for index in rest.indices {
                        let character = rest[index]
                        if escaped { parsed.append(character); escaped = false; continue }
                        if character == "\\" { escaped = true; continue }
                        if character == "\"" { end = index; break }
                        parsed.append(character)
                    }
                    rest = end < rest.endIndex ? rest[rest.index(after: end)...] : ""
                } else {
                    let end = rest.firstIndex(of: ";") ?? rest.endIndex
                    parsed = String(rest[..<end]).trimmingSpaces()
                    rest = rest[end...]
                }
                if result[key] == nil { result[key] = parsed }
            }
            return result
        }

        /// RFC 5987 `UTF-8''na%C3%AFve.jpg` → `naïve.jpg`.
        static func decodeExtValue(_ value: String) -> String {
            let parts = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
            let encoded = parts.count == 3 ? String(parts[2]) : value
            return encoded.removingPercentEncoding ?? encoded
        }
    }

    private enum Event {
        case header(String, String)
        case body(ByteBuffer)
        case partComplete
    }

    /// Where the parser's callbacks record what they saw. The parser hands over a body in slices
    /// cut at every CR byte (about every 256 bytes of binary data); consecutive slices are merged
    /// as they arrive, so the consumer gets one buffer per network read.
    private final class EventLog {
        var events: [Event] = []
        /// Capacity for a new body buffer: the size of the input being parsed.
        var capacityHint = 0

        func body(_ slice: inout ByteBuffer) {
            if case .body(var merged)? = events.last {
                events.removeLast()  // `merged` is now the only reference: the write below does not copy
                merged.writeBuffer(&slice)
                events.append(.body(merged))
            } else {
                var merged = ByteBufferAllocator().buffer(capacity: max(capacityHint, slice.readableBytes))
                merged.writeBuffer(&slice)
                events.append(.body(merged))
            }
        }
    }

    private let reader: BodyReader
    private let parser: MultipartParser
    private let limits: Limits
    private let closing: [UInt8]
    private let log = EventLog()
    private var events: [Event] { log.events }
    private var eventIndex = 0
    /// Bytes read from the request that the parser has not seen yet.
    private var unparsed: ByteBuffer?
    /// The last bytes of the body, to check for the closing boundary at the end.
    private var tail: [UInt8] = []
    private var partCount = 0
    /// True while the parser is before the first part or inside a part's headers.
    private var expectingHeaders = true
    private var headerBytes = 0
    private var headerLines = 0
    private var inPart = false
    private var finished = false

    init(reader: BodyReader, boundary: String, limits: Limits) throws {
        guard !boundary.isEmpty, boundary.utf8.count <= 70 else {
            throw UploaderError(.malformedMultipart, "the multipart boundary must be 1 to 70 characters")
        }
        self.reader = reader
        self.limits = limits
        self.parser = MultipartParser(boundary: boundary)
        self.closing = Array("--\(boundary)--".utf8)
        // The callbacks only record; the reader acts on the events after each `execute`.
        let log = self.log
        parser.onHeader = { name, value in log.events.append(.header(name, value)) }
        parser.onBody = { buffer in log.body(&buffer) }
        parser.onPartComplete = { log.events.append(.partComplete) }
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
        while inPart { _ = try await nextBodyChunk() }
        var part = Part()
        while let event = try await nextEvent() {
            switch event {
            case .header(let name, let value):
                part.headers.append((name, value))
            case .body(let buffer):
                // The first body bytes: the head is complete. Keep the bytes for nextBodyChunk.
                inPart = true
                pushBack(.body(buffer))
                return part
            case .partComplete:
                // A part with an empty body.
                inPart = true
                pushBack(.partComplete)
                return part
            }
        }
        return nil
    }

    /// The next bytes of the current part's body, or nil at its end.
    func nextBodyChunk() async throws -> ByteBuffer? {
        guard inPart else { return nil }
        guard let event = try await nextEvent() else {
            throw UploaderError(.incompleteBody, "the multipart body ended inside a part")
        }
        switch event {
        case .body(let buffer):
            return buffer
        case .partComplete:
            inPart = false
            return nil
        case .header:
            throw UploaderError(.malformedMultipart, "unexpected header inside a part body")
        }
    }

    private var pushedBack: Event?

    private func pushBack(_ event: Event) { pushedBack = event }

    /// The next parser event, reading and parsing more of the body as needed; nil at the end of a
    /// well-formed body.
    private func nextEvent() async throws -> Event? {
        if let event = pushedBack {
            pushedBack = nil
            return event
        }
        while true {
            if eventIndex < events.count {
                let event = events[eventIndex]
                eventIndex += 1
                try account(event)
                return event
            }
            log.events.removeAll(keepingCapacity: true)
            eventIndex = 0
            if finished { return nil }
            if unparsed == nil || unparsed!.readableBytes == 0 {
                guard let chunk = try await reader.next() else {
                    finished = true
                    try checkEnd()
                    continue
                }
                remember(chunk)
                unparsed = chunk
            }
            try feed()
        }
    }

    /// Feeds the parser: all at once inside a body, in small slices while headers are expected so
    /// their size is checked before much is buffered.
    private func feed() throws {
        guard var buffer = unparsed else { return }
        let sliceLength = expectingHeaders ? min(buffer.readableBytes, 512) : buffer.readableBytes
        let slice = buffer.readSlice(length: sliceLength)!
        unparsed = buffer
        if expectingHeaders {
            headerBytes += sliceLength
            // The limit covers the preamble and the head of each part; slices can overshoot by one.
            if headerBytes > limits.maxHeaderBytes + 512 {
                throw UploaderError(.partHeadersTooLarge, "a multipart part's headers exceed \(limits.maxHeaderBytes) bytes")
            }
        }
        log.capacityHint = slice.readableBytes
        do {
            try parser.execute(slice)
        } catch {
            throw UploaderError(.malformedMultipart, "the multipart body is malformed")
        }
    }

    /// Tracks where the parser is from the events it produced.
    private func account(_ event: Event) throws {
        switch event {
        case .header:
            headerLines += 1
            if headerLines > limits.maxHeaderLines {
                throw UploaderError(.partHeadersTooLarge, "a multipart part has more than \(limits.maxHeaderLines) header lines")
            }
        case .body:
            expectingHeaders = false
        case .partComplete:
            partCount += 1
            if partCount > limits.maxParts {
                throw UploaderError(.tooManyParts, "more than \(limits.maxParts) parts in one request")
            }
            expectingHeaders = true
            headerBytes = 0
            headerLines = 0
        }
    }

    private func remember(_ chunk: ByteBuffer) {
        let keep = closing.count + 4
        tail.append(contentsOf: chunk.readableBytesView.suffix(keep))
        if tail.count > keep { tail.removeFirst(tail.count - keep) }
    }

    /// At the end of the body the parser must have seen the closing boundary: the body's last
    /// bytes are `--boundary--`, optionally followed by CRLF.
    private func checkEnd() throws {
        var end = tail[...]
        while let last = end.last, last == 0x0D || last == 0x0A { end = end.dropLast() }
        guard partCount > 0, end.count >= closing.count, Array(end.suffix(closing.count)) == closing else {
            throw UploaderError(.incompleteBody, "the multipart body ended without its closing boundary")
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

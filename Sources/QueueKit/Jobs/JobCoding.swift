import Foundation
import StorageKit

/// The JSON coders every job document uses: sorted keys, ISO 8601 dates with fractional seconds.
public enum JobCoding {
    /// A JSON encoder for job documents.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(format(date))
        }
        return encoder
    }

    /// A JSON decoder for job documents (accepts ISO 8601 with or without fractional seconds).
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = HTTPDate.parseISO8601(text) { return date.jobPrecision }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 date: \(text)"))
        }
        return decoder
    }

    /// `2026-11-23T10:00:00.123Z`: ISO 8601 UTC with milliseconds.
    static func format(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let seconds = Date(timeIntervalSince1970: TimeInterval(milliseconds.quotientAndRemainder(dividingBy: 1000).quotient - (milliseconds < 0 && milliseconds % 1000 != 0 ? 1 : 0)))
        let fraction = ((milliseconds % 1000) + 1000) % 1000
        let whole = HTTPDate.iso8601(seconds)
        return String(whole.dropLast()) + "." + String(format: "%03d", fraction) + "Z"
    }

    /// Queue message text for a document: base64 of its UTF-8 JSON (XML-safe, and what Azure
    /// Functions expects).
    public static func messageText<T: Encodable>(_ value: T) throws -> String {
        try encoder().encode(value).base64EncodedString()
    }

    /// The JSON inside a queue message: base64 of UTF-8 JSON, or the JSON text itself.
    public static func json(fromMessageText text: String) -> Data {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let decoded = Data(base64Encoded: trimmed), let first = decoded.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "["),
            String(data: decoded, encoding: .utf8) != nil
        {
            return decoded
        }
        return Data(trimmed.utf8)
    }
}

extension Date {
    /// The date at the millisecond precision job documents keep, so a document equals itself after a round trip.
    public var jobPrecision: Date { Date(timeIntervalSince1970: (timeIntervalSince1970 * 1000).rounded() / 1000) }
}

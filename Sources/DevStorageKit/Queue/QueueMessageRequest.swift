import Foundation
import XMLCoder

/// The body of Put Message / Update Message: `<QueueMessage><MessageText>…</MessageText></QueueMessage>`.
struct QueueMessageRequest: Decodable, Sendable {
    /// The message text, XML-unescaped (nil when the element is absent).
    var messageText: String?

    enum CodingKeys: String, CodingKey {
        case messageText = "MessageText"
    }

    /// Parses the XML body; 400 `InvalidXmlDocument` if it is not a queue message.
    static func parse(_ xml: Data) throws(StorageServiceError) -> QueueMessageRequest {
        let decoder = XMLDecoder()
        decoder.trimValueWhitespaces = false
        decoder.shouldProcessNamespaces = false
        do {
            return try decoder.decode(QueueMessageRequest.self, from: xml)
        } catch {
            throw .invalidXML
        }
    }
}

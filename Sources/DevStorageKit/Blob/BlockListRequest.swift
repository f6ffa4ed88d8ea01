import Foundation
import XMLCoder

/// The body of Put Block List: `<BlockList><Latest>id</Latest><Committed>id</Committed>…</BlockList>`,
/// decoded with XMLCoder's choice coding so the order of mixed elements is kept.
struct BlockListRequest: Sendable {
    /// The entries in blob order.
    var entries: [(BlobStore.BlockChoice, String)]

    /// Parses the XML body; 400 `InvalidXmlDocument` if it is not a block list.
    init(xml: Data) throws(StorageServiceError) {
        let decoder = XMLDecoder()
        decoder.shouldProcessNamespaces = false
        do {
            let items = try decoder.decode([Entry].self, from: xml)
            entries = items.map { ($0.choice, $0.id) }
        } catch {
            // An empty list (`<BlockList />` or `<BlockList></BlockList>`) is valid and commits an empty blob.
            if let text = String(data: xml, encoding: .utf8), Self.isEmptyList(text) {
                entries = []
                return
            }
            throw .invalidXML
        }
    }

    static func isEmptyList(_ text: String) -> Bool {
        var body = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if body.hasPrefix("<?xml"), let end = body.range(of: "?>") {
            body = body[end.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let compact = body.filter { !$0.isWhitespace }
        return compact == "<BlockList/>" || compact == "<BlockList></BlockList>"
    }

    /// One `<Latest>`, `<Committed>` or `<Uncommitted>` element.
    struct Entry: Decodable {
        var choice: BlobStore.BlockChoice
        var id: String

        enum CodingKeys: String, XMLChoiceCodingKey {
            case latest = "Latest"
            case committed = "Committed"
            case uncommitted = "Uncommitted"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if let id = try container.decodeIfPresent(String.self, forKey: .latest) {
                self = Entry(choice: .latest, id: id)
            } else if let id = try container.decodeIfPresent(String.self, forKey: .committed) {
                self = Entry(choice: .committed, id: id)
            } else {
                self = Entry(choice: .uncommitted, id: try container.decode(String.self, forKey: .uncommitted))
            }
        }

        init(choice: BlobStore.BlockChoice, id: String) {
            self.choice = choice
            self.id = id
        }
    }
}

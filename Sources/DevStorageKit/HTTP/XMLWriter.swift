import StorageKit

/// Builds response XML with escaped text; elements come out in exactly the order written.
struct XMLWriter {
    /// The document so far, starting with the XML declaration.
    private(set) var text = #"<?xml version="1.0" encoding="utf-8"?>"#

    /// `<name attr="value">`.
    mutating func open(_ name: String, attributes: [(name: String, value: String)] = []) {
        text += "<" + name
        for attribute in attributes {
            text += " " + attribute.name + "=\"" + Self.escape(attribute.value) + "\""
        }
        text += ">"
    }

    /// `</name>`.
    mutating func close(_ name: String) {
        text += "</" + name + ">"
    }

    /// `<name>value</name>`, or `<name />` when the value is nil or empty.
    mutating func element(_ name: String, _ value: String?) {
        guard let value, !value.isEmpty else {
            text += "<" + name + " />"
            return
        }
        text += "<" + name + ">" + Self.escape(value) + "</" + name + ">"
    }

    /// An empty element `<name />`.
    mutating func empty(_ name: String) {
        text += "<" + name + " />"
    }

    /// Escapes `& < > " '` for element text and attribute values (StorageKit's one implementation).
    static func escape(_ value: String) -> String {
        StorageXML.escape(value)
    }
}

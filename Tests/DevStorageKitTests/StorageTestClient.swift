import AsyncHTTPClient
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NIOCore
import NIOHTTP1
import StorageKit
import TestSupport

/// A response as the tests look at it.
struct TestResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    var errorCode: String? { headers.first(name: "x-ms-error-code") }
    func header(_ name: String) -> String? { headers.first(name: name) }

    /// The text of the first `<name>` element of an XML body.
    func element(_ name: String) -> String? { elements(name).first }

    /// The texts of every `<name>` element of an XML body, parsed with FoundationXML.
    func elements(_ name: String) -> [String] {
        let collector = ElementCollector(name: name)
        let parser = XMLParser(data: body)
        parser.delegate = collector
        _ = parser.parse()
        return collector.values
    }
}

/// Collects the text of every element with one name.
private final class ElementCollector: NSObject, XMLParserDelegate {
    let name: String
    var values: [String] = []
    private var current: String?

    init(name: String) { self.name = name }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if elementName == name { current = "" }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        current? += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        if elementName == name, let value = current {
            values.append(value)
            current = nil
        }
    }
}

/// Sends raw requests to a running devstorage over real sockets, signed with StorageKit's
/// `SharedKeySigner` (or with a SAS, or not at all).
struct StorageTestClient: Sendable {
    enum Service { case blob, queue }
    enum Auth: Sendable {
        case sharedKey
        case key(String)
        case none
        case sas(String)
    }

    let storage: RunningDevStorage
    var auth: Auth = .sharedKey
    var version = StorageDefaults.serviceVersion

    init(_ storage: RunningDevStorage, auth: Auth = .sharedKey) {
        self.storage = storage
        self.auth = auth
    }

    /// Sends a blob service request. `path` is the percent-encoded path after the account.
    @discardableResult
    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [],
        headers: [(String, String)] = [], body: Data? = nil, date: Date = Date(),
        tamper: ((inout CanonicalRequest) -> Void)? = nil
    ) async throws -> TestResponse {
        try await send(method, .blob, path, query: query, headers: headers, body: body, date: date, tamper: tamper)
    }

    /// Sends a request. `path` is the percent-encoded path after the account (`/media/clip%2001.mp4`).
    @discardableResult
    func send(
        _ method: HTTPMethod, _ service: Service, _ path: String, query: [(String, String)] = [],
        headers: [(String, String)] = [], body: Data? = nil, date: Date = Date(),
        tamper: ((inout CanonicalRequest) -> Void)? = nil
    ) async throws -> TestResponse {
        let port = service == .blob ? storage.blobPort : storage.queuePort
        let encodedPath = "/\(storage.accountName)\(path)"
        var query = query
        if case .sas(let token) = auth { query += QueryString.decode(token).map { ($0.name, $0.value) } }
        var canonical = CanonicalRequest(
            method: method.rawValue, encodedPath: encodedPath, query: query.map { (name: $0.0, value: $0.1) },
            headers: headers.map { (name: $0.0, value: $0.1) } + [("x-ms-version", version)])
        if let body, !body.isEmpty { canonical.headers.append((name: "Content-Length", value: "\(body.count)")) }
        switch auth {
        case .sharedKey:
            try SharedKeySigner(accountName: storage.accountName, accountKey: storage.accountKey).sign(&canonical, date: date)
        case .key(let key):
            try SharedKeySigner(accountName: storage.accountName, accountKey: key).sign(&canonical, date: date)
        case .none, .sas:
            canonical.headers.append((name: "x-ms-date", value: HTTPDate.format(date)))
        }
        var sent = canonical
        tamper?(&sent)
        let queryString = sent.encodedQuery
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(sent.encodedPath)" + (queryString.isEmpty ? "" : "?" + queryString))
        request.method = method
        for (name, value) in sent.headers where name.lowercased() != "content-length" {
            request.headers.add(name: name, value: value)
        }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let collected = try await response.body.collect(upTo: 256 << 20)
        return TestResponse(status: Int(response.status.code), headers: response.headers, body: Data(collected.readableBytesView))
    }

    /// Creates a container (201).
    @discardableResult
    func createContainer(_ name: String) async throws -> TestResponse {
        try await send(.PUT, "/\(name)", query: [("restype", "container")])
    }

    /// Put Blob with optional extra headers.
    @discardableResult
    func putBlob(_ container: String, _ blob: String, _ data: Data, headers: [(String, String)] = []) async throws -> TestResponse {
        try await send(.PUT, "/\(container)/\(blob)", headers: [("x-ms-blob-type", "BlockBlob")] + headers, body: data)
    }

    /// Put Block with a base64 block id.
    @discardableResult
    func putBlock(_ container: String, _ blob: String, id: String, _ data: Data, headers: [(String, String)] = []) async throws -> TestResponse {
        try await send(.PUT, "/\(container)/\(blob)", query: [("comp", "block"), ("blockid", id)], headers: headers, body: data)
    }

    /// Put Block List with `<Latest>` entries.
    @discardableResult
    func putBlockList(_ container: String, _ blob: String, latest ids: [String], headers: [(String, String)] = []) async throws -> TestResponse {
        let xml = #"<?xml version="1.0" encoding="utf-8"?><BlockList>"# + ids.map { "<Latest>\($0)</Latest>" }.joined() + "</BlockList>"
        return try await send(
            .PUT, "/\(container)/\(blob)", query: [("comp", "blocklist")],
            headers: [("Content-Type", "application/xml")] + headers, body: Data(xml.utf8))
    }

    /// Creates a queue (201/204).
    @discardableResult
    func createQueue(_ name: String) async throws -> TestResponse {
        try await send(.PUT, .queue, "/\(name)")
    }

    /// Put Message.
    @discardableResult
    func putMessage(_ queue: String, _ text: String, query: [(String, String)] = []) async throws -> TestResponse {
        let xml = "<QueueMessage><MessageText>\(Self.escape(text))</MessageText></QueueMessage>"
        return try await send(.POST, .queue, "/\(queue)/messages", query: query, body: Data(xml.utf8))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}

/// Base64 block id of a fixed-width index (`blk-00000001`).
func blockID(_ index: Int) -> String {
    Data(String(format: "blk-%08d", index).utf8).base64EncodedString()
}

import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The Azure Blob Storage client: containers, block blobs (single-shot and staged uploads from
/// streams of unknown length), streamed and ranged downloads, properties, metadata, listing,
/// conditional requests and SAS download links.
public struct BlobClient: Sendable {
    /// The execute core every call goes through.
    public let client: StorageClient
    let delegationKeys: UserDelegationKeyCache

    /// Creates a blob client on top of an execute core.
    public init(client: StorageClient) {
        self.client = client
        self.delegationKeys = UserDelegationKeyCache()
    }

    /// Creates a blob client for an account.
    public init(account: StorageAccount, transport: any StorageTransport = StorageHTTPClient.shared, retryPolicy: RetryPolicy = .default, logger: Logger = Logger(label: "StorageKit.Blob")) {
        self.init(client: StorageClient(account: account, transport: transport, retryPolicy: retryPolicy, logger: logger))
    }

    /// The account's name.
    public var accountName: String { client.account.name }

    // MARK: Containers

    /// Creates a container; returns `false` when it already existed (idempotent).
    @discardableResult
    public func createContainer(_ container: String, metadata: [String: String] = [:]) async throws -> Bool {
        var headers = HTTPHeaders()
        Self.addMetadata(metadata, to: &headers)
        do {
            _ = try await client.executeCollecting(
                StorageRequest(operation: "CreateContainer", method: .PUT, encodedPath: Self.path(container), query: [("restype", "container")], headers: headers),
                service: .blob)
            return true
        } catch let error as StorageError where error.code == .containerAlreadyExists {
            return false
        }
    }

    /// Deletes a container; returns `false` when it did not exist.
    @discardableResult
    public func deleteContainer(_ container: String) async throws -> Bool {
        do {
            _ = try await client.executeCollecting(
                StorageRequest(operation: "DeleteContainer", method: .DELETE, encodedPath: Self.path(container), query: [("restype", "container")]),
                service: .blob)
            return true
        } catch let error as StorageError where error.isNotFound {
            return false
        }
    }

    // MARK: Single-shot upload

    /// Uploads a whole blob in one Put Blob (Content-MD5 sent and checked by the service).
    @discardableResult
    public func putBlob(_ container: String, _ blob: String, body: ByteBuffer, options: BlobUploadOptions = .init()) async throws -> BlobUploadResult {
        try await putBlob(container, blob, body: body, contentMD5: Self.md5(of: body), options: options)
    }

    /// Put Blob with the body's MD5 already known (a staged upload computed it on the way).
    func putBlob(_ container: String, _ blob: String, body: ByteBuffer, contentMD5 md5: Data, options: BlobUploadOptions) async throws -> BlobUploadResult {
        var headers = HTTPHeaders()
        headers.add(name: "x-ms-blob-type", value: "BlockBlob")
        headers.add(name: "Content-MD5", value: md5.base64EncodedString())
        Self.addProperties(options, to: &headers)
        let (response, _) = try await client.executeCollecting(
            StorageRequest(operation: "PutBlob", method: .PUT, encodedPath: Self.path(container, blob), headers: headers, body: body),
            service: .blob)
        return BlobUploadResult(etag: response.headers.first(name: "etag") ?? "", bytes: body.readableBytes, md5: md5, blockCount: 0)
    }

    // MARK: Blocks

    /// Stages one block (Put Block), by default with its Content-MD5 (checked by storage).
    public func putBlock(_ container: String, _ blob: String, blockID: String, body: ByteBuffer, contentMD5: Bool = true) async throws {
        var headers = HTTPHeaders()
        if contentMD5 { headers.add(name: "Content-MD5", value: Self.md5(of: body).base64EncodedString()) }
        _ = try await client.executeCollecting(
            StorageRequest(
                operation: "PutBlock", method: .PUT, encodedPath: Self.path(container, blob),
                query: [("comp", "block"), ("blockid", blockID)], headers: headers, body: body),
            service: .blob)
    }

    /// Commits staged blocks in order (Put Block List); `contentMD5` is stored as the blob's MD5.
    @discardableResult
    public func putBlockList(_ container: String, _ blob: String, blockIDs: [String], contentMD5: Data? = nil, options: BlobUploadOptions = .init()) async throws -> String {
        var xml = #"<?xml version="1.0" encoding="utf-8"?><BlockList>"#
        for id in blockIDs { xml += "<Latest>\(StorageXML.escape(id))</Latest>" }
        xml += "</BlockList>"
        let body = ByteBuffer(string: xml)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/xml")
        headers.add(name: "Content-MD5", value: Self.md5(of: body).base64EncodedString())
        if let contentMD5 { headers.add(name: "x-ms-blob-content-md5", value: contentMD5.base64EncodedString()) }
        Self.addProperties(options, to: &headers)
        let (response, _) = try await client.executeCollecting(
            StorageRequest(operation: "PutBlockList", method: .PUT, encodedPath: Self.path(container, blob), query: [("comp", "blocklist")], headers: headers, body: body),
            service: .blob)
        return response.headers.first(name: "etag") ?? ""
    }

    // MARK: Downloads

    /// A blob download in progress: its properties and its body, still streaming.
    public struct Download: Sendable {
        /// The blob's properties (`contentLength` is the whole blob's size).
        public var properties: BlobProperties
        /// `(start, end, total)` when a range was served (206).
        public var contentRange: (start: Int, end: Int, total: Int)?
        /// The body as an async sequence of buffers.
        public var body: HTTPClientResponse.Body
    }

    /// Starts a download of the whole blob or of `range` (inclusive byte offsets; `upperBound` nil = to the end).
    public func download(_ container: String, _ blob: String, range: (offset: Int, count: Int?)? = nil, conditions: BlobConditions = .none) async throws -> Download {
        try await download(container, blob, range: range, conditions: conditions, responseLimit: range?.count)
    }

    /// Starts a download whose caller reads at most `responseLimit` bytes (which decides its deadlines).
    func download(
        _ container: String, _ blob: String, range: (offset: Int, count: Int?)?, conditions: BlobConditions, responseLimit: Int?
    ) async throws -> Download {
        var headers = HTTPHeaders()
        if let range {
            let end = range.count.map { "\(range.offset + $0 - 1)" } ?? ""
            headers.add(name: "x-ms-range", value: "bytes=\(range.offset)-\(end)")
        }
        Self.addConditions(conditions, to: &headers)
        let response = try await client.execute(
            StorageRequest(
                operation: "GetBlob", method: .GET, encodedPath: Self.path(container, blob), headers: headers, expectedStatus: [200, 206],
                responseLimit: responseLimit),
            service: .blob)
        var properties = Self.properties(from: response.headers)
        var contentRange: (Int, Int, Int)?
        if let value = response.headers.first(name: "content-range"), let parsed = Self.parseContentRange(value) {
            contentRange = parsed
            properties.contentLength = parsed.total
            properties.contentMD5 = response.headers.first(name: "x-ms-blob-content-md5")
        }
        return Download(properties: properties, contentRange: contentRange, body: response.body)
    }

    /// Downloads a blob (or a range) into memory, up to `limit` bytes.
    public func downloadData(_ container: String, _ blob: String, range: (offset: Int, count: Int?)? = nil, limit: Int = 64 << 20) async throws -> ByteBuffer {
        try await downloadDocument(container, blob, range: range, limit: limit).bytes
    }

    /// Downloads a blob (or a range) into memory, up to `limit` bytes, with its properties: a
    /// document read for a conditional write back (`properties.etag`).
    public func downloadDocument(_ container: String, _ blob: String, range: (offset: Int, count: Int?)? = nil, limit: Int = 1 << 20) async throws
        -> (bytes: ByteBuffer, properties: BlobProperties)
    {
        let download = try await download(container, blob, range: range, conditions: .none, responseLimit: min(limit, range?.count ?? limit))
        do {
            return (try await download.body.collect(upTo: limit), download.properties)
        } catch {
            throw StorageClient.bodyError(error, operation: "GetBlob")
        }
    }

    /// The first `count` bytes of a blob (fewer when it is shorter) and its properties, with
    /// `contentLength` the whole blob's size: one ranged request, to decide what a file is before
    /// downloading it. An empty blob answers 416 (InvalidRange), as Azure does.
    public func downloadPrefix(_ container: String, _ blob: String, count: Int) async throws -> (bytes: ByteBuffer, properties: BlobProperties) {
        let download = try await download(container, blob, range: (offset: 0, count: count))
        do {
            return (try await download.body.collect(upTo: count), download.properties)
        } catch {
            throw StorageClient.bodyError(error, operation: "GetBlob")
        }
    }

    // MARK: Properties, metadata, delete

    /// Reads a blob's properties and metadata (HEAD).
    public func properties(_ container: String, _ blob: String, conditions: BlobConditions = .none) async throws -> BlobProperties {
        var headers = HTTPHeaders()
        Self.addConditions(conditions, to: &headers)
        let (response, _) = try await client.executeCollecting(
            StorageRequest(operation: "GetBlobProperties", method: .HEAD, encodedPath: Self.path(container, blob), headers: headers),
            service: .blob)
        return Self.properties(from: response.headers)
    }

    /// Whether a blob exists.
    public func exists(_ container: String, _ blob: String) async throws -> Bool {
        do {
            _ = try await properties(container, blob)
            return true
        } catch let error as StorageError where error.isNotFound {
            return false
        }
    }

    /// Replaces a blob's metadata; returns the new ETag.
    @discardableResult
    public func setMetadata(_ container: String, _ blob: String, _ metadata: [String: String], conditions: BlobConditions = .none) async throws -> String {
        var headers = HTTPHeaders()
        Self.addMetadata(metadata, to: &headers)
        Self.addConditions(conditions, to: &headers)
        let (response, _) = try await client.executeCollecting(
            StorageRequest(operation: "SetBlobMetadata", method: .PUT, encodedPath: Self.path(container, blob), query: [("comp", "metadata")], headers: headers),
            service: .blob)
        return response.headers.first(name: "etag") ?? ""
    }

    /// Deletes a blob; returns `false` when it did not exist (a retried delete counts as done).
    @discardableResult
    public func delete(_ container: String, _ blob: String, conditions: BlobConditions = .none) async throws -> Bool {
        var headers = HTTPHeaders()
        Self.addConditions(conditions, to: &headers)
        do {
            _ = try await client.executeCollecting(
                StorageRequest(operation: "DeleteBlob", method: .DELETE, encodedPath: Self.path(container, blob), headers: headers),
                service: .blob)
            return true
        } catch let error as StorageError where error.code == .blobNotFound {
            return false
        }
    }

    // MARK: Helpers

    /// `/container/blob` with the blob name percent-encoded byte by byte (`/` kept), as the SDK does.
    static func path(_ container: String, _ blob: String? = nil) -> String {
        var path = "/" + QueryString.percentEncode(container)
        if let blob { path += "/" + QueryString.percentEncode(blob, keepSlash: true) }
        return path
    }

    static func addMetadata(_ metadata: [String: String], to headers: inout HTTPHeaders) {
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
            headers.add(name: "x-ms-meta-\(name)", value: value)
        }
    }

    static func addProperties(_ options: BlobUploadOptions, to headers: inout HTTPHeaders) {
        if let value = options.contentType { headers.add(name: "x-ms-blob-content-type", value: value) }
        if let value = options.contentDisposition { headers.add(name: "x-ms-blob-content-disposition", value: value) }
        if let value = options.cacheControl { headers.add(name: "x-ms-blob-cache-control", value: value) }
        addMetadata(options.metadata, to: &headers)
        addConditions(options.conditions, to: &headers)
    }

    static func addConditions(_ conditions: BlobConditions, to headers: inout HTTPHeaders) {
        if let value = conditions.ifMatch { headers.add(name: "If-Match", value: value) }
        if let value = conditions.ifNoneMatch { headers.add(name: "If-None-Match", value: value) }
        if let value = conditions.ifModifiedSince { headers.add(name: "If-Modified-Since", value: HTTPDate.format(value)) }
        if let value = conditions.ifUnmodifiedSince { headers.add(name: "If-Unmodified-Since", value: HTTPDate.format(value)) }
    }

    static func properties(from headers: HTTPHeaders) -> BlobProperties {
        var metadata: [String: String] = [:]
        for (name, value) in headers where name.lowercased().hasPrefix("x-ms-meta-") {
            metadata[String(name.dropFirst("x-ms-meta-".count))] = value
        }
        var properties = BlobProperties(
            contentLength: headers.first(name: "content-length").flatMap(Int.init) ?? 0,
            contentType: headers.first(name: "content-type"),
            contentDisposition: headers.first(name: "content-disposition"),
            etag: headers.first(name: "etag") ?? "",
            lastModified: headers.first(name: "last-modified").flatMap(HTTPDate.parse),
            contentMD5: headers.first(name: "content-md5"),
            metadata: metadata)
        properties.contentEncoding = headers.first(name: "content-encoding")
        properties.contentLanguage = headers.first(name: "content-language")
        properties.cacheControl = headers.first(name: "cache-control")
        properties.copyID = headers.first(name: "x-ms-copy-id")
        properties.copyStatus = headers.first(name: "x-ms-copy-status")
        return properties
    }

    /// Parses `bytes START-END/TOTAL`.
    static func parseContentRange(_ value: String) -> (start: Int, end: Int, total: Int)? {
        guard value.hasPrefix("bytes ") else { return nil }
        let parts = value.dropFirst(6).split(separator: "/")
        guard parts.count == 2, let total = Int(parts[1]) else { return nil }
        let bounds = parts[0].split(separator: "-")
        guard bounds.count == 2, let start = Int(bounds[0]), let end = Int(bounds[1]) else { return nil }
        return (start, end, total)
    }
}

import AsyncHTTPClient
import Foundation
import NIOFoundationCompat
import NIOHTTP1
import XMLCoder

/// The content headers stored with a blob and served with it (Set Blob Properties).
public struct BlobHTTPHeaders: Sendable, Equatable {
    /// `Content-Type`.
    public var contentType: String?
    /// `Content-Encoding`.
    public var contentEncoding: String?
    /// `Content-Language`.
    public var contentLanguage: String?
    /// `Content-Disposition`.
    public var contentDisposition: String?
    /// `Cache-Control`.
    public var cacheControl: String?
    /// The whole blob's MD5.
    public var contentMD5: Data?

    /// Creates headers; a header left nil is cleared on the blob.
    public init(
        contentType: String? = nil, contentEncoding: String? = nil, contentLanguage: String? = nil, contentDisposition: String? = nil,
        cacheControl: String? = nil, contentMD5: Data? = nil
    ) {
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.contentLanguage = contentLanguage
        self.contentDisposition = contentDisposition
        self.cacheControl = cacheControl
        self.contentMD5 = contentMD5
    }
}

/// Which blocks Get Block List returns.
public enum BlockListType: String, Sendable {
    /// The blob's committed blocks.
    case committed
    /// Blocks staged but not committed.
    case uncommitted
    /// Both.
    case all
}

/// A block of a block blob.
public struct BlockInfo: Sendable, Equatable {
    /// The base64 block id.
    public var id: String
    /// Size in bytes.
    public var size: Int
}

/// The answer of Get Block List.
public struct BlockList: Sendable, Equatable {
    /// Committed blocks in blob order.
    public var committed: [BlockInfo]
    /// Uncommitted blocks.
    public var uncommitted: [BlockInfo]
}

extension BlobClient {
    /// Replaces a blob's content headers (Set Blob Properties); every header not given is cleared,
    /// as the service does. Returns the new ETag.
    @discardableResult
    public func setHTTPHeaders(_ container: String, _ blob: String, _ values: BlobHTTPHeaders, conditions: BlobConditions = .none) async throws -> String {
        var headers = HTTPHeaders()
        if let value = values.contentType { headers.add(name: "x-ms-blob-content-type", value: value) }
        if let value = values.contentEncoding { headers.add(name: "x-ms-blob-content-encoding", value: value) }
        if let value = values.contentLanguage { headers.add(name: "x-ms-blob-content-language", value: value) }
        if let value = values.contentDisposition { headers.add(name: "x-ms-blob-content-disposition", value: value) }
        if let value = values.cacheControl { headers.add(name: "x-ms-blob-cache-control", value: value) }
        if let value = values.contentMD5 { headers.add(name: "x-ms-blob-content-md5", value: value.base64EncodedString()) }
        Self.addConditions(conditions, to: &headers)
        let (response, _) = try await client.executeCollecting(
            StorageRequest(operation: "SetBlobProperties", method: .PUT, encodedPath: Self.path(container, blob), query: [("comp", "properties")], headers: headers),
            service: .blob)
        return response.headers.first(name: "etag") ?? ""
    }

    /// The committed and/or uncommitted blocks of a block blob (Get Block List).
    public func blockList(_ container: String, _ blob: String, type: BlockListType = .all) async throws -> BlockList {
        let (_, body) = try await client.executeCollecting(
            StorageRequest(
                operation: "GetBlockList", method: .GET, encodedPath: Self.path(container, blob),
                query: [("comp", "blocklist"), ("blocklisttype", type.rawValue)]),
            service: .blob)
        let result: BlockListResult
        do {
            result = try StorageXML.decoder().decode(BlockListResult.self, from: Data(buffer: body))
        } catch {
            throw StorageError(.invalidResponse, message: "unreadable Get Block List XML: \(error)", operation: "GetBlockList")
        }
        func blocks(_ list: BlockListResult.Blocks?) -> [BlockInfo] {
            (list?.block ?? []).map { BlockInfo(id: $0.name, size: $0.size) }
        }
        return BlockList(committed: blocks(result.committedBlocks), uncommitted: blocks(result.uncommittedBlocks))
    }
}

/// `<BlockList>` of Get Block List.
struct BlockListResult: Decodable {
    struct Block: Decodable {
        var name: String
        var size: Int
        enum CodingKeys: String, CodingKey {
            case name = "Name"
            case size = "Size"
        }
    }
    struct Blocks: Decodable {
        var block: [Block]?
        enum CodingKeys: String, CodingKey { case block = "Block" }
    }
    var committedBlocks: Blocks?
    var uncommittedBlocks: Blocks?
    enum CodingKeys: String, CodingKey {
        case committedBlocks = "CommittedBlocks"
        case uncommittedBlocks = "UncommittedBlocks"
    }
}

import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HTTPTypes
import Hummingbird
import NIOCore
import StorageKit

/// The Blob service: containers, block blobs (Put Blob, Put Block, Put Block List), Get Blob with
/// ranges, properties, metadata, delete and listing, with Azure's status codes, headers and XML.
struct BlobService: Sendable {
    let store: BlobStore
    let faults: FaultInjector

    struct Target {
        var account: String
        var container: String?
        var blob: String?
    }

    static func target(_ request: Request) -> Target {
        let segments = request.uri.path.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).dropFirst()
        let parts = Array(segments)
        func decoded(_ index: Int) -> String? {
            guard index < parts.count, !parts[index].isEmpty else { return nil }
            return QueryString.percentDecode(String(parts[index]), plusAsSpace: false)
        }
        return Target(account: decoded(0) ?? "", container: decoded(1), blob: decoded(2))
    }

    static func operation(_ request: Request, _ target: Target) -> String {
        let query = Query(request)
        let restype = query["restype"], comp = query["comp"]
        switch (request.method, target.blob != nil) {
        case (.put, false): return comp == "metadata" ? "SetContainerMetadata" : "CreateContainer"
        case (.delete, false): return "DeleteContainer"
        case (.get, false) where comp == "list": return "ListBlobs"
        case (.get, false), (.head, false): return restype == "service" ? "GetServiceProperties" : "GetContainerProperties"
        case (.put, true) where comp == "block": return "PutBlock"
        case (.put, true) where comp == "blocklist": return "PutBlockList"
        case (.put, true) where comp == "metadata": return "SetBlobMetadata"
        case (.put, true): return "PutBlob"
        case (.get, true) where comp == "blocklist": return "GetBlockList"
        case (.get, true) where comp == "metadata": return "GetBlobMetadata"
        case (.get, true): return "GetBlob"
        case (.head, true): return "GetBlobProperties"
        case (.delete, true): return "DeleteBlob"
        default: return "Unsupported"
        }
    }

    func handle(_ request: Request, operation: String, target: Target, grant: Grant, now: Date) async throws -> Response {
        let query = Query(request)
        guard let containerName = target.container else { throw StorageServiceError.unsupported }
        if operation == "CreateContainer" {
            try require(grant, "c")
            try Names.validateContainer(containerName)
            guard let record = try await store.createContainer(target.account, containerName, metadata: Headers.metadata(request), now: now) else {
                throw StorageServiceError(.conflict, "ContainerAlreadyExists", "The specified container already exists.")
            }
            return Response(status: .created, headers: [.eTag: record.etag, .lastModified: HTTPDate.format(record.lastModified)])
        }
        guard let container = await store.container(target.account, containerName) else { throw StorageServiceError.containerNotFound }
        switch operation {
        case "DeleteContainer":
            try require(grant, "d")
            _ = try await store.deleteContainer(target.account, containerName)
            return Response(status: .accepted)
        case "GetContainerProperties":
            try require(grant, "r")
            var headers: HTTPFields = [.eTag: container.etag, .lastModified: HTTPDate.format(container.lastModified)]
            Headers.addMetadata(container.metadata, to: &headers)
            return Response(status: .ok, headers: headers)
        case "ListBlobs":
            try require(grant, "l")
            return try await list(target, query: query)
        default:
            break
        }
        guard let blobName = target.blob else { throw StorageServiceError.unsupported }
        guard blobName.utf8.count <= 1024 else {
            throw StorageServiceError(.badRequest, "InvalidResourceName", "The specifed resource name length is not within the permissible limits.")
        }
        let existing = await store.blob(target.account, containerName, blobName)
        switch operation {
        case "PutBlob":
            try require(grant, grant.allows("w") ? "w" : "c")
            return try await putBlob(request, target: target, container: containerName, name: blobName, existing: existing, now: now)
        case "PutBlock":
            try require(grant, "w")
            return try await putBlock(request, query: query, container: containerName, name: blobName, account: target.account)
        case "PutBlockList":
            try require(grant, "w")
            return try await putBlockList(request, target: target, container: containerName, name: blobName, existing: existing, now: now)
        case "GetBlob", "GetBlobProperties", "GetBlobMetadata":
            try require(grant, "r")
            guard let existing else { throw StorageServiceError.blobNotFound }
            if let notModified = try Conditions.checkRead(request, existing) { return notModified }
            if operation == "GetBlob" { return try await getBlob(request, record: existing, target: target, grant: grant) }
            var headers = Headers.properties(existing)
            if operation == "GetBlobMetadata" { headers = [.eTag: existing.etag, .lastModified: HTTPDate.format(existing.lastModified)]; Headers.addMetadata(existing.metadata, to: &headers) }
            return Response(status: .ok, headers: headers)
        case "SetBlobMetadata":
            try require(grant, "w")
            guard var record = existing else { throw StorageServiceError.blobNotFound }
            try Conditions.checkWrite(request, existing: record)
            record.metadata = Headers.metadata(request)
            record.etag = ETag.make(now)
            record.lastModified = now
            try await store.commit(target.account, containerName, record)
            return Response(status: .ok, headers: [.eTag: record.etag, .lastModified: HTTPDate.format(now), .init("x-ms-request-server-encrypted")!: "true"])
        case "DeleteBlob":
            try require(grant, "d")
            guard let record = existing else { throw StorageServiceError.blobNotFound }
            try Conditions.checkWrite(request, existing: record)
            try await store.delete(target.account, containerName, blobName)
            return Response(status: .accepted, headers: [.init("x-ms-delete-type-permanent")!: "true"])
        default:
            throw StorageServiceError.unsupported
        }
    }

    func require(_ grant: Grant, _ letter: Character) throws {
        guard grant.allows(letter) else {
            throw StorageServiceError(.forbidden, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.")
        }
    }

    // MARK: Writes

    func putBlob(_ request: Request, target: Target, container: String, name: String, existing: BlobRecord?, now: Date) async throws -> Response {
        guard let length = request.headers[.contentLength].flatMap(Int.init) else {
            throw StorageServiceError(.lengthRequired, "MissingContentLengthHeader", "Content-Length is required.")
        }
        guard request.headers[.init("x-ms-blob-type")!] == "BlockBlob" else {
            throw StorageServiceError(.badRequest, "InvalidHeaderValue", "Only BlockBlob is supported (x-ms-blob-type).")
        }
        try Conditions.checkWrite(request, existing: existing)
        let (file, path) = await store.newDataPath(target.account, container, name)
        let (bytes, md5) = try await DiskFile.write(request.body, to: path)
        do {
            guard bytes == length else { throw StorageServiceError(.badRequest, "InvalidInput", "Body length does not match Content-Length.") }
            if let sent = request.headers[.init("Content-MD5")!], sent != md5.base64EncodedString() {
                throw StorageServiceError(.badRequest, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
            }
            try Conditions.checkWrite(request, existing: await store.blob(target.account, container, name))
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        var record = Headers.newRecord(request, name: name, dataFile: file, size: bytes, now: now, created: existing?.created)
        record.contentMD5 = request.headers[.init("x-ms-blob-content-md5")!] ?? md5.base64EncodedString()
        try await store.commit(target.account, container, record)
        await store.discardBlocks(target.account, container, name)
        return Response(status: .created, headers: [
            .eTag: record.etag, .lastModified: HTTPDate.format(now), .init("Content-MD5")!: md5.base64EncodedString(),
            .init("x-ms-request-server-encrypted")!: "true",
        ])
    }

    func putBlock(_ request: Request, query: Query, container: String, name: String, account: String) async throws -> Response {
        guard let blockID = query["blockid"], let raw = Data(base64Encoded: blockID), !raw.isEmpty, raw.count <= 64 else {
            throw StorageServiceError(.badRequest, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid: blockid.")
        }
        guard let length = request.headers[.contentLength].flatMap(Int.init) else {
            throw StorageServiceError(.lengthRequired, "MissingContentLengthHeader", "Content-Length is required.")
        }
        let others = await store.uncommittedBlocks(account, container, name)
        if let other = others.first, other.utf8.count != blockID.utf8.count {
            throw StorageServiceError(.badRequest, "InvalidBlobOrBlock", "The specified blob or block content is invalid.")
        }
        let path = try await store.blockPath(account, container, name, blockID: blockID)
        let (bytes, md5) = try await DiskFile.write(request.body, to: path)
        if bytes != length || (request.headers[.init("Content-MD5")!].map { $0 != md5.base64EncodedString() } ?? false) {
            try? FileManager.default.removeItem(atPath: path)
            throw StorageServiceError(.badRequest, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
        }
        return Response(status: .created, headers: [.init("Content-MD5")!: md5.base64EncodedString(), .init("x-ms-request-server-encrypted")!: "true"])
    }

    func putBlockList(_ request: Request, target: Target, container: String, name: String, existing: BlobRecord?, now: Date) async throws -> Response {
        let body = try await request.body.collect(upTo: 8 << 20)
        let entries = try Self.parseBlockList(body)
        try Conditions.checkWrite(request, existing: existing)
        let uncommitted = Set(await store.uncommittedBlocks(target.account, container, name))
        for (_, id) in entries where !uncommitted.contains(id) {
            throw StorageServiceError(.badRequest, "InvalidBlockList", "The specified block list is invalid.")
        }
        let parts = try await store.adoptBlocks(target.account, container, name, blockIDs: entries.map(\.id))
        var record = Headers.newRecord(request, name: name, dataFile: parts.first?.file ?? "", size: parts.reduce(0) { $0 + $1.size }, now: now, created: existing?.created)
        record.parts = parts
        record.contentMD5 = request.headers[.init("x-ms-blob-content-md5")!]
        try await store.commit(target.account, container, record)
        await store.discardBlocks(target.account, container, name)
        return Response(status: .created, headers: [.eTag: record.etag, .lastModified: HTTPDate.format(now), .init("x-ms-request-server-encrypted")!: "true"])
    }

    /// Block ids in document order from `<BlockList><Latest|Committed|Uncommitted>…`.
    static func parseBlockList(_ body: ByteBuffer) throws -> [(kind: String, id: String)] {
        final class Collector: NSObject, XMLParserDelegate {
            var entries: [(String, String)] = []
            var current: String?
            var text = ""
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if ["Latest", "Committed", "Uncommitted"].contains(name) { current = name; text = "" }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { if current != nil { text += string } }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                if let kind = current, kind == name { entries.append((kind, text.trimmingCharacters(in: .whitespacesAndNewlines))); current = nil }
            }
        }
        let parser = XMLParser(data: Data(body.readableBytesView))
        let collector = Collector()
        parser.delegate = collector
        guard parser.parse() else {
            throw StorageServiceError(.badRequest, "InvalidXmlDocument", "XML specified is not syntactically valid.")
        }
        return collector.entries.map { (kind: $0.0, id: $0.1) }
    }

    // MARK: Reads

    func getBlob(_ request: Request, record: BlobRecord, target: Target, grant: Grant) async throws -> Response {
        var headers = Headers.properties(record)
        var start = 0
        var end = record.size - 1
        var status = HTTPResponse.Status.ok
        let rangeHeader = request.headers[.init("x-ms-range")!] ?? request.headers[.range]
        if let rangeHeader {
            guard let range = Ranges.parse(rangeHeader) else {
                throw StorageServiceError(.badRequest, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format: Range.")
            }
            guard range.start < record.size else {
                throw StorageServiceError(.rangeNotSatisfiable, "InvalidRange", "The range specified is invalid for the current size of the resource.")
            }
            start = range.start
            end = min(range.end ?? (record.size - 1), record.size - 1)
            status = .partialContent
            headers[.contentRange] = "bytes \(start)-\(end)/\(record.size)"
            headers[.init("x-ms-blob-content-md5")!] = record.contentMD5
            headers[.init("Content-MD5")!] = nil
        }
        let length = max(0, end - start + 1)
        headers[.contentLength] = "\(length)"
        if case .sas(let sas) = grant {
            if let value = sas.contentType { headers[.contentType] = value }
            if let value = sas.contentDisposition { headers[.contentDisposition] = value }
            if let value = sas.cacheControl { headers[.cacheControl] = value }
            if let value = sas.contentEncoding { headers[.contentEncoding] = value }
            if let value = sas.contentLanguage { headers[.contentLanguage] = value }
        }
        let segments = await store.dataSegments(target.account, target.container!, record)
        let cutAfter = faults.settings.cutAfterBytes
        let (first, last) = (start, end)
        let body = ResponseBody(contentLength: length) { writer in
            let (start, end) = (first, last)
            var offset = start
            var sent = 0
            var segmentIndex = 0
            var segmentStart = 0
            while offset <= end {
                while segmentIndex < segments.count, offset >= segmentStart + segments[segmentIndex].size {
                    segmentStart += segments[segmentIndex].size
                    segmentIndex += 1
                }
                guard segmentIndex < segments.count else { break }
                let segment = segments[segmentIndex]
                let count = min(1 << 20, end - offset + 1, segmentStart + segment.size - offset)
                var chunk = try await DiskFile.read(path: segment.path, offset: offset - segmentStart, count: count)
                if chunk.readableBytes == 0 { break }
                if let cutAfter, sent + chunk.readableBytes > cutAfter {
                    if let partial = chunk.readSlice(length: max(0, cutAfter - sent)), partial.readableBytes > 0 { try await writer.write(partial) }
                    throw StorageServiceError(.internalServerError, "InternalError", "connection cut by fault injection")
                }
                offset += chunk.readableBytes
                sent += chunk.readableBytes
                try await writer.write(chunk)
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }

    func list(_ target: Target, query: Query) async throws -> Response {
        let prefix = query["prefix"] ?? ""
        let delimiter = query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let marker = query["marker"].flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
        let maxResults = query["maxresults"].map { Int($0) ?? -1 } ?? 5000
        guard (1...5000).contains(maxResults) else { throw StorageServiceError.outOfRange("maxresults") }
        let includeMetadata = (query["include"] ?? "").split(separator: ",").contains("metadata")
        var entries: [(name: String, record: BlobRecord?)] = []
        var seenPrefixes = Set<String>()
        for record in await store.list(target.account, target.container!) where record.name.hasPrefix(prefix) {
            if let delimiter, let range = record.name.dropFirst(prefix.count).range(of: delimiter) {
                let directory = String(record.name[..<range.upperBound])
                if seenPrefixes.insert(directory).inserted { entries.append((directory, nil)) }
            } else {
                entries.append((record.name, record))
            }
        }
        if let marker { entries.removeAll { !marker.utf8.lexicographicallyPrecedes($0.name.utf8) && marker != $0.name } }
        let page = entries.prefix(maxResults)
        let next = entries.count > maxResults ? Data(entries[maxResults].name.utf8).base64EncodedString() : ""
        var xml = #"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://127.0.0.1/\#(StorageXML.escape(target.account))/" ContainerName="\#(StorageXML.escape(target.container!))">"#
        if query["prefix"] != nil { xml += "<Prefix>\(StorageXML.escape(prefix))</Prefix>" }
        if let rawMarker = query["marker"] { xml += "<Marker>\(StorageXML.escape(rawMarker))</Marker>" }
        if query["maxresults"] != nil { xml += "<MaxResults>\(maxResults)</MaxResults>" }
        if let delimiter { xml += "<Delimiter>\(StorageXML.escape(delimiter))</Delimiter>" }
        xml += "<Blobs>"
        for entry in page {
            guard let record = entry.record else {
                xml += "<BlobPrefix><Name>\(StorageXML.escape(entry.name))</Name></BlobPrefix>"
                continue
            }
            xml += "<Blob><Name>\(StorageXML.escape(record.name))</Name><Properties>"
            xml += "<Creation-Time>\(HTTPDate.format(record.created))</Creation-Time><Last-Modified>\(HTTPDate.format(record.lastModified))</Last-Modified>"
            xml += "<Etag>\(record.etag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))</Etag><Content-Length>\(record.size)</Content-Length>"
            xml += element("Content-Type", record.contentType) + element("Content-Encoding", record.contentEncoding)
            xml += element("Content-Language", record.contentLanguage) + "<Content-CRC64 />" + element("Content-MD5", record.contentMD5)
            xml += element("Cache-Control", record.cacheControl) + element("Content-Disposition", record.contentDisposition)
            xml += "<BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred>"
            xml += "<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties>"
            if includeMetadata {
                xml += "<Metadata>" + record.metadata.sorted { $0.key < $1.key }.map { "<\($0.key)>\(StorageXML.escape($0.value))</\($0.key)>" }.joined() + "</Metadata>"
            }
            xml += "</Blob>"
        }
        xml += "</Blobs>" + (next.isEmpty ? "<NextMarker />" : "<NextMarker>\(next)</NextMarker>") + "</EnumerationResults>"
        return Response(status: .ok, headers: [.contentType: "application/xml"], body: .init(byteBuffer: ByteBuffer(string: xml)))
    }

    func element(_ name: String, _ value: String?) -> String {
        guard let value, !value.isEmpty else { return "<\(name) />" }
        return "<\(name)>\(StorageXML.escape(value))</\(name)>"
    }
}

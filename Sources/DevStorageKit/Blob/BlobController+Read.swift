import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StorageKit

extension BlobController {
    /// Get Blob (streamed from disk, whole or ranged) and Get Blob Properties (HEAD).
    func getBlob(_ call: StorageCall) async throws -> Response {
        let (container, name) = try blobName(call)
        let conditions = try BlobConditions(headers: call.request.headers)
        let (record, lease) = try await store.openBlob(call.target.account, container, name)
        if try conditions.isNotModified(record) {
            return Response(status: .notModified, headers: BlobHeaders.versionHeaders(etag: record.etag, lastModified: record.lastModified))
        }
        var headers = BlobHeaders.properties(record, overrides: call.grant.sas)
        if !call.isHead, record.accessTier == "Archive" { throw StorageServiceError.blobArchived }
        if call.isHead {
            headers[.contentLength] = "\(record.size)"
            headers[.contentMD5] = record.contentMD5
            headers[.xMsAccessTier] = record.accessTier ?? "Hot"
            if record.accessTier == nil { headers[.xMsAccessTierInferred] = "true" }
            if let changed = record.accessTierChanged { headers[.xMsAccessTierChangeTime] = HTTPDate.format(changed) }
            return Response(status: .ok, headers: headers, body: .init())
        }
        let rangeHeader = call.request.headers[.xMsRange] ?? call.request.headers[.range]
        guard let rangeHeader, let range = ByteRange(rangeHeader) else {
            headers[.contentMD5] = record.contentMD5
            headers[.contentLength] = "\(record.size)"
            return Response(status: .ok, headers: headers, body: ResponseBodies.blob(lease, offset: 0, count: record.size))
        }
        let span = try range.resolve(size: record.size)
        let count = span.upperBound - span.lowerBound + 1
        headers[.contentRange] = "bytes \(span.lowerBound)-\(span.upperBound)/\(record.size)"
        headers[.contentLength] = "\(count)"
        headers[.xMsBlobContentMD5] = record.contentMD5
        if call.request.headers[.xMsRangeGetContentMD5] == "true" {
            guard count <= 4 << 20 else {
                throw StorageServiceError.outOfRangeInput("x-ms-range-get-content-md5 needs a range of at most 4 MiB")
            }
            var bytes = ByteBuffer()
            try await lease.read(offset: span.lowerBound, count: count) { chunk in
                var chunk = chunk
                bytes.writeBuffer(&chunk)
            }
            headers[.contentMD5] = Data(Insecure.MD5.hash(data: Data(bytes.readableBytesView))).base64EncodedString()
            return Response(status: .partialContent, headers: headers, body: .init(byteBuffer: bytes))
        }
        return Response(
            status: .partialContent, headers: headers, body: ResponseBodies.blob(lease, offset: span.lowerBound, count: count))
    }

    /// Get Blob Metadata (GET/HEAD `?comp=metadata`).
    func getBlobMetadata(_ call: StorageCall) async throws -> Response {
        let (container, name) = try blobName(call)
        let conditions = try BlobConditions(headers: call.request.headers)
        let record = try await store.blob(call.target.account, container, name)
        if try conditions.isNotModified(record) {
            return Response(status: .notModified, headers: BlobHeaders.versionHeaders(etag: record.etag, lastModified: record.lastModified))
        }
        var headers = BlobHeaders.versionHeaders(etag: record.etag, lastModified: record.lastModified)
        Metadata.add(record.metadata, to: &headers)
        return Response(status: .ok, headers: headers)
    }

    /// Get Block List (`?comp=blocklist&blocklisttype=committed|uncommitted|all`).
    func getBlockList(_ call: StorageCall) async throws -> Response {
        let (container, name) = try blobName(call)
        let type = call.query["blocklisttype"] ?? "committed"
        guard ["committed", "uncommitted", "all"].contains(type) else {
            throw StorageServiceError.invalidQueryParameter("blocklisttype", type)
        }
        let lists = try await store.blockList(call.target.account, container, name)
        let blob = try? await store.blob(call.target.account, container, name)
        var xml = XMLWriter()
        xml.open("BlockList")
        if type != "uncommitted" {
            xml.open("CommittedBlocks")
            for block in lists.committed { Self.writeBlock(id: block.id, size: block.size, to: &xml) }
            xml.close("CommittedBlocks")
        }
        if type != "committed" {
            xml.open("UncommittedBlocks")
            for block in lists.uncommitted { Self.writeBlock(id: block.id, size: block.size, to: &xml) }
            xml.close("UncommittedBlocks")
        }
        xml.close("BlockList")
        var (headers, body) = ResponseBodies.xml(xml)
        if let blob {
            headers[.eTag] = blob.etag
            headers[.lastModified] = HTTPDate.format(blob.lastModified)
            headers[HTTPField.Name("x-ms-blob-content-length")!] = "\(blob.size)"
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    static func writeBlock(id: String, size: Int64, to xml: inout XMLWriter) {
        xml.open("Block")
        xml.element("Name", id)
        xml.element("Size", "\(size)")
        xml.close("Block")
    }
}

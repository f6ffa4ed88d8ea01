import Foundation
import HTTPTypes
import Hummingbird
import StorageKit

extension BlobController {
    /// List Blobs (`?restype=container&comp=list`): prefix, delimiter, marker, maxresults ≤ 5000,
    /// include=metadata; element order as in wire doc §6.4.
    func listBlobs(_ call: StorageCall) async throws -> Response {
        let container = call.target.resource ?? ""
        let query = call.query
        let maxResults = try query.int("maxresults", in: 1...5000) ?? 5000
        let include = (query["include"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let includeMetadata = include.contains("metadata")
        var start: String? = nil
        if let marker = query["marker"], !marker.isEmpty {
            guard let data = Data(base64Encoded: marker), let name = String(data: data, encoding: .utf8) else {
                throw StorageServiceError.invalidQueryParameter("marker", marker)
            }
            start = name
        }
        let delimiter = query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let listing = try await store.list(
            call.target.account, container, prefix: query["prefix"] ?? "", delimiter: delimiter, start: start,
            maxResults: maxResults)

        var xml = XMLWriter()
        xml.open("EnumerationResults", attributes: [("ServiceEndpoint", call.serviceEndpoint), ("ContainerName", container)])
        if let value = query["prefix"] { xml.element("Prefix", value) }
        if let value = query["marker"] { xml.element("Marker", value) }
        if let value = query["maxresults"] { xml.element("MaxResults", value) }
        if let value = query["delimiter"] { xml.element("Delimiter", value) }
        xml.open("Blobs")
        for item in listing.items {
            switch item {
            case .prefix(let name):
                xml.open("BlobPrefix")
                xml.element("Name", name)
                xml.close("BlobPrefix")
            case .blob(let record):
                Self.writeBlob(record, includeMetadata: includeMetadata, to: &xml)
            }
        }
        xml.close("Blobs")
        xml.element("NextMarker", listing.nextName.map { Data($0.utf8).base64EncodedString() })
        xml.close("EnumerationResults")
        let (headers, body) = ResponseBodies.xml(xml)
        return Response(status: .ok, headers: headers, body: body)
    }

    static func writeBlob(_ record: BlobRecord, includeMetadata: Bool, to xml: inout XMLWriter) {
        xml.open("Blob")
        xml.element("Name", record.name)
        xml.open("Properties")
        xml.element("Creation-Time", HTTPDate.format(record.created))
        xml.element("Last-Modified", HTTPDate.format(record.lastModified))
        xml.element("Etag", String(BlobConditions.unquote(record.etag)))
        xml.element("Content-Length", "\(record.size)")
        xml.element("Content-Type", record.properties.contentType)
        xml.element("Content-Encoding", record.properties.contentEncoding)
        xml.element("Content-Language", record.properties.contentLanguage)
        xml.empty("Content-CRC64")
        xml.element("Content-MD5", record.contentMD5)
        xml.element("Cache-Control", record.properties.cacheControl)
        xml.element("Content-Disposition", record.properties.contentDisposition)
        xml.element("BlobType", "BlockBlob")
        xml.element("AccessTier", record.accessTier ?? "Hot")
        if record.accessTier == nil { xml.element("AccessTierInferred", "true") }
        if let changed = record.accessTierChanged { xml.element("AccessTierChangeTime", HTTPDate.format(changed)) }
        xml.element("LeaseStatus", "unlocked")
        xml.element("LeaseState", "available")
        if let copy = record.copy {
            xml.element("CopyId", copy.id)
            xml.element("CopyStatus", "success")
            xml.element("CopySource", copy.source)
            xml.element("CopyProgress", copy.progress)
            xml.element("CopyCompletionTime", HTTPDate.format(copy.completed))
        }
        xml.element("ServerEncrypted", "true")
        xml.close("Properties")
        if includeMetadata { writeMetadata(record.metadata, to: &xml) }
        xml.close("Blob")
    }
}

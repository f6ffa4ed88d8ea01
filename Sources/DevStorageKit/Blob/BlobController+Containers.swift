import Foundation
import HTTPTypes
import Hummingbird
import StorageKit

extension BlobController {
    func createContainer(_ call: StorageCall) async throws -> Response {
        let name = try ResourceName.validate(call.target.resource ?? "")
        let metadata = try Metadata.parse(call.request.headers)
        let record = try await store.createContainer(call.target.account, name, metadata: metadata, now: call.now)
        return Response(status: .created, headers: BlobHeaders.versionHeaders(etag: record.etag, lastModified: record.lastModified))
    }

    func deleteContainer(_ call: StorageCall) async throws -> Response {
        try await store.deleteContainer(call.target.account, call.target.resource ?? "")
        return Response(status: .accepted)
    }

    func getContainerProperties(_ call: StorageCall) async throws -> Response {
        let record = try await store.container(call.target.account, call.target.resource ?? "")
        var headers = BlobHeaders.versionHeaders(etag: record.etag, lastModified: record.lastModified)
        if call.operation == .getContainerProperties {
            headers[.xMsLeaseState] = "available"
            headers[.xMsLeaseStatus] = "unlocked"
            headers[.xMsHasImmutabilityPolicy] = "false"
            headers[.xMsHasLegalHold] = "false"
        }
        Metadata.add(record.metadata, to: &headers)
        return Response(status: .ok, headers: headers)
    }

    func setContainerMetadata(_ call: StorageCall) async throws -> Response {
        let metadata = try Metadata.parse(call.request.headers)
        let record = try await store.setContainerMetadata(call.target.account, call.target.resource ?? "", metadata: metadata, now: call.now)
        return Response(status: .ok, headers: BlobHeaders.versionHeaders(etag: record.etag, lastModified: record.lastModified))
    }

    /// List Containers (`GET /{account}?comp=list`): prefix, marker, maxresults, include=metadata.
    func listContainers(_ call: StorageCall) async throws -> Response {
        let prefix = call.query["prefix"] ?? ""
        let maxResults = try call.query.int("maxresults", in: 1...5000) ?? 5000
        let marker = call.query["marker"].flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
        let includeMetadata = (call.query["include"] ?? "").split(separator: ",").contains("metadata")
        let all = await store.containerNames(call.target.account).filter { container in
            container.name.hasPrefix(prefix) && (marker.map { m in container.name >= m } ?? true)
        }
        let page = all.prefix(maxResults)
        var xml = XMLWriter()
        xml.open("EnumerationResults", attributes: [("ServiceEndpoint", call.serviceEndpoint)])
        if let value = call.query["prefix"] { xml.element("Prefix", value) }
        if let value = call.query["marker"] { xml.element("Marker", value) }
        if let value = call.query["maxresults"] { xml.element("MaxResults", value) }
        xml.open("Containers")
        for container in page {
            xml.open("Container")
            xml.element("Name", container.name)
            xml.open("Properties")
            xml.element("Last-Modified", HTTPDate.format(container.lastModified))
            xml.element("Etag", String(BlobConditions.unquote(container.etag)))
            xml.element("LeaseStatus", "unlocked")
            xml.element("LeaseState", "available")
            xml.element("HasImmutabilityPolicy", "false")
            xml.element("HasLegalHold", "false")
            xml.close("Properties")
            if includeMetadata { Self.writeMetadata(container.metadata, to: &xml) }
            xml.close("Container")
        }
        xml.close("Containers")
        xml.element("NextMarker", all.count > maxResults ? Data(all[maxResults].name.utf8).base64EncodedString() : nil)
        xml.close("EnumerationResults")
        let (headers, body) = ResponseBodies.xml(xml)
        return Response(status: .ok, headers: headers, body: body)
    }

    static func writeMetadata(_ metadata: [String: String], to xml: inout XMLWriter) {
        guard !metadata.isEmpty else {
            xml.empty("Metadata")
            return
        }
        xml.open("Metadata")
        for (name, value) in Metadata.sorted(metadata) { xml.element(name, value) }
        xml.close("Metadata")
    }
}

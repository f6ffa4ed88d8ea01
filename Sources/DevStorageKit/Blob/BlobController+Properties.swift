import Foundation
import HTTPTypes
import Hummingbird
import StorageKit

extension BlobController {
    /// Set Blob Properties (`PUT ?comp=properties`), the HTTP headers part: each of
    /// `x-ms-blob-content-type/-encoding/-language/-disposition`, `x-ms-blob-cache-control` and
    /// `x-ms-blob-content-md5` replaces the stored value, and one not sent is cleared (Set Blob
    /// Properties reference, request headers). New ETag and Last-Modified.
    func setBlobProperties(_ call: StorageCall) async throws -> Response {
        let (container, name) = try blobName(call)
        let headers = call.request.headers
        let conditions = try BlobConditions(headers: headers)
        let md5 = headers[.xMsBlobContentMD5]
        if let md5, Data(base64Encoded: md5)?.count != 16 { throw StorageServiceError.invalidMD5 }
        let properties = BlobHeaders.setProperties(headers)
        let record = try await store.updateBlob(call.target.account, container, name, conditions: conditions, touches: true, now: call.now) {
            $0.properties = properties
            $0.contentMD5 = md5
        }
        var response = BlobHeaders.versionHeaders(etag: record.etag, lastModified: record.lastModified)
        response[.xMsRequestServerEncrypted] = "true"
        return Response(status: .ok, headers: response)
    }

    /// Set Blob Tier (`PUT ?comp=tier`, `x-ms-access-tier`): 200, or 202 when an archived blob is
    /// brought back online (Azure rehydrates for hours; devstorage at once). The ETag is unchanged.
    func setBlobTier(_ call: StorageCall) async throws -> Response {
        let (container, name) = try blobName(call)
        guard let value = call.request.headers[.xMsAccessTier] else { throw StorageServiceError.missingRequiredHeader("x-ms-access-tier") }
        let tier = try Self.tier(value)
        var wasArchived = false
        _ = try await store.updateBlob(call.target.account, container, name, conditions: BlobConditions(), touches: false, now: call.now) {
            wasArchived = $0.accessTier == "Archive"
            $0.accessTier = tier
            $0.accessTierChanged = call.now
        }
        return Response(status: wasArchived && tier != "Archive" ? .accepted : .ok)
    }

    /// A block blob tier name (`Hot`, `Cool`, `Cold`, `Archive`; case-insensitive as Azure accepts
    /// it) in Azure's spelling; 400 `InvalidHeaderValue` otherwise.
    static func tier(_ value: String) throws(StorageServiceError) -> String {
        guard let tier = ["Hot", "Cool", "Cold", "Archive"].first(where: { $0.caseInsensitiveCompare(value) == .orderedSame }) else {
            throw .invalidHeaderValue("x-ms-access-tier", value)
        }
        return tier
    }
}

import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import StorageKit

extension BlobController {
    /// Put Blob: streams the body to a temporary file (never into memory), verifies `Content-MD5`,
    /// then commits it under the conditional headers.
    func putBlob(_ call: StorageCall) async throws -> Response {
        let (container, name) = try blobName(call)
        let headers = call.request.headers
        guard let blobType = headers[.xMsBlobType] else { throw StorageServiceError.missingRequiredHeader("x-ms-blob-type") }
        guard blobType == "BlockBlob" else { throw StorageServiceError.invalidHeaderValue("x-ms-blob-type", blobType) }
        let length = try RequestBodies.contentLength(call.request, limit: Self.maximumBlobUpload)
        let expectedMD5 = try RequestBodies.contentMD5(call.request)
        let conditions = try BlobConditions(headers: headers)
        let metadata = try Metadata.parse(headers)
        let properties = BlobHeaders.putBlobProperties(headers)
        // Fail fast (before reading the body); the store checks again when it commits.
        let existing = try await store.existingBlob(call.target.account, container, name)
        try requireWriteIfExists(call, exists: existing != nil)
        try conditions.checkWrite(existing: existing, creates: true)

        let upload = try await UploadedFile.write(call.request.body, to: store.newTemporaryPath())
        let record: BlobRecord
        do {
            guard upload.size == length else {
                throw StorageServiceError.invalidHeaderValue("Content-Length", "\(length) (received \(upload.size) bytes)")
            }
            if let expectedMD5, expectedMD5 != upload.md5 { throw StorageServiceError.md5Mismatch }
            record = try await store.commitUpload(
                call.target.account, container, name, upload: upload, conditions: conditions, properties: properties,
                metadata: metadata, now: call.now)
        } catch {
            upload.discard()
            throw error
        }
        var response = BlobHeaders.versionHeaders(etag: record.etag, lastModified: record.lastModified)
        response[.contentMD5] = record.contentMD5
        response[.xMsRequestServerEncrypted] = "true"
        return Response(status: .created, headers: response)
    }

    /// Put Block: streams the block to disk as an uncommitted block of the blob.
    func putBlock(_ call: StorageCall) async throws -> Response {
        let (container, name) = try blobName(call)
        let blockID = try Self.blockID(call)
        _ = try RequestBodies.contentLength(call.request, limit: Self.maximumBlock)
        let expectedMD5 = try RequestBodies.contentMD5(call.request)
        _ = try await store.container(call.target.account, container)

        let upload = try await UploadedFile.write(call.request.body, to: store.newTemporaryPath())
        return try await stage(upload, expectedMD5: expectedMD5, call, container, name, blockID: blockID)
    }

    /// Put Block and Put Block From URL: checks the received bytes against the expected MD5, stores
    /// them as the blob's newest uncommitted `blockID` and answers 201 with their Content-MD5. The
    /// temporary file is removed if anything fails.
    func stage(
        _ upload: UploadedFile, expectedMD5: Data?, _ call: StorageCall, _ container: String, _ name: String, blockID: String
    ) async throws -> Response {
        do {
            if let expectedMD5, expectedMD5 != upload.md5 { throw StorageServiceError.md5Mismatch }
            try await store.stageBlock(call.target.account, container, name, blockID: blockID, upload: upload)
        } catch {
            upload.discard()
            throw error
        }
        var headers: HTTPFields = [.xMsRequestServerEncrypted: "true"]
        headers[.contentMD5] = upload.md5?.base64EncodedString()
        return Response(status: .created, headers: headers)
    }

    /// The `blockid` of Put Block / Put Block From URL: base64 of 1…64 bytes (400 `InvalidBlockId`).
    static func blockID(_ call: StorageCall) throws(StorageServiceError) -> String {
        guard let blockID = call.query["blockid"] else { throw .missingRequiredQueryParameter("blockid") }
        guard let raw = Data(base64Encoded: blockID), (1...64).contains(raw.count) else { throw .invalidBlockID }
        return blockID
    }

    /// Put Block List: commits the listed blocks as the blob without copying bytes (see
    /// `BlobStore.commitBlockList`). Uncommitted blocks not in the list are discarded.
    func putBlockList(_ call: StorageCall) async throws -> Response {
        let (container, name) = try blobName(call)
        let headers = call.request.headers
        let conditions = try BlobConditions(headers: headers)
        let metadata = try Metadata.parse(headers)
        let properties = BlobHeaders.blockListProperties(headers)
        let storedMD5 = headers[.xMsBlobContentMD5]
        if let storedMD5, Data(base64Encoded: storedMD5)?.count != 16 { throw StorageServiceError.invalidMD5 }
        let body = try await RequestBodies.collect(call.request, limit: 16 << 20)
        if let expected = try RequestBodies.contentMD5(call.request), expected != Data(Insecure.MD5.hash(data: body)) {
            throw StorageServiceError.md5Mismatch
        }
        let list = try BlockListRequest(xml: body)
        let account = call.target.account
        let existing = try await store.existingBlob(account, container, name)
        try requireWriteIfExists(call, exists: existing != nil)

        let record = try await store.commitBlockList(
            account, container, name, entries: list.entries, conditions: conditions, properties: properties,
            contentMD5: storedMD5, metadata: metadata, now: call.now)
        var response = BlobHeaders.versionHeaders(etag: record.etag, lastModified: record.lastModified)
        response[.contentMD5] = Data(Insecure.MD5.hash(data: body)).base64EncodedString()
        response[.xMsRequestServerEncrypted] = "true"
        return Response(status: .created, headers: response)
    }

    /// Set Blob Metadata: replaces the whole set (none = clear); new ETag.
    func setBlobMetadata(_ call: StorageCall) async throws -> Response {
        let (container, name) = try blobName(call)
        let conditions = try BlobConditions(headers: call.request.headers)
        let metadata = try Metadata.parse(call.request.headers)
        let record = try await store.setBlobMetadata(
            call.target.account, container, name, metadata: metadata, conditions: conditions, now: call.now)
        var headers = BlobHeaders.versionHeaders(etag: record.etag, lastModified: record.lastModified)
        headers[.xMsRequestServerEncrypted] = "true"
        return Response(status: .ok, headers: headers)
    }

    /// Delete Blob.
    func deleteBlob(_ call: StorageCall) async throws -> Response {
        let (container, name) = try blobName(call)
        let conditions = try BlobConditions(headers: call.request.headers)
        try await store.deleteBlob(call.target.account, container, name, conditions: conditions)
        return Response(status: .accepted, headers: [.xMsDeleteTypePermanent: "true"])
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import StorageKit

extension BlobController {
    /// Copy Blob (`PUT` with `x-ms-copy-source`, synchronous here: `x-ms-copy-status: success`),
    /// Copy Blob From URL (the same with `x-ms-requires-sync: true`) and Put Blob From URL (`PUT`
    /// with `x-ms-copy-source` and `x-ms-blob-type: BlockBlob`), for sources on this devstorage.
    func copyBlob(_ call: StorageCall) async throws -> Response {
        let (container, name) = try blobName(call)
        let headers = call.request.headers
        let source = try CopySource(headers[.xMsCopySource] ?? "")
        try authorizeSource(source, call)
        let putFromURL = call.operation == .putBlobFromURL
        if putFromURL, let blobType = headers[.xMsBlobType], blobType != "BlockBlob" {
            throw StorageServiceError.invalidHeaderValue("x-ms-blob-type", blobType)
        }
        let metadata = try Metadata.parse(headers)
        let tier = try headers[.xMsAccessTier].map { (value: String) throws(StorageServiceError) in try Self.tier(value) }
        let existing = try await store.existingBlob(call.target.account, container, name)
        try requireWriteIfExists(call, exists: existing != nil)
        // Put Blob From URL copies the source's content headers unless told not to
        // (`x-ms-copy-source-blob-properties: false`); Copy Blob always does.
        let ownProperties = putFromURL && headers[HTTPField.Name("x-ms-copy-source-blob-properties")!]?.lowercased() == "false"
        let request = BlobStore.CopyRequest(
            sourceAccount: source.target.account, sourceContainer: source.container, sourceName: source.blob,
            sourceConditions: try BlobConditions.source(headers), conditions: try BlobConditions(headers: headers),
            metadata: putFromURL || !metadata.isEmpty ? metadata : nil,
            properties: ownProperties ? BlobHeaders.putBlobProperties(headers) : nil, tier: tier,
            copy: putFromURL ? nil : BlobCopyState(id: UUID().uuidString.lowercased(), source: source.url, progress: "", completed: call.now),
            keepsBlockList: !putFromURL)
        let record = try await store.copyBlob(call.target.account, container, name, request: request, now: call.now)
        var response = BlobHeaders.versionHeaders(etag: record.etag, lastModified: record.lastModified)
        response[.xMsRequestServerEncrypted] = "true"
        guard let copy = record.copy else {
            response[.contentMD5] = record.contentMD5
            return Response(status: .created, headers: response)
        }
        response[.xMsCopyID] = copy.id
        response[.xMsCopyStatus] = "success"
        return Response(status: .accepted, headers: response)
    }

    /// Abort Copy Blob (`PUT ?comp=copy&copyid=…`, `x-ms-copy-action: abort`). Every copy here has
    /// finished when Copy Blob answers, so Azure's answer for a finished copy applies: 409
    /// `NoPendingCopyOperation`, or 409 `CopyIdMismatch` when the id is not the blob's last copy.
    func abortCopyBlob(_ call: StorageCall) async throws -> Response {
        let (container, name) = try blobName(call)
        guard let action = call.request.headers[.xMsCopyAction] else { throw StorageServiceError.missingRequiredHeader("x-ms-copy-action") }
        guard action == "abort" else { throw StorageServiceError.invalidHeaderValue("x-ms-copy-action", action) }
        guard let copyID = call.query["copyid"] else { throw StorageServiceError.missingRequiredQueryParameter("copyid") }
        let record = try await store.blob(call.target.account, container, name)
        if let copy = record.copy, copy.id != copyID { throw StorageServiceError.copyIDMismatch }
        throw StorageServiceError.noPendingCopyOperation
    }

    /// Put Block From URL (`PUT ?comp=block&blockid=…` with `x-ms-copy-source` and optionally
    /// `x-ms-source-range`): the source range is streamed into a new uncommitted block.
    func putBlockFromURL(_ call: StorageCall) async throws -> Response {
        let (container, name) = try blobName(call)
        let blockID = try Self.blockID(call)
        let headers = call.request.headers
        let source = try CopySource(headers[.xMsCopySource] ?? "")
        try authorizeSource(source, call)
        let expectedMD5 = try headers[.xMsSourceContentMD5].map { (text: String) throws(StorageServiceError) -> Data in
            guard let data = Data(base64Encoded: text), data.count == 16 else { throw .invalidMD5 }
            return data
        }
        let sourceConditions = try BlobConditions.source(headers)
        _ = try await store.container(call.target.account, container)
        let (record, lease): (BlobRecord, BlobReadLease)
        do {
            (record, lease) = try await store.openBlob(source.target.account, source.container, source.blob)
        } catch let error as StorageServiceError where error.status == .notFound {
            throw StorageServiceError.copySourceNotFound
        }
        do {
            try sourceConditions.checkWrite(existing: record, creates: false)
        } catch {
            throw StorageServiceError.sourceConditionNotMet
        }
        var span: ClosedRange<Int64>? = record.size > 0 ? 0...(record.size - 1) : nil
        if let text = headers[.xMsSourceRange] {
            guard let range = ByteRange(text) else { throw StorageServiceError.invalidHeaderValue("x-ms-source-range", text) }
            span = try range.resolve(size: record.size)
        }
        let count = span.map { $0.upperBound - $0.lowerBound + 1 } ?? 0
        let upload = try await UploadedFile.write(
            lease.chunks(offset: span?.lowerBound ?? 0, count: count), to: store.newTemporaryPath())
        return try await stage(upload, expectedMD5: expectedMD5, call, container, name, blockID: blockID)
    }

    /// Who may read a copy source: a SAS in the source URL (verified as a Get Blob of the source,
    /// any account of this devstorage); without one, the request's own credentials when the source is
    /// in the same account (Shared Key authorizes same-account sources; a SAS must also grant read
    /// on the source). Anything else is what Azure answers for a private source: 404/403
    /// `CannotVerifyCopySource`.
    func authorizeSource(_ source: CopySource, _ call: StorageCall) throws(StorageServiceError) {
        let sas = SASValues(query: source.query.pairs) ?? (source.target.account == call.target.account ? call.grant.sas : nil)
        guard let sas else {
            guard source.target.account == call.target.account else { throw .copySourceNotFound }
            return
        }
        guard let keys = authenticator.accounts.keys(for: source.target.account) else { throw .copySourceNotFound }
        do {
            _ = try SASVerifier(service: .blob, account: source.target.account, keys: keys)
                .verify(sas, target: source.target, operation: .getBlob, remoteAddress: call.remoteAddress, now: Date())
        } catch {
            throw .copySourceNotAuthorized
        }
    }
}

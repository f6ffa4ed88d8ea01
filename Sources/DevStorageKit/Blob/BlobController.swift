import Foundation
import HTTPTypes
import Hummingbird
import StorageKit

/// The Blob service (wire doc §6): routes an authenticated request to its operation.
struct BlobController: Sendable {
    let store: BlobStore
    /// Authenticates batch sub-requests and copy sources (their SAS, against the account's keys).
    let authenticator: RequestAuthenticator

    /// Largest Put Blob body (5000 MiB, as Azure).
    static let maximumBlobUpload: Int64 = 5000 * 1024 * 1024
    /// Largest block (4000 MiB, as Azure).
    static let maximumBlock: Int64 = 4000 * 1024 * 1024

    /// Which operation a request is, from its method, path depth, `restype`/`comp` and (for the
    /// copies) the `x-ms-copy-source` and `x-ms-blob-type` headers.
    static func operation(
        method: HTTPRequest.Method, target: RequestTarget, query: QueryParameters, headers: HTTPFields
    ) -> StorageOperation {
        let restype = query["restype"]
        let comp = query["comp"]
        guard target.resource != nil else {
            switch (method, restype, comp) {
            case (.get, _, "list"): return .listContainers
            case (.get, "service", "properties"): return .getServiceProperties
            case (.get, "account", "properties"), (.head, "account", "properties"): return .getAccountInformation
            case (.post, _, "batch"): return .blobBatch
            default: return .unsupported
            }
        }
        guard target.rest != nil else {
            guard restype == "container" else { return .unsupported }
            switch (method, comp) {
            case (.post, "batch"): return .blobBatch
            case (.put, nil): return .createContainer
            case (.put, "metadata"): return .setContainerMetadata
            case (.delete, nil): return .deleteContainer
            case (.get, "list"): return .listBlobs
            case (.get, "metadata"), (.head, "metadata"): return .getContainerMetadata
            case (.get, nil), (.head, nil): return .getContainerProperties
            default: return .unsupported
            }
        }
        let copies = headers[.xMsCopySource] != nil
        switch (method, comp) {
        case (.put, nil) where copies: return headers[.xMsBlobType] == nil ? .copyBlob : .putBlobFromURL
        case (.put, nil): return .putBlob
        case (.put, "block") where copies: return .putBlockFromURL
        case (.put, "block"): return .putBlock
        case (.put, "copy"): return .abortCopyBlob
        case (.put, "properties"): return .setBlobProperties
        case (.put, "tier"): return .setBlobTier
        case (.put, "blocklist"): return .putBlockList
        case (.put, "metadata"): return .setBlobMetadata
        case (.get, nil): return .getBlob
        case (.head, nil): return .getBlobProperties
        case (.get, "metadata"), (.head, "metadata"): return .getBlobMetadata
        case (.get, "blocklist"): return .getBlockList
        case (.delete, nil): return .deleteBlob
        default: return .unsupported
        }
    }

    /// Runs the operation.
    func handle(_ call: StorageCall) async throws -> Response {
        switch call.operation {
        case .listContainers: return try await listContainers(call)
        case .getServiceProperties: return ServiceProperties.response(for: .blob)
        case .getAccountInformation: return ServiceProperties.accountInformation()
        case .createContainer: return try await createContainer(call)
        case .deleteContainer: return try await deleteContainer(call)
        case .getContainerProperties, .getContainerMetadata: return try await getContainerProperties(call)
        case .setContainerMetadata: return try await setContainerMetadata(call)
        case .listBlobs: return try await listBlobs(call)
        case .putBlob: return try await putBlob(call)
        case .putBlock: return try await putBlock(call)
        case .putBlockList: return try await putBlockList(call)
        case .getBlockList: return try await getBlockList(call)
        case .getBlob, .getBlobProperties: return try await getBlob(call)
        case .getBlobMetadata: return try await getBlobMetadata(call)
        case .setBlobMetadata: return try await setBlobMetadata(call)
        case .deleteBlob: return try await deleteBlob(call)
        case .setBlobProperties: return try await setBlobProperties(call)
        case .setBlobTier: return try await setBlobTier(call)
        case .copyBlob, .putBlobFromURL: return try await copyBlob(call)
        case .abortCopyBlob: return try await abortCopyBlob(call)
        case .blobBatch: return try await blobBatch(call)
        case .putBlockFromURL: return try await putBlockFromURL(call)
        default:
            throw StorageServiceError(.badRequest, "InvalidUri", "The requested URI does not represent any resource on the server.")
        }
    }

    /// The container and blob names of a blob request (validated).
    func blobName(_ call: StorageCall) throws(StorageServiceError) -> (container: String, blob: String) {
        guard let container = call.target.resource, let blob = call.target.rest else { throw .invalidResourceName() }
        guard blob.utf8.count <= 1024 else { throw .outOfRangeInput("blob name longer than 1024 characters") }
        return (container, blob)
    }

    /// A SAS with create (`c`) but not write (`w`) may only create new blobs.
    func requireWriteIfExists(_ call: StorageCall, exists: Bool) throws(StorageServiceError) {
        if exists, !call.grant.allows("w") { throw .authorizationPermissionMismatch }
    }
}

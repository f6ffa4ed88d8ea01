import AsyncHTTPClient
import Foundation
import NIOHTTP1

/// What Copy Blob answered.
public struct BlobCopyResult: Sendable, Equatable {
    /// `x-ms-copy-id`: quote it to Abort Copy.
    public var copyID: String
    /// `x-ms-copy-status`: `success` when the copy finished before the answer (same-account copies
    /// usually do), else `pending`.
    public var status: String
    /// The destination's new ETag.
    public var etag: String
}

extension BlobClient {
    /// The absolute URL of a blob of this account (as Copy Blob names its source).
    public func url(_ container: String, _ blob: String) -> String {
        var base = client.account.blobEndpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return base + Self.path(container, blob)
    }

    /// Copies a blob of this account (Copy Blob, authorized for the source by the account's own
    /// credentials). Metadata: the source's, unless `metadata` is given.
    @discardableResult
    public func copyBlob(
        from sourceContainer: String, _ sourceBlob: String, to container: String, _ blob: String,
        metadata: [String: String]? = nil, conditions: BlobConditions = .none
    ) async throws -> BlobCopyResult {
        try await copyBlob(fromURL: url(sourceContainer, sourceBlob), to: container, blob, metadata: metadata, conditions: conditions)
    }

    /// Copies a blob from any URL the service can read (a blob of another account needs a SAS in the URL).
    @discardableResult
    public func copyBlob(
        fromURL source: String, to container: String, _ blob: String, metadata: [String: String]? = nil,
        conditions: BlobConditions = .none
    ) async throws -> BlobCopyResult {
        var headers = HTTPHeaders()
        headers.add(name: "x-ms-copy-source", value: source)
        if let metadata { Self.addMetadata(metadata, to: &headers) }
        Self.addConditions(conditions, to: &headers)
        let (response, _) = try await client.executeCollecting(
            StorageRequest(operation: "CopyBlob", method: .PUT, encodedPath: Self.path(container, blob), headers: headers, expectedStatus: [202]),
            service: .blob)
        return BlobCopyResult(
            copyID: response.headers.first(name: "x-ms-copy-id") ?? "", status: response.headers.first(name: "x-ms-copy-status") ?? "",
            etag: response.headers.first(name: "etag") ?? "")
    }

    /// Aborts a pending copy (Abort Copy Blob). A copy that already finished answers 409
    /// `NoPendingCopyOperation`, thrown as a `StorageError`.
    public func abortCopy(_ container: String, _ blob: String, copyID: String) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "x-ms-copy-action", value: "abort")
        _ = try await client.executeCollecting(
            StorageRequest(
                operation: "AbortCopyBlob", method: .PUT, encodedPath: Self.path(container, blob),
                query: [("comp", "copy"), ("copyid", copyID)], headers: headers, expectedStatus: [204]),
            service: .blob)
    }
}

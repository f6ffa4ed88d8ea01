import Foundation
import NIOCore
import NIOFoundationCompat
import StorageKit

/// Where resumable uploads keep their state: `rawfiles/_uploads/{tenant}/{id}.json` (the `_` prefix
/// is no date, so no upload's blob; `rawfiles`' lifecycle rule removes abandoned ones, and Event
/// Grid watches only its own prefix). Each write is conditional: creation only if absent, every
/// later change only on the ETag that was read (`If-Match`), so two requests changing one upload at
/// once — on one replica or two — cannot both win: the loser gets `conflict`.
struct ResumableStore: Sendable {
    let blobs: BlobClient
    let container: String

    static let prefix = "_uploads/"

    /// A state as read, with the ETag a change must match.
    struct Versioned: Sendable {
        var upload: ResumableUpload
        var etag: String
    }

    /// Another request changed the upload since it was read.
    struct Conflict: Error {}

    static func documentName(tenant: String, id: String) -> String { "\(prefix)\(tenant)/\(id).json" }

    /// The upload `id` of `tenant`, or nil (also for another tenant's: the name includes the tenant).
    func read(tenant: String, id: String) async throws -> Versioned? {
        do {
            let document = try await blobs.downloadDocument(container, Self.documentName(tenant: tenant, id: id), limit: 8 << 20)
            let upload = try Self.decoder.decode(ResumableUpload.self, from: Data(buffer: document.bytes))
            return upload.tenant == tenant ? Versioned(upload: upload, etag: document.properties.etag) : nil
        } catch let error as StorageError where error.isNotFound {
            return nil
        }
    }

    /// Writes a new upload's state (only if none exists under its id).
    func create(_ upload: ResumableUpload) async throws -> Versioned {
        try await write(upload, conditions: .createOnly)
    }

    /// Replaces the state read as `version`; throws `Conflict` when it changed since.
    func replace(_ upload: ResumableUpload, of version: Versioned) async throws -> Versioned {
        try await write(upload, conditions: BlobConditions(ifMatch: version.etag))
    }

    /// Removes the state (termination); false when it had changed or was gone.
    @discardableResult
    func delete(_ version: Versioned) async throws -> Bool {
        do {
            return try await blobs.delete(container, Self.documentName(tenant: version.upload.tenant, id: version.upload.id), conditions: BlobConditions(ifMatch: version.etag))
        } catch let error as StorageError where error.status == 412 {
            throw Conflict()
        }
    }

    private func write(_ upload: ResumableUpload, conditions: BlobConditions) async throws -> Versioned {
        let body = ByteBuffer(data: try Self.encoder.encode(upload))
        do {
            let result = try await blobs.putBlob(
                container, Self.documentName(tenant: upload.tenant, id: upload.id), body: body,
                options: BlobUploadOptions(contentType: "application/json", conditions: conditions))
            return Versioned(upload: upload, etag: result.etag)
        } catch let error as StorageError where error.status == 412 || error.status == 409 {
            throw Conflict()
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}

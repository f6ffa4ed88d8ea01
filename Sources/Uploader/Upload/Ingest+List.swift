import Foundation
import QueueKit
import StorageKit

/// "My jobs": a tenant's status documents, listed from storage. They live under `{tenant}/` in
/// `jobstatus`, and job ids sort newest first (`MediaJob.newJobId`), so one prefix listing pages
/// through them newest first; jobs accepted while a client pages arrive before its cursor, so pages
/// neither repeat nor skip. Each document's status is repeated in its blob metadata, so a status
/// filter needs no extra reads.
extension Ingest {
    struct JobPage: Sendable {
        var jobs: [JobStatus]
        /// Pass back as `cursor` for the next page; nil after the last.
        var cursor: String?
    }

    /// Listing calls one page may make while a status filter skips documents: a sparse filter
    /// returns a short page with a cursor rather than scanning without end.
    static let maxListCallsPerPage = 10

    func jobs(tenant: String, status: JobStatus.State?, limit: Int, cursor: String?) async throws -> JobPage {
        var marker = try cursor.map { try JobCursor.marker(from: $0, tenant: tenant) }
        var names: [String] = []
        var calls = 0
        repeat {
            let page = try await blobs.listBlobs(
                statusContainer, prefix: "\(tenant)/", marker: marker, maxResults: limit - names.count, includeMetadata: status != nil)
            calls += 1
            for item in page.blobs where item.name.hasSuffix(".json") {
                if let status, item.properties.metadata[JobStatus.statusMetadataKey] != status.rawValue { continue }
                names.append(item.name)
            }
            marker = page.nextMarker
        } while names.count < limit && marker != nil && calls < Self.maxListCallsPerPage

        // The documents, read a few at a time, in listing order; one deleted since is left out,
        // and so is one whose status changed away from the filter since it was listed.
        let documents = try await withThrowingTaskGroup(of: (Int, JobStatus?).self) { group in
            var results = [JobStatus?](repeating: nil, count: names.count)
            for (index, name) in names.enumerated() {
                if index >= 8, let (done, document) = try await group.next() { results[done] = document }
                group.addTask { (index, try await self.document(name)) }
            }
            while let (done, document) = try await group.next() { results[done] = document }
            return results
        }
        let jobs = documents.compactMap { $0 }.filter { document in document.tenant == tenant && (status == nil || document.status == status) }
        return JobPage(jobs: jobs, cursor: marker.map { JobCursor.cursor(marker: $0, tenant: tenant) })
    }
}

/// The opaque cursor of a job listing: the storage listing's marker, bound to the tenant that got it.
enum JobCursor {
    struct Invalid: Error {}

    static func cursor(marker: String, tenant: String) -> String {
        base64URL(Data("v1\n\(tenant)\n\(marker)".utf8))
    }

    static func marker(from cursor: String, tenant: String) throws -> String {
        var text = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.count % 4) % 4)
        guard cursor.count <= 4096, let data = Data(base64Encoded: text), let decoded = String(data: data, encoding: .utf8) else { throw Invalid() }
        let parts = decoded.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", parts[1] == tenant, !parts[2].isEmpty else { throw Invalid() }
        return String(parts[2])
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
